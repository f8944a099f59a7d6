import { describe, expect, it } from 'vitest';
import { formatTable, TableSpool } from './table.js';

describe('TableSpool', () => {
  it('prints what formatTable prints, cells with tabs, escapes and line ends made safe', async () => {
    const header = ['A', 'BB', 'C'];
    const rows = [
      ['x\ty', '\u001b[2J', 'two\nlines'],
      ['', 'é 中', 'carriage\rreturn \u009b'],
      ['wide cell here', 'b', 'c'],
    ];
    const table = new TableSpool(header);
    try {
      await table.add(rows[0] as string[]);
      await table.addAll(rows.slice(1));
      let out = '';
      await table.write(3, (s) => {
        out += typeof s === 'string' ? s : Buffer.from(s).toString('utf8');
        return Promise.resolve();
      });
      expect(out).toBe(formatTable(header, rows));
      for (const c of ['\t', '\r', '\u001b', '\u009b']) expect(out).not.toContain(c);
      expect(table.rows).toBe(3);
    } finally {
      table.dispose();
    }
  });
});
