/**
 * CVSS v4.0: a strict vector parser and the score by the FIRST CVSS v4.0 specification's own method
 * (https://www.first.org/cvss/v4.0/specification-document §8 "Scoring"): the vector falls in a
 * macrovector of six equivalence classes EQ1..EQ6, whose score is looked up in the specification's
 * table (./cvss4-table.ts); the vector's severity distance from the highest-severity vectors of its
 * macrovector, as a proportion of the macrovector's depth, moves the score towards the next lower
 * macrovector of each EQ; the mean of those moves is subtracted and the result rounded to one
 * decimal (half up). Threat (E) and environmental metrics (CR/IR/AR, M*) take part as §8 says:
 * E:X counts as E:A, CR/IR/AR:X as H, and a modified metric other than X replaces its base metric.
 * Supplemental metrics are parsed and checked but never change the score.
 */
import { CVSS4_MACROVECTOR_SCORES } from './cvss4-table.js';

/** Every metric of §7 "Vector String" in its mandatory order, with its allowed values. */
const METRICS: readonly (readonly [string, readonly string[]])[] = [
  ['AV', ['N', 'A', 'L', 'P']],
  ['AC', ['L', 'H']],
  ['AT', ['N', 'P']],
  ['PR', ['N', 'L', 'H']],
  ['UI', ['N', 'P', 'A']],
  ['VC', ['H', 'L', 'N']],
  ['VI', ['H', 'L', 'N']],
  ['VA', ['H', 'L', 'N']],
  ['SC', ['H', 'L', 'N']],
  ['SI', ['H', 'L', 'N']],
  ['SA', ['H', 'L', 'N']],
  ['E', ['X', 'A', 'P', 'U']],
  ['CR', ['X', 'H', 'M', 'L']],
  ['IR', ['X', 'H', 'M', 'L']],
  ['AR', ['X', 'H', 'M', 'L']],
  ['MAV', ['X', 'N', 'A', 'L', 'P']],
  ['MAC', ['X', 'L', 'H']],
  ['MAT', ['X', 'N', 'P']],
  ['MPR', ['X', 'N', 'L', 'H']],
  ['MUI', ['X', 'N', 'P', 'A']],
  ['MVC', ['X', 'H', 'L', 'N']],
  ['MVI', ['X', 'H', 'L', 'N']],
  ['MVA', ['X', 'H', 'L', 'N']],
  ['MSC', ['X', 'H', 'L', 'N']],
  ['MSI', ['X', 'S', 'H', 'L', 'N']],
  ['MSA', ['X', 'S', 'H', 'L', 'N']],
  ['S', ['X', 'N', 'P']],
  ['AU', ['X', 'N', 'Y']],
  ['R', ['X', 'A', 'U', 'I']],
  ['V', ['X', 'D', 'C']],
  ['RE', ['X', 'L', 'M', 'H']],
  ['U', ['X', 'Clear', 'Green', 'Amber', 'Red']],
];
/** The base metrics, all mandatory: the first eleven of METRICS. */
const MANDATORY = 11;
const PREFIX = 'CVSS:4.0';

/** A vector that is not a valid CVSS v4.0 vector; the message names the metric at fault. */
export class Cvss4Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Cvss4Error';
  }
}

/** A parsed vector: the metrics it states (omitted optional metrics are absent, i.e. X). */
export interface Cvss4Vector {
  readonly vector: string;
  readonly metrics: ReadonlyMap<string, string>;
}

/**
 * Parses a CVSS v4.0 vector strictly: prefix `CVSS:4.0/`, the eleven base metrics in order, then
 * any threat, environmental and supplemental metrics in the specification's order, each at most once.
 * @throws Cvss4Error naming the bad metric
 * @example parseCvss4('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N').metrics.get('AV') // 'N'
 */
