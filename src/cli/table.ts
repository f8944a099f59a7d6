/**
 * A plain text table: columns padded to their widest cell, two spaces apart. Cells are
 * sanitised so text from a feed or a host cannot move the cursor or fake lines on a terminal.
 * @example formatTable(['A', 'B'], [['1', '2']]) // 'A  B\n1  2\n'
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const clean = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  const all = [header, ...rows].map((r) => r.map(clean));
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n') + '\n';
}
