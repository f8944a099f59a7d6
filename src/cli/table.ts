import { ByteChunks } from '../lib/byte-chunks.js';
import { Spool } from '../lib/spool.js';

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** A cell made safe for a terminal: control characters become `?` (tested first: most cells have none, and are then kept as they are). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const clean = (s: string): string => (CONTROL.test(s) ? s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?') : s);

/**
 * A plain text table: columns padded to their widest cell, two spaces apart. Cells are
 * sanitised so text from a feed or a host cannot move the cursor or fake lines on a terminal.
 * @example formatTable(['A', 'B'], [['1', '2']]) // 'A  B\n1  2\n'
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows].map((r) => r.map(clean));
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n') + '\n';
}

/**
 * formatTable for more rows than memory should hold (a fleet's findings): rows wait on disk
 * (lib/spool.ts) while the widths are measured; `write` then prints what formatTable would,
 * with only the first `columns` columns (known at the end: the risk columns appear only when
 * some row has a risk worth showing).
 */
export class TableSpool {
  private readonly spool = new Spool();
  private readonly widths: number[];
  rows = 0;

  constructor(private readonly header: readonly string[]) {
    this.widths = header.map((h) => clean(h).length);
  }

  async add(row: readonly string[]): Promise<void> {
    await this.spool.write(this.line(row));
  }

  /** Rows at once: at most one wait for them all (each line encoded as it comes, not gathered into a large string). */
  async addAll(rows: readonly (readonly string[])[]): Promise<void> {
    let full = false;
    for (const r of rows) full = this.spool.add(this.line(r)) || full;
    if (full) await this.spool.drain();
  }

  /**
   * A row measured and made its line of the spool: its cells apart by tabs, which a cleaned cell
   * cannot hold (a tab is a control character), so the line splits back into exactly its cells.
   */
  private line(row: readonly string[]): string {
    let s = '';
    for (let i = 0; i < row.length; i++) {
      const c = clean(row[i] as string);
      if (c.length > (this.widths[i] ?? 0)) this.widths[i] = c.length;
      s += i === 0 ? c : `\t${c}`;
    }
    this.rows++;
    return s + '\n';
  }

  /** Writes the table with its first `columns` columns; the spool is gone afterwards. */
  async write(columns: number, out: (s: string | Uint8Array) => Promise<void>): Promise<void> {
    // The first `columns` cells, each but the last padded to its column's width, two spaces apart.
    const line = (r: readonly string[]): string => {
      const n = Math.min(r.length, columns);
      let s = '';
      for (let i = 0; i < n; i++) {
        const c = r[i] as string;
        s += (i === 0 ? '' : '  ') + (i === columns - 1 ? c : c.padEnd(this.widths[i] ?? 0));
      }
      return s + '\n';
    };
    try {
      // Encoded as it goes, in chunks of 64 KiB (lib/byte-chunks.ts: no large string built).
      const buf = new ByteChunks();
      buf.add(line(this.header.map(clean)));
      for await (const l of this.spool.lines()) if (buf.add(line(l.split('\t')))) for (const b of buf.take()) await out(b);
      for (const b of buf.take(true)) await out(b);
    } finally {
      this.spool.dispose();
    }
  }

  dispose(): void {
    this.spool.dispose();
  }
}
