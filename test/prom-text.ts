/**
 * A strict parser of the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/), written for the tests of
 * GET /metrics (promtool is not packaged for this machine). It refuses what Prometheus would
 * refuse and what the format's rules forbid: a sample of an undeclared family, a TYPE after its
 * samples or twice, bad metric or label names, unescaped label values, an unparsable value, a
 * duplicate series, a histogram whose buckets are not cumulative or lack +Inf = _count, and text
 * that does not end with a line feed.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string | null;
  samples: Sample[];
}

const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseValue(v: string, line: number): number {
  if (v === '+Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  if (v === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) throw new Error(`line ${String(line)}: "${v}" is not a value`);
  return Number(v);
}

function parseLabels(s: string, line: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 0;
  for (;;) {
    if (s[i] === '}') return { labels, rest: s.slice(i + 1) };
    const m = /^([^=]*)="/.exec(s.slice(i));
    if (m === null) throw new Error(`line ${String(line)}: bad label list at "${s.slice(i)}"`);
    const name = m[1] ?? '';
    if (!LABEL.test(name) || name.startsWith('__')) throw new Error(`line ${String(line)}: bad label name "${name}"`);
    if (name in labels) throw new Error(`line ${String(line)}: label ${name} twice`);
    i += m[0].length;
    let value = '';
    for (;;) {
      const c = s[i];
      if (c === undefined) throw new Error(`line ${String(line)}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const n = s[i + 1];
        if (n === '\\') value += '\\';
        else if (n === '"') value += '"';
        else if (n === 'n') value += '\n';
        else throw new Error(`line ${String(line)}: bad escape \\${n ?? ''}`);
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    labels[name] = value;
    i++;
    if (s[i] === ',') i++;
    else if (s[i] !== '}') throw new Error(`line ${String(line)}: expected , or } after label ${name}`);
  }
}

export function parsePrometheusText(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the text does not end with a line feed');
  const families = new Map<string, Family>();
  const sampled = new Set<string>();
  const series = new Set<string>();
  const familyOf = (name: string): Family | undefined => {
    const f = families.get(name);
    if (f !== undefined) return f;
    for (const suffix of ['_bucket', '_sum', '_count']) {
      if (!name.endsWith(suffix)) continue;
      const base = families.get(name.slice(0, -suffix.length));
      if (base !== undefined && (base.type === 'histogram' || (base.type === 'summary' && suffix !== '_bucket'))) return base;
    }
    return undefined;
  };
  const lines = text.slice(0, -1).split('\n');
  for (const [k, raw] of lines.entries()) {
    const line = k + 1;
    if (raw.trim() === '') continue;
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw);
      if (m === null) continue; // a comment
      const [, kind, name = '', rest = ''] = m;
      if (!METRIC.test(name)) throw new Error(`line ${String(line)}: bad metric name "${name}"`);
      let f = families.get(name);
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`line ${String(line)}: bad type "${rest}"`);
        if (f !== undefined && f.type !== 'untyped') throw new Error(`line ${String(line)}: TYPE of ${name} twice`);
        if (sampled.has(name)) throw new Error(`line ${String(line)}: TYPE of ${name} after its samples`);
        if (f === undefined) families.set(name, (f = { name, type: rest as Family['type'], help: null, samples: [] }));
        else f.type = rest as Family['type'];
      } else {
        if (f?.help !== null && f?.help !== undefined) throw new Error(`line ${String(line)}: HELP of ${name} twice`);
        if (f === undefined) families.set(name, (f = { name, type: 'untyped', help: rest, samples: [] }));
        else f.help = rest;
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(.*)$/.exec(raw);
    if (m === null) throw new Error(`line ${String(line)}: not a sample: "${raw}"`);
    const name = m[1] ?? '';
    let rest = m[2] ?? '';
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest.slice(1), line));
    const parts = rest.trim().split(' ');
    if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2) throw new Error(`line ${String(line)}: expected " VALUE [TIMESTAMP]" after ${name}`);
    const value = parseValue(parts[0] ?? '', line);
    const f = familyOf(name);
    if (f === undefined) throw new Error(`line ${String(line)}: sample of ${name} without a TYPE`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(key)) throw new Error(`line ${String(line)}: series ${key} twice`);
    series.add(key);
    sampled.add(f.name);
    f.samples.push({ name, labels, value });
  }
  for (const f of families.values()) {
    if (f.type !== 'histogram') continue;
    const groups = new Map<string, Sample[]>();
    for (const s of f.samples) {
      const { le, ...rest } = s.labels;
      const g = JSON.stringify(Object.entries(rest).sort());
      groups.set(g, [...(groups.get(g) ?? []), { ...s, labels: le === undefined ? s.labels : { ...s.labels, le } }]);
    }
    for (const [g, ss] of groups) {
      const buckets = ss.filter((s) => s.name === `${f.name}_bucket`);
      const count = ss.find((s) => s.name === `${f.name}_count`);
      if (ss.find((s) => s.name === `${f.name}_sum`) === undefined || count === undefined) throw new Error(`${f.name}${g}: no _sum or _count`);
      let lastLe = -Infinity;
      let lastV = 0;
      for (const b of buckets) {
        const le = parseValue(b.labels['le'] ?? '', 0);
        if (!(le > lastLe)) throw new Error(`${f.name}${g}: buckets not in increasing le`);
        if (b.value < lastV) throw new Error(`${f.name}${g}: buckets not cumulative`);
        lastLe = le;
        lastV = b.value;
      }
      if (lastLe !== Infinity || lastV !== count.value) throw new Error(`${f.name}${g}: no +Inf bucket equal to _count`);
    }
  }
  return families;
}

/** The value of one series, by its labels (a subset is enough when it names one series). */
export function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const base = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
  const hits = (base?.samples ?? []).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} names ${String(hits.length)} series`);
  return hits[0]?.value;
}