export function parseCvss4(vector: string): Cvss4Vector {
  const parts = vector.split('/');
  if (parts[0] !== PREFIX) throw new Cvss4Error(`not a CVSS v4.0 vector: it must start with "${PREFIX}/"`);
  const metrics = new Map<string, string>();
  let next = 0;
  for (const part of parts.slice(1)) {
    const colon = part.indexOf(':');
    const key = colon < 0 ? part : part.slice(0, colon);
    const value = colon < 0 ? '' : part.slice(colon + 1);
    const at = METRICS.findIndex(([k]) => k === key);
    if (at < 0) throw new Cvss4Error(`unknown metric "${key}" in CVSS v4.0 vector`);
    if (metrics.has(key)) throw new Cvss4Error(`metric ${key} is given twice`);
    if (at < next) throw new Cvss4Error(`metric ${key} is out of order (it comes before ${METRICS[next - 1]?.[0] ?? ''})`);
    if (next < MANDATORY && at !== next) throw new Cvss4Error(`mandatory metric ${METRICS[next]?.[0] ?? ''} is missing before ${key}`);
    const allowed = METRICS[at]?.[1] ?? [];
    if (!allowed.includes(value)) throw new Cvss4Error(`metric ${key} has value "${value}", expected one of ${allowed.join(', ')}`);
    metrics.set(key, value);
    next = at + 1;
  }
  if (next < MANDATORY) throw new Cvss4Error(`mandatory metric ${METRICS[next]?.[0] ?? ''} is missing`);
  return { vector, metrics };
}

/** §8: the value a metric takes in the equations (threat and environmental defaults applied). */
function effective(v: Cvss4Vector, key: string): string {
  const m = v.metrics;
  const stated = m.get(key) ?? 'X';
  if (key === 'E') return stated === 'X' ? 'A' : stated;
  if (key === 'CR' || key === 'IR' || key === 'AR') return stated === 'X' ? 'H' : stated;
  const modified = m.get(`M${key}`);
  return modified !== undefined && modified !== 'X' ? modified : stated;
}

/**
 * The macrovector: the six EQ classes of §8.1, e.g. "000200".
 * @example cvss4Macrovector(parseCvss4('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H')) // '000100'
 */
export function cvss4Macrovector(v: Cvss4Vector): string {
  return eqClasses(v).join('');
}

function eqClasses(v: Cvss4Vector): [number, number, number, number, number, number] {
  const e = (k: string): string => effective(v, k);
  const [av, pr, ui] = [e('AV'), e('PR'), e('UI')];
  const eq1 = av === 'N' && pr === 'N' && ui === 'N' ? 0 : (av === 'N' || pr === 'N' || ui === 'N') && av !== 'P' ? 1 : 2;
  const eq2 = e('AC') === 'L' && e('AT') === 'N' ? 0 : 1;
  const [vc, vi, va] = [e('VC'), e('VI'), e('VA')];
  const eq3 = vc === 'H' && vi === 'H' ? 0 : vc === 'H' || vi === 'H' || va === 'H' ? 1 : 2;
  const eq4 = e('SI') === 'S' || e('SA') === 'S' ? 0 : e('SC') === 'H' || e('SI') === 'H' || e('SA') === 'H' ? 1 : 2;
  const eq5 = { A: 0, P: 1, U: 2 }[e('E')] ?? 0;
  const eq6 = (e('CR') === 'H' && vc === 'H') || (e('IR') === 'H' && vi === 'H') || (e('AR') === 'H' && va === 'H') ? 0 : 1;
  return [eq1, eq2, eq3, eq4, eq5, eq6];
}

/** Severity levels of §8.2 in steps of 0.1 (0 = most severe), for the severity distance. */
const LEVEL: Record<string, Record<string, number>> = {
  AV: { N: 0, A: 1, L: 2, P: 3 },
  PR: { N: 0, L: 1, H: 2 },
  UI: { N: 0, P: 1, A: 2 },
  AC: { L: 0, H: 1 },
  AT: { N: 0, P: 1 },
  VC: { H: 0, L: 1, N: 2 },
  VI: { H: 0, L: 1, N: 2 },
  VA: { H: 0, L: 1, N: 2 },
  SC: { H: 1, L: 2, N: 3 },
  SI: { S: 0, H: 1, L: 2, N: 3 },
  SA: { S: 0, H: 1, L: 2, N: 3 },
  CR: { H: 0, M: 1, L: 2 },
  IR: { H: 0, M: 1, L: 2 },
  AR: { H: 0, M: 1, L: 2 },
};

