import { randomUUID } from 'node:crypto';
import { severityRank, type Severity } from '../core/advisory.js';
import { BucketSpool } from '../lib/bucket-spool.js';
import { ByteChunks } from '../lib/byte-chunks.js';
import { Spool } from '../lib/spool.js';
import { findingPackageSources, readSnapshot, targetsWithInventory, type FindingRow } from '../storage/index.js';
import { CSV_HEADER, csvLines, findingJsonBytes, HTML_END, htmlListed, htmlRows, htmlStart, jsonString, type HtmlSummary } from './report-render.js';
import { findingBatches, rankedBatches, type StreamOptions } from './report-stream.js';
import { componentTexts, interner, seenRefs } from './report-vex-parts.js';
import { notAffectedOf, type FindingsQuery, type ReportFormat } from './report.js';
import {
  affectJson,
  componentJson,
  vendorAffect,
  vendorComponent,
  vendorVulnerability,
  vexRef,
  vexHead,
  vexTally,
  vexVulnerability,
  type NotAffectedRow,
  type VexTally,
} from './report-vex.js';
import { systemClock, type Clock, type Db } from './store.js';

/**
 * Reports written as they stream (issue #14 item 4): the same bytes as renderReport over
 * findFindings (services/report.ts; a test compares every format), with memory bounded by a page
 * of rows, the advisories and the hosts. JSON and CSV go out row by row. The HTML report's
 * counts and oldest findings come before its table: the table waits in a Spool on disk. A VEX's
 * components come before its vulnerabilities, and each vulnerability lists its findings together:
 * components wait in a Spool, `affects` entries in a BucketSpool, a bucket per vulnerability.
 */

/** Where the text goes (as text, or chunks of UTF-8 that each end with a whole character): resolves when it can take more. */
export type Sink = (text: string | Uint8Array) => Promise<void>;

export interface WriteOptions extends StreamOptions {
  clock?: Clock;
  /** The VEX's serial number (default: a random UUID). */
  serial?: string;
  /** Called with every row written (`--fail-on`, counts). */
  onRow?: (r: FindingRow) => void;
}

/**
 * What the report writes, gathered into byte chunks of about 64 KiB for the sink: a write to the
 * sink costs a system call and a wait; the text is encoded as it comes (lib/byte-chunks.ts), so
 * no large string is built, copied flat or kept. `add` is synchronous: await `flush` when it says full.
 */
class Chunks {
  /** The chunks (a row renderer writes into them: true when one is ready, as add). */
  readonly c = new ByteChunks();
  constructor(private readonly sink: Sink) {}
  /** Adds text; true when a chunk is ready (then await flush()). */
  add(s: string): boolean {
    return this.c.add(s);
  }
  /** Adds text and hands out the full chunks. */
  async write(s: string | Uint8Array): Promise<void> {
    // Large bytes (a spilled bucket read back) go to the sink as they are, not copied.
    if (typeof s !== 'string' && s.length >= 1 << 16) {
      await this.flush(true);
      await this.sink(s);
    } else if (typeof s === 'string' ? this.c.add(s) : this.c.addBytes(s)) await this.flush();
  }
  /** Hands out the full chunks; with `all`, what waits too. */
  async flush(all = false): Promise<void> {
    for (const b of this.c.take(all)) await this.sink(b);
  }
}

const indent = (s: string, pad: string): string => pad + s.replaceAll('\n', `\n${pad}`);

/**
 * Writes the findings report of `q` in `format` to `sink`; returns the number of findings.
 * @example await writeReport(db, { minSeverity: 'high' }, 'csv', (s) => writeAll(process.stdout, s))
 */
export function writeReport(db: Db, q: FindingsQuery, format: Exclude<ReportFormat, 'table'>, sink: Sink, o: WriteOptions = {}): Promise<number> {
  // Its counts, rows and the VEX's package sources from one snapshot of the store (storage/snapshot.ts).
  return readSnapshot(db, (s) => writeOn(s, q, format, sink, o));
}

