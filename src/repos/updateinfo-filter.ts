import { childrenNamed, xmlRecords, type XmlElement } from '../lib/xml.js';

/**
 * A content view's own updateinfo (issue #7): the upstream advisories, each keeping only the
 * packages the view publishes. An advisory none of whose packages is in the view is left out —
 * the updateinfo of a repository describes that repository's packages, and dnf would otherwise
 * offer `--advisory` updates the view cannot deliver. Bulwark's own matching still knows every
 * advisory from the feeds.
 */
export interface UpdateinfoPackage {
  name: string;
  epoch: number;
  version: string;
  release: string;
  arch: string;
}

const escText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escAttr = (s: string): string => escText(s).replace(/"/g, '&quot;').replace(/\r/g, '&#13;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');

/** The element as XML again (local names, attributes, its text, then its children). */
export function serializeElement(el: XmlElement): string {
  const attrs = Object.entries(el.attrs)
    .map(([k, v]) => ` ${k}="${escAttr(v)}"`)
    .join('');
  const inner = escText(el.text.trim() === '' && el.children.length > 0 ? '' : el.text) + el.children.map(serializeElement).join('');
  return inner === '' ? `<${el.name}${attrs}/>` : `<${el.name}${attrs}>${inner}</${el.name}>`;
}

/**
 * Filters an (uncompressed) updateinfo.xml to the packages `keep` accepts: the `<update>`s left, as
 * elements (serializeElement writes them; mergeUpdate joins one advisory from two sources).
 * @example await filterUpdateinfo(stream, 'updateinfo.xml', (p) => published.has(key(p)))
 */
export async function filterUpdateinfo(
  input: AsyncIterable<Uint8Array>,
  name: string,
  keep: (p: UpdateinfoPackage) => boolean,
): Promise<{ updates: { id: string; element: XmlElement }[]; kept: number; dropped: number }> {
  const out: { id: string; element: XmlElement }[] = [];
  let kept = 0;
  let dropped = 0;
  for await (const { element } of xmlRecords(input, { name, select: (p) => p.length === 2 && p[1] === 'update' })) {
    let packages = 0;
    for (const list of childrenNamed(element, 'pkglist')) {
      list.children = list.children.filter((collection) => {
        if (collection.name !== 'collection') return true;
        collection.children = collection.children.filter((c) => {
          if (c.name !== 'package') return true;
          const a = c.attrs;
          const ok = keep({
            name: a['name'] ?? '',
            epoch: Number(a['epoch'] ?? '0') || 0,
            version: a['version'] ?? '',
            release: a['release'] ?? '',
            arch: a['arch'] ?? '',
          });
          if (ok) packages++;
          return ok;
        });
        return collection.children.some((c) => c.name === 'package');
      });
    }
    if (packages === 0) {
      dropped++;
      continue;
    }
    kept++;
    out.push({ id: (childrenNamed(element, 'id')[0]?.text ?? '').trim(), element });
  }
  return { updates: out, kept, dropped };
}

const packageKey = (p: XmlElement): string => ['name', 'epoch', 'version', 'release', 'arch'].map((k) => p.attrs[k] ?? (k === 'epoch' ? '0' : '')).join('|');

/**
 * The same advisory from another source (one repository per architecture, say): its
 * collections' packages that `into` lacks are added to it, so no source's packages are lost.
 */
export function mergeUpdate(into: XmlElement, from: XmlElement): void {
  const have = new Set(
    childrenNamed(into, 'pkglist').flatMap((l) => childrenNamed(l, 'collection').flatMap((c) => childrenNamed(c, 'package').map(packageKey))),
  );
  const existing = childrenNamed(into, 'pkglist')[0];
  const list: XmlElement = existing ?? { name: 'pkglist', attrs: {}, text: '', children: [], line: into.line };
  if (existing === undefined) into.children.push(list);
  for (const l of childrenNamed(from, 'pkglist'))
    for (const c of childrenNamed(l, 'collection')) {
      const fresh = c.children.filter((x) => x.name !== 'package' || !have.has(packageKey(x)));
      if (!fresh.some((x) => x.name === 'package')) continue;
      for (const x of fresh) if (x.name === 'package') have.add(packageKey(x));
      list.children.push({ ...c, children: fresh });
    }
}

/** An updateinfo.xml document of serialized `<update>` elements. */
export function updateinfoDocument(updates: readonly string[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<updates>\n${updates.join('\n')}\n</updates>\n`;
}

/**
 * Each advisory of an (uncompressed) updateinfo.xml with the builds its collections list, for the
 * report of what a view withholds.
 */
export async function* advisoryBuilds(
  input: AsyncIterable<Uint8Array>,
  name: string,
): AsyncGenerator<{
  id: string;
  type: string;
  severity: string | null;
  issued: string | null;
  cves: string[];
  packages: { name: string; evr: string; arch: string }[];
}> {
  for await (const { element } of xmlRecords(input, { name, select: (p) => p.length === 2 && p[1] === 'update' })) {
    const packages = childrenNamed(element, 'pkglist').flatMap((l) =>
      childrenNamed(l, 'collection').flatMap((c) =>
        childrenNamed(c, 'package').map((x) => ({
          name: x.attrs['name'] ?? '',
          evr: `${String(Number(x.attrs['epoch'] ?? '0') || 0)}:${x.attrs['version'] ?? ''}-${x.attrs['release'] ?? ''}`,
          arch: x.attrs['arch'] ?? '',
        })),
      ),
    );
    // updateinfo's issued date is "YYYY-MM-DD hh:mm:ss" (UTC by convention), or seconds since the epoch.
    const date = childrenNamed(element, 'issued')[0]?.attrs['date']?.trim() ?? '';
    const iso = issuedTime(date);
    const cves = childrenNamed(element, 'references').flatMap((r) =>
      childrenNamed(r, 'reference')
        .filter((x) => x.attrs['type'] === 'cve')
        .map((x) => x.attrs['id'] ?? ''),
    );
    const severity = childrenNamed(element, 'severity')[0]?.text.trim() ?? '';
    yield {
      id: (childrenNamed(element, 'id')[0]?.text ?? '').trim(),
      type: element.attrs['type'] ?? '',
      severity: severity === '' ? null : severity,
      issued: iso,
      cves,
      packages,
    };
  }
}

/** An updateinfo issued date ("YYYY-MM-DD[ hh:mm:ss]", UTC by convention, or epoch seconds) as ISO, or null. */
function issuedTime(date: string): string | null {
  let ms: number;
  if (/^\d+$/.test(date)) ms = Number(date) * 1000;
  else {
    const m = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2})?))?/.exec(date);
    if (m === null) return null;
    ms = Date.parse(`${m[1] ?? ''}T${m[2] ?? '00:00:00'}Z`);
  }
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}
