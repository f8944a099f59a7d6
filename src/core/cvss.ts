/**
 * CVSS v3.0 / v3.1 base score from a vector string, as the FIRST specification defines it
 * (https://www.first.org/cvss/v3.1/specification-document §7.1 base metrics equations, §7.4
 * metric values, Appendix A Roundup). Feeds that give only a vector (OSV `severity`) get a
 * score policies can compare.
 */
const AV: Record<string, number> = { N: 0.85, A: 0.62, L: 0.55, P: 0.2 };
const AC: Record<string, number> = { L: 0.77, H: 0.44 };
const UI: Record<string, number> = { N: 0.85, R: 0.62 };
const CIA: Record<string, number> = { H: 0.56, L: 0.22, N: 0 };

/** Appendix A: the smallest number with one decimal that is >= the input, free of float error. */
function roundup(x: number): number {
  const i = Math.round(x * 100000);
  return i % 10000 === 0 ? i / 100000 : (Math.floor(i / 10000) + 1) / 10;
}

/**
 * The base score, or null when the vector is not a complete CVSS 3.x base vector.
 * @example cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H') // 9.8
 */
export function cvss3BaseScore(vector: string): number | null {
  const parts = vector.trim().split('/');
  if (!/^CVSS:3\.[01]$/.test(parts[0] ?? '')) return null;
  const m = new Map<string, string>();
  for (const p of parts.slice(1)) {
    const [k, v, extra] = p.split(':');
    if (k === undefined || v === undefined || extra !== undefined || m.has(k)) return null;
    m.set(k, v);
  }
  const get = (k: string, table: Record<string, number>): number | null => {
    const v = m.get(k);
    return v !== undefined && v in table ? (table[v] ?? null) : null;
  };
  const scope = m.get('S');
  if (scope !== 'U' && scope !== 'C') return null;
  const pr = m.get('PR');
  const prTable: Record<string, number> = scope === 'U' ? { N: 0.85, L: 0.62, H: 0.27 } : { N: 0.85, L: 0.68, H: 0.5 };
  const av = get('AV', AV);
  const ac = get('AC', AC);
  const ui = get('UI', UI);
  const c = get('C', CIA);
  const i = get('I', CIA);
  const a = get('A', CIA);
  const prv = pr !== undefined && pr in prTable ? (prTable[pr] ?? null) : null;
  if (av === null || ac === null || ui === null || c === null || i === null || a === null || prv === null) return null;
  const iss = 1 - (1 - c) * (1 - i) * (1 - a);
  const impact = scope === 'U' ? 6.42 * iss : 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15;
  if (impact <= 0) return 0;
  const exploitability = 8.22 * av * ac * prv * ui;
  return scope === 'U' ? roundup(Math.min(impact + exploitability, 10)) : roundup(Math.min(1.08 * (impact + exploitability), 10));
}

/**
 * The qualitative rating of a score (specification §5).
 * @example cvssRating(7.5) // 'high'
 */
export function cvssRating(score: number): 'critical' | 'high' | 'medium' | 'low' | 'none' {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  if (score > 0) return 'low';
  return 'none';
}
