/**
 * Where a feed is read from, which may carry an access key (`?key=…`, `https://user:key@…`).
 * Redacted by construction (issue #20, item 1): printed, interpolated, logged or serialised to
 * JSON it shows `***` for the user name, the password, every query value and the fragment; only
 * `reveal()` gives the real text, and only the fetcher and the store call it. Viewers read keys
 * in `state.location`, `state.summary.location` and sync errors when the plain string was passed
 * around.
 *
 * @example `${new FeedLocation('https://f.example/a.json?key=s3cret')}` // 'https://f.example/a.json?key=***'
 */
export class FeedLocation {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The location with its access keys: for fetching it and storing it, never for showing. */
  reveal(): string {
    return this.#value;
  }

  /** An http(s) URL (else a local file). */
  get isUrl(): boolean {
    return isUrl(this.#value);
  }

  toString(): string {
    return redactLocation(this.#value);
  }

  toJSON(): string {
    return redactLocation(this.#value);
  }

  /** What console.log and util.inspect print. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `FeedLocation(${redactLocation(this.#value)})`;
  }

  /**
   * `text` (an error message from a library that was given the real URL) with the location and
   * each of its secrets, as written and percent-decoded, replaced.
   */
  scrub(text: string): string {
    let out = text.replaceAll(this.#value, redactLocation(this.#value));
    for (const s of secretsOf(this.#value)) out = out.replaceAll(s, '***');
    return out;
  }
}

/**
 * A feed location fit to show: a URL's user name, password, query values and fragment (where
 * feeds carry access keys) become ***; a local path is shown as it is.
 * @example redactLocation('https://feeds.example.com/oval.xml?key=s3cret') // 'https://feeds.example.com/oval.xml?key=***'
 */
export function redactLocation(location: string): string {
  if (!isUrl(location)) return location;
  try {
    const u = new URL(location);
    // The user name too: many services take the key there (`https://TOKEN@host/`, GitHub's
    // `https://TOKEN:x-oauth-basic@host/`), and viewers read it in full.
    if (u.username !== '') u.username = '***';
    if (u.password !== '') u.password = '***';
    // A fragment is never sent, but what an operator wrote there is shown only as ***.
    if (u.hash !== '') u.hash = '***';
    for (const k of [...new Set(u.searchParams.keys())]) u.searchParams.set(k, '***');
    return u.toString().replaceAll('%2A%2A%2A', '***');
  } catch {
    return '<a location that is not a URL>';
  }
}

function isUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

/** A URL's password and query values, raw and decoded; short ones (a page number) are left. */
function secretsOf(location: string): string[] {
  if (!isUrl(location)) return [];
  let u: URL;
  try {
    u = new URL(location);
  } catch {
    return [];
  }
  const raw = [
    u.username,
    u.password,
    ...u.hash
      .replace(/^#/, '')
      .split('&')
      .map((kv) => kv.slice(kv.indexOf('=') + 1)),
    ...u.search
      .replace(/^\?/, '')
      .split('&')
      .flatMap((kv) => (kv.includes('=') ? [kv.slice(kv.indexOf('=') + 1)] : [])),
  ];
  const all = raw.flatMap((s) => {
    try {
      return [s, decodeURIComponent(s.replaceAll('+', ' '))];
    } catch {
      return [s];
    }
  });
  return [...new Set(all.filter((s) => s.length >= 6))].sort((a, b) => b.length - a.length);
}
