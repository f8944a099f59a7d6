import { BulwarkError } from '../../core/errors.js';
import { isPackageManager, type PackageManager } from '../../executor/registry.js';
import type { StoredTarget } from '../../storage/index.js';
import { agent } from './agent.js';
import { ssh } from './ssh.js';
import type { HostTransport } from './types.js';

/**
 * The host transports, by address scheme. Adding one is a module in this folder and a line here;
 * hosts.ts and run-transport.ts ask this registry, never the address's text.
 */
export const HOST_TRANSPORTS: Readonly<Record<string, HostTransport>> = {
  ssh,
  agent,
};

/** The transport a target's address names, or null (an imported inventory, an image). */
export function transportOf(t: Pick<StoredTarget, 'address'>): HostTransport | null {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//.exec(t.address ?? '')?.[1];
  return scheme === undefined ? null : (HOST_TRANSPORTS[scheme] ?? null);
}

/** Whether a run can undo an update on the target through its transport (an agent cannot); true when it has none (it is not reached at all). */
export function rollsBack(t: Pick<StoredTarget, 'address'>): boolean {
  return transportOf(t)?.rollsBack !== false;
}

/** The transport of a host, or usage naming it when it has none. */
export function requireTransport(t: StoredTarget): HostTransport {
  const tr = transportOf(t);
  if (tr === null)
    throw new BulwarkError('usage', `target "${t.name}" has no address Bulwark reaches it by (add it with \`bulwark hosts add\`, or enroll its agent)`);
  return tr;
}

/** The package manager a host's address names (`?pm=`), if any. */
export function packageManagerOf(t: StoredTarget): PackageManager | null {
  if (t.address === null || transportOf(t) === null) return null;
  const pm = new URL(t.address).searchParams.get('pm');
  return isPackageManager(pm) ? pm : null;
}

export type { HostTransport, HostTransportContext, HostTransportOptions } from './types.js';
