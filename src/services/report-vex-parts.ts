import type { FindingRow } from '../storage/index.js';
import { jsonString } from './report-render.js';
import { componentJson, purlOf, vexComponent, vexRef } from './report-vex.js';

/**
 * What the streamed VEX (services/report-write.ts writeVex) remembers between rows: the
 * strings it holds, the components already written, and the parts of a component's text that
 * hosts of a release share.
 */

/**
 * Strings equal to one seen before, as that one: what a report holds per row shares its text.
 * With `most`, it keeps at most that many distinct strings (then it starts afresh).
 */
export function interner(most = Infinity): (s: string) => string {
  const m = new Map<string, string>();
  return (s) => {
    const t = m.get(s);
    if (t !== undefined) return t;
    if (m.size >= most) m.clear();
    m.set(s, s);
    return s;
  };
}

/**
 * The components already written, by bom-ref (`host/package@version`), in less memory than a
 * set of every ref: per host, the numbers of its `package@version`s (one number per distinct
 * build). A ref with a `/` in a part (which could read as another host's) is kept whole, apart:
 * the same refs count as seen.
 */
export function seenRefs(): (r: { targetName: string; package: string; installed: string }) => boolean {
  const builds = new Map<string, number>();
  const byTarget = new Map<string, Set<number>>();
  const whole = new Set<string>();
  return (r) => {
    const build = `${r.package}@${r.installed}`;
    if (r.targetName.includes('/') || build.includes('/')) {
      const ref = `${r.targetName}/${build}`;
      if (whole.has(ref)) return true;
      whole.add(ref);
      return false;
    }
    let id = builds.get(build);
    if (id === undefined) builds.set(build, (id = builds.size));
    let s = byTarget.get(r.targetName);
    if (s === undefined) byTarget.set(r.targetName, (s = new Set()));
    if (s.has(id)) return true;
    s.add(id);
    return false;
  };
}

/**
 * A finding's component as `componentJson(vexComponent(r, source), pad)` renders it, in three
 * parts: its bom-ref, per row; what follows up to its properties (type, name, version, purl),
 * remembered per (release, package, build, arch, source), which hosts of a release share (and
 * percent-encoding a purl costs more than finding it again); its properties to the end,
 * remembered per host. Each part is cut from a whole component rendered the first time.
 * @example const text = componentTexts('    '); spool.add(text(row, 'openssl'));
 */
export function componentTexts(pad: string): (r: FindingRow, source: string | undefined) => string {
  const middles = new Map<string, string>();
  const tails = new Map<string, string>();
  const head = `${pad}{\n${pad}  "bom-ref": `;
  const properties = `\n${pad}  "properties": [`;
  return (r, source) => {
    if (r.release === null) return componentJson(vexComponent(r, source), pad);
    // Parts joined by \u0000 (as the package sources' keys are); no source: one part fewer.
    const key = `${r.release}\u0000${r.package}\u0000${r.installed}\u0000${r.arch}${source === undefined ? '' : `\u0000${source}`}`;
    const middle = middles.get(key);
    const tail = tails.get(r.targetName);
    if (middle !== undefined && tail !== undefined) return head + jsonString(vexRef(r)) + middle + tail;
    const whole = componentJson(vexComponent(r, source, purlOf(r, source)), pad);
    // The bom-ref's line ends at the first ",\n", the properties start at the first `properties`
    // line: a JSON string holds no raw line break.
    const at = whole.indexOf(properties);
    middles.set(key, whole.slice(whole.indexOf(',\n'), at));
    tails.set(r.targetName, whole.slice(at));
    return whole;
  };
}