async function writeOn(db: Db, q: FindingsQuery, format: Exclude<ReportFormat, 'table'>, sink: Sink, o: WriteOptions): Promise<number> {
  const out = new Chunks(sink);
  const clock = o.clock ?? systemClock;
  let n = 0;
  // Rows in arrays: one await per array, not per row.
  const rows = async function* (): AsyncGenerator<FindingRow[]> {
    for await (const b of findingBatches(db, q, o)) {
      n += b.length;
      if (o.onRow !== undefined) for (const r of b) o.onRow(r);
      yield b;
    }
  };
  // A whole risk order of rows written line by line: each row rendered into its group's bucket as
  // it comes in the base order, the buckets written in turn (no sort of the rows by risk).
  if ((format === 'json' || format === 'csv') && q.sort !== undefined && q.sort !== 'severity' && o.skip === undefined && o.limit === undefined) {
    n = await writeByGroups(db, q, format, out, clock(), o);
    await out.flush(true);
    return n;
  }
  switch (format) {
    case 'json': {
      await out.write(`{\n  "generatedAt": ${JSON.stringify(clock().toISOString())},\n  "findings": [`);
      const json = findingJsonBytes('    ');
      let sep = '\n';
      for await (const b of rows())
        for (const r of b) {
          if (json(r, out.c, sep)) await out.flush();
          sep = ',\n';
        }
      await out.write(n === 0 ? ']\n}\n' : '\n  ]\n}\n');
      break;
    }
    case 'csv': {
      await out.write(CSV_HEADER + '\r\n');
      const line = csvLines();
      for await (const b of rows()) for (const r of b) if (out.add(line(r) + '\r\n')) await out.flush();
      break;
    }
    case 'html':
      await writeHtml(rows(), clock(), (t) => out.write(t));
      break;
    case 'cyclonedx-vex':
      await writeVex(db, rows(), clock(), o.serial ?? randomUUID(), (t) => out.write(t), o);
      break;
  }
  await out.flush(true);
  return n;
}

/**
 * The JSON or CSV report of a risk order, through rankedBatches: each rendered row is appended to
 * its group's bucket, and the buckets are written in turn. The bytes are those of the rows in the
 * order (each bucket in the base order), rendered once, spilled to disk when they are many. The
 * group being written (the first, at the start) takes its rows straight to the output, and when
 * it is complete (the base order, most severe first, is past its pairs' severities) the next
 * group's bucket is written and that group goes straight on: a risk order whose groups follow
 * the severities (no KEV or EPSS signal apart) is written without a bucket.
 */
async function writeByGroups(db: Db, q: FindingsQuery, format: 'json' | 'csv', out: Chunks, now: Date, o: WriteOptions): Promise<number> {
  // Tests' small runs spill (about 100 bytes a row); a fleet's report keeps 8 MiB in memory, so
  // each bucket is read back in few pieces.
  const buckets = new BucketSpool(o.runSize === undefined ? 1 << 23 : o.runSize * 100);
  let n = 0;
  // Each group's least severity rank; the group written straight to the output.
  let least: number[] = [];
  let head = 0;
  try {
    const json = findingJsonBytes('    ');
    const line = csvLines();
    // Every JSON row after a comma (`lead`): the first row written loses it.
    const render = format === 'json' ? json : (r: FindingRow, c: ByteChunks): boolean => c.add(line(r) + '\r\n');
    let first = format === 'json';
    const bucket = async (g: number): Promise<void> => {
      for await (const t of buckets.read(g)) {
        if (t.length === 0) continue;
        await out.write(first ? t.subarray(1) : t);
        first = false;
      }
    };
    await out.write(format === 'json' ? `{\n  "generatedAt": ${JSON.stringify(now.toISOString())},\n  "findings": [` : CSV_HEADER + '\r\n');
    for await (const b of rankedBatches(db, q, o, (l) => (least = l)))
      for (let i = 0; i < b.rows.length; i++) {
        const r = b.rows[i] as FindingRow;
        n++;
        o.onRow?.(r);
        // Past the head group's severities: it is complete (rows come most severe first).
        const rank = severityRank(r.severity);
        while (head < least.length - 1 && rank < (least[head] as number)) await bucket(++head);
        // (A group already complete: a pair found after the groups were counted, written where it comes.)
        const g = b.ranks[i] as number;
        if (g <= head) {
          const lead = first ? '\n' : ',\n';
          if (render(r, out.c, lead)) await out.flush();
          first = false;
          continue;
        }
        const spilling = buckets.putWith(g, (c) => render(r, c, ',\n'));
        if (spilling !== undefined) await spilling;
      }
    for (let g = head + 1; g < least.length; g++) await bucket(g);
    if (format === 'json') await out.write(n === 0 ? ']\n}\n' : '\n  ]\n}\n');
    return n;
  } finally {
    await buckets.dispose();
  }
}