/** §8.2: the highest-severity vectors of each EQ class (EQ3 and EQ6 together, by EQ3 then EQ6). */
const p = (s: string): Record<string, string> => Object.fromEntries(s.split('/').map((kv) => kv.split(':') as [string, string]));
const HIGHEST = {
  eq1: [['AV:N/PR:N/UI:N'], ['AV:A/PR:N/UI:N', 'AV:N/PR:L/UI:N', 'AV:N/PR:N/UI:P'], ['AV:P/PR:N/UI:N', 'AV:A/PR:L/UI:P']].map((c) => c.map(p)),
  eq2: [['AC:L/AT:N'], ['AC:H/AT:N', 'AC:L/AT:P']].map((c) => c.map(p)),
  eq3eq6: [
    [['VC:H/VI:H/VA:H/CR:H/IR:H/AR:H'], ['VC:H/VI:H/VA:L/CR:M/IR:M/AR:H', 'VC:H/VI:H/VA:H/CR:M/IR:M/AR:M']],
    [
      ['VC:L/VI:H/VA:H/CR:H/IR:H/AR:H', 'VC:H/VI:L/VA:H/CR:H/IR:H/AR:H'],
      [
        'VC:L/VI:H/VA:L/CR:H/IR:M/AR:H',
        'VC:L/VI:H/VA:H/CR:H/IR:M/AR:M',
        'VC:H/VI:L/VA:H/CR:M/IR:H/AR:M',
        'VC:H/VI:L/VA:L/CR:M/IR:H/AR:H',
        'VC:L/VI:L/VA:H/CR:H/IR:H/AR:M',
      ],
    ],
    [[], ['VC:L/VI:L/VA:L/CR:H/IR:H/AR:H']],
  ].map((byEq6) => byEq6.map((c) => c.map(p))),
  eq4: [['SC:H/SI:S/SA:S'], ['SC:H/SI:H/SA:H'], ['SC:L/SI:L/SA:L']].map((c) => c.map(p)),
};
/** §8.2: the depth of each macrovector (its largest severity distance + 1), in steps of 0.1. */
const DEPTH = {
  eq1: [1, 4, 5],
  eq2: [1, 2],
  eq3eq6: [
    [7, 6],
    [8, 8],
    [0, 10],
  ],
  eq4: [6, 5, 4],
};

const EQ_METRICS = { eq1: ['AV', 'PR', 'UI'], eq2: ['AC', 'AT'], eq3eq6: ['VC', 'VI', 'VA', 'CR', 'IR', 'AR'], eq4: ['SC', 'SI', 'SA'] };

/** The i-th entry of a table indexed by an EQ class (classes are always in range). */
function at<T>(xs: readonly T[], i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Cvss4Error(`EQ class ${i} out of range`);
  return x;
}

/** §8.2 final step: one decimal, half up; 1e-6 absorbs binary float error in the interpolation. */
function round1(x: number): number {
  return Math.round((x + 1e-6) * 10) / 10;
}

/**
 * The CVSS v4.0 score (CVSS-B, -BT, -BE or -BTE after the metrics the vector states).
 * @throws Cvss4Error when given a string that is not a valid vector
 * @example cvss4Score('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N') // 9.3
 */
