/**
 * A host name or IP address with an optional port, as a Host or X-Forwarded-Host header may
 * give it: letters, digits, dots and hyphens, or a bracketed IPv6 address. Nothing a shell
 * reads as syntax (the agent install command, run as root, is built on it).
 */
export const HOST = /^([A-Za-z0-9]([A-Za-z0-9-]{0,62}\.)*[A-Za-z0-9-]{1,63}|\[[0-9A-Fa-f:.]{2,45}\])(:\d{1,5})?$/;

/**
 * scheme://host[:port] of a request from its own URL, or null when its Host is not a plain host
 * name: WHATWG URLs keep `;`, `$(…)`, `&&` and backquotes in a host name, and that text went
 * unquoted into the install command (issue #20, item 12).
 * @example requestOrigin('http://bulwark.example:8080/api/v1/x') // 'http://bulwark.example:8080'
 */
export function requestOrigin(url: string): string | null {
  const u = new URL(url);
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || !HOST.test(u.host)) return null;
  return u.origin;
}