async function writeHtml(batches: AsyncIterable<FindingRow[]>, now: Date, write: Sink): Promise<void> {
  const table = new Spool();
  try {
    const bySeverity = new Map<Severity, number>();
    const byRelease = new Map<string, number>();
    const hosts = new Set<string>();
    // The 25 oldest, as a stable sort by first seen then slice(0, 25) gives them.
    const oldest: FindingRow[] = [];
    let active = 0;
    const row = htmlRows();
    for await (const b of batches) {
      for (const r of b) {
        if (!htmlListed(r)) continue;
        active++;
        bySeverity.set(r.severity, (bySeverity.get(r.severity) ?? 0) + 1);
        byRelease.set(r.release ?? '?', (byRelease.get(r.release ?? '?') ?? 0) + 1);
        hosts.add(r.targetName);
        let at = oldest.length;
        // (Equal times compare equal: most rows stop here without asking the collator.)
        while (at > 0 && (oldest[at - 1] as FindingRow).firstSeen !== r.firstSeen && (oldest[at - 1] as FindingRow).firstSeen.localeCompare(r.firstSeen) > 0)
          at--;
        if (at < 25) {
          oldest.splice(at, 0, r);
          if (oldest.length > 25) oldest.pop();
        }
        // Row by row into the spool's chunks, not gathered into one large string per batch.
        if (table.add(row(r))) await table.drain();
      }
    }
    const summary: HtmlSummary = { bySeverity, byRelease, active, hosts: hosts.size, oldest };
    await write(htmlStart(now, summary));
    for await (const c of table.chunks()) await write(c);
    await write(HTML_END);
  } finally {
    table.dispose();
  }
}

// A finding's `affects` entry as affectJson(vexAffect(r), '        ') renders it, without the
// objects between (one entry per finding); report-stream.test.ts compares the two reports.
const P = '        ';
const AFFECT_REF = `${P}{\n${P}  "ref": `;
const AFFECT_VERSION = `,\n${P}  "versions": [\n${P}    {\n${P}      "version": `;
const AFFECT_STATUS = `,\n${P}      "status": `;
const AFFECT_NEXT = `\n${P}    },\n${P}    {\n${P}      "version": `;
const AFFECT_END = `\n${P}    }\n${P}  ]\n${P}}`;
function affectOf(r: FindingRow): string {
  const s = `${AFFECT_REF}${jsonString(vexRef(r))}${AFFECT_VERSION}${jsonString(r.installed)}${AFFECT_STATUS}${r.status === 'withdrawn' ? '"unknown"' : '"affected"'}`;
  return r.status === 'fixed' && r.fixed !== null ? `${s}${AFFECT_NEXT}${jsonString(r.fixed)}${AFFECT_STATUS}"unaffected"${AFFECT_END}` : s + AFFECT_END;
}