export function cvss4Score(input: Cvss4Vector | string): number {
  const v = typeof input === 'string' ? parseCvss4(input) : input;
  const e = (k: string): string => effective(v, k);
  if (['VC', 'VI', 'VA', 'SC', 'SI', 'SA'].every((k) => e(k) === 'N')) return 0;
  const [eq1, eq2, eq3, eq4, eq5, eq6] = eqClasses(v);
  const mv = cvss4Macrovector(v);
  const score = (d: number[]): number | undefined => CVSS4_MACROVECTOR_SCORES[d.join('')];
  const value = score([eq1, eq2, eq3, eq4, eq5, eq6]);
  if (value === undefined) throw new Cvss4Error(`macrovector ${mv} is not in the specification's table`);
  // The next lower macrovector of each EQ; EQ3 and EQ6 move together (00 → 01 or 10, the higher).
  const lower36 =
    eq3 === 0 && eq6 === 0
      ? Math.max(score([eq1, eq2, 0, eq4, eq5, 1]) ?? -Infinity, score([eq1, eq2, 1, eq4, eq5, 0]) ?? -Infinity)
      : eq6 === 0
        ? score([eq1, eq2, eq3, eq4, eq5, 1])
        : score([eq1, eq2, eq3 + 1, eq4, eq5, eq6]);
  const lower = {
    eq1: score([eq1 + 1, eq2, eq3, eq4, eq5, eq6]),
    eq2: score([eq1, eq2 + 1, eq3, eq4, eq5, eq6]),
    eq3eq6: lower36 === -Infinity ? undefined : lower36,
    eq4: score([eq1, eq2, eq3, eq4 + 1, eq5, eq6]),
  };
  // The first highest-severity vector of the macrovector that the vector does not exceed anywhere.
  const level = (k: string, val: string): number => LEVEL[k]?.[val] ?? 0;
  const candidates = at(HIGHEST.eq1, eq1).flatMap((a) =>
    at(HIGHEST.eq2, eq2).flatMap((b) => at(at(HIGHEST.eq3eq6, eq3), eq6).flatMap((c) => at(HIGHEST.eq4, eq4).map((d) => ({ ...a, ...b, ...c, ...d })))),
  );
  const distance = (max: Record<string, string>, k: string): number => level(k, e(k)) - level(k, max[k] ?? '');
  const all = Object.values(EQ_METRICS).flat();
  const max = candidates.find((c) => all.every((k) => distance(c, k) >= 0)) ?? at(candidates, candidates.length - 1);
  const dist = (eq: keyof typeof EQ_METRICS): number => EQ_METRICS[eq].reduce((s, k) => s + distance(max, k), 0);
  const depth = { eq1: at(DEPTH.eq1, eq1), eq2: at(DEPTH.eq2, eq2), eq3eq6: at(at(DEPTH.eq3eq6, eq3), eq6), eq4: at(DEPTH.eq4, eq4) };
  let moved = 0;
  let n = 0;
  for (const eq of ['eq1', 'eq2', 'eq3eq6', 'eq4'] as const) {
    const l = lower[eq];
    if (l === undefined) continue;
    n += 1;
    moved += (value - l) * (dist(eq) / depth[eq]);
  }
  // EQ5 (threat) has depth 1 and distance 0: it counts in the mean but moves nothing.
  if (score([eq1, eq2, eq3, eq4, eq5 + 1, eq6]) !== undefined) n += 1;
  const result = value - (n === 0 ? 0 : moved / n);
  return round1(Math.min(10, Math.max(0, result)));
}

/**
 * A feed's CVSS v4.0 vector, scored by the specification's method, with what is wrong with it in
 * words: an unscorable vector gives no rating; a base-only vector whose score the feed states
 * differently keeps ours and says so (a vector with threat or environmental metrics legitimately
 * scores apart from its base score).
 * @example cvss4FromFeed('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 9.3) // { rating: { vector, score: 9.3 }, problem: null }
 */
export function cvss4FromFeed(vector: string, stated: number | null): { rating: { vector: string; score: number } | null; problem: string | null } {
  let parsed: Cvss4Vector;
  try {
    parsed = parseCvss4(vector.trim());
  } catch (err) {
    if (!(err instanceof Cvss4Error)) throw err;
    return { rating: null, problem: `CVSS v4.0 vector "${vector.slice(0, 200)}": ${err.message}; skipped` };
  }
  const score = cvss4Score(parsed);
  const differs = stated !== null && parsed.metrics.size === MANDATORY && Math.abs(score - stated) > 0.05;
  return {
    rating: { vector: parsed.vector, score },
    problem: differs ? `CVSS v4.0 score ${String(stated)} stated for ${parsed.vector}, whose score is ${score.toFixed(1)}; kept ${score.toFixed(1)}` : null,
  };
}
