/**
 * Levenshtein distance (Wagner–Fischer), or `cap` once it is certain to reach it, so a search
 * for the closest of many names stops early; without a cap, the exact distance. One
 * implementation for every "did you mean" (CLI names, policy keys and ring hosts, overlays).
 * @example editDistance('opensssl', 'openssl') // 1
 */
export function editDistance(a: string, b: string, cap = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min((prev[j] ?? cap) + 1, (row[j - 1] ?? cap) + 1, (prev[j - 1] ?? cap) + (a[i - 1] === b[j - 1] ? 0 : 1));
      row.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin >= cap) return cap;
    prev = row;
  }
  return Math.min(prev[b.length] ?? cap, cap);
}