async function writeVex(db: Db, batches: AsyncIterable<FindingRow[]>, now: Date, serial: string, write: Sink, o: StreamOptions): Promise<void> {
  const components = new Spool();
  // Each vulnerability's `affects` entries, in row order: bucket v is the v-th vulnerability
  // (a small runSize, as tests give, makes them spill: about 100 characters a row).
  const affects = new BucketSpool(o.runSize === undefined ? undefined : o.runSize * 100);
  const counts: number[] = [];
  // `json`: the entry as affectJson renders it, indented. No await per row: a promise only
  // when the buckets spill (await it before the next).
  const affect = (v: number, json: string): Promise<void> | undefined => {
    const n = counts[v] ?? 0;
    counts[v] = n + 1;
    return affects.put(v, (n === 0 ? '' : ',\n') + json);
  };
  try {
    const seen = seenRefs();
    const componentText = componentTexts('    ');
    let nComponents = 0;
    // A promise only when the spool has chunks to write.
    const component = (json: string): Promise<void> | undefined => (components.add((nComponents++ === 0 ? '' : ',\n') + json) ? components.drain() : undefined);
    // By source, then id (no key built per row).
    const vulns = new Map<string, Map<string, { v: number; first: FindingRow; tally: VexTally }>>();
    let nVulns = 0;
    // Per target, in the order its rows came: the package names its rows name (the sources of
    // its vendor statements are looked up for those only, as renderCycloneDxVex was given them).
    const intern = interner();
    const targets = new Map<string, Set<string>>();
    const batch: FindingRow[] = [];
    const flush = async (): Promise<void> => {
      const sources = await findingPackageSources(db, batch);
      for (const r of batch) {
        if (!seen(r)) {
          const s = sources.get(`${r.targetId}\u0000${r.package}\u0000${r.arch}`);
          const source = s !== undefined && s.origin !== 'assumed' ? s.sourceName : undefined;
          const writing = component(componentText(r, source));
          if (writing !== undefined) await writing;
        }
        let bySource = vulns.get(r.advisorySource);
        if (bySource === undefined) vulns.set(r.advisorySource, (bySource = new Map<string, { v: number; first: FindingRow; tally: VexTally }>()));
        let v = bySource.get(r.advisoryId);
        if (v === undefined) bySource.set(r.advisoryId, (v = { v: nVulns++, first: r, tally: vexTally(undefined, r) }));
        else v.tally = vexTally(v.tally, r);
        const spilling = affect(v.v, affectOf(r));
        if (spilling !== undefined) await spilling;
      }
      batch.length = 0;
    };
    for await (const b of batches)
      for (const r of b) {
        let names = targets.get(r.targetId);
        if (names === undefined) targets.set(r.targetId, (names = new Set()));
        names.add(intern(r.package));
        batch.push(r);
        if (batch.length >= 2000) await flush();
      }
    await flush();
    // The vendors' statements, target by target, after the findings (their vulnerabilities too).
    // Only a target with a stored inventory can have any (notAffectedOf reads it).
    const vendor = new Map<string, { v: number; first: NotAffectedRow }>();
    const base = nVulns;
    const inventoried = await targetsWithInventory(db, [...targets.keys()]);
    for (const [targetId, names] of targets) {
      if (!inventoried.has(targetId)) continue;
      const said = await notAffectedOf(db, targetId);
      const sources = await findingPackageSources(
        db,
        said.filter((n) => names.has(n.package)),
      );
      for (const n of said) {
        if (!seen(n)) {
          const s = names.has(n.package) ? sources.get(`${n.targetId}\u0000${n.package}\u0000${n.arch}`) : undefined;
          await component(componentJson(vendorComponent(n, s !== undefined && s.origin !== 'assumed' ? s.sourceName : undefined), '    '));
        }
        const key = `${n.advisorySource}\u0000${n.advisoryId}`;
        let v = vendor.get(key);
        if (v === undefined) vendor.set(key, (v = { v: base + vendor.size, first: n }));
        await affect(v.v, affectJson(vendorAffect(n), '        '));
      }
    }
    const head = JSON.stringify(vexHead(now, serial), null, 2);
    await write(`${head.slice(0, -2)},\n  "components": ${nComponents === 0 ? '[]' : '[\n'}`);
    if (nComponents > 0) {
      for await (const c of components.chunks()) await write(c);
      await write('\n  ]');
    }
    const heads: string[] = [];
    for (const bySource of vulns.values()) for (const v of bySource.values()) heads[v.v] = JSON.stringify(vexVulnerability(v.first, v.tally), null, 2);
    for (const v of vendor.values()) heads[v.v] = JSON.stringify(vendorVulnerability(v.first), null, 2);
    await write(`,\n  "vulnerabilities": ${heads.length === 0 ? '[]' : '['}`);
    for (let v = 0; v < heads.length; v++) {
      await write((v > 0 ? ',\n' : '\n') + indent((heads[v] as string).slice(0, -2), '    ') + ',\n      "affects": [\n');
      for await (const t of affects.read(v)) await write(t);
      await write('\n      ]\n    }');
    }
    if (heads.length > 0) await write('\n  ]');
    await write('\n}\n');
  } finally {
    components.dispose();
    await affects.dispose();
  }
}
