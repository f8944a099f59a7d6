import { BulwarkError } from '../core/errors.js';
import type { AgentReport } from '../inventory/agent-report.js';
import type { Line } from './agent-report-lines.js';
import type { Db } from './store.js';

/**
 * The server's memory of agents' last reports (issue #14; what it is for: agent-report-delta.ts),
 * per open database, within a budget of bytes: DEFAULT_MEMORY_BYTES (enough for 10,000 hosts of
 * ~600 packages, the fleet SQLite is sized for, at ~10.5 KB each), or what `bulwark serve` is
 * given in BULWARK_AGENT_MEMORY_MB (the configuration file's agents.memory_mb).
 */
export const DEFAULT_MEMORY_BYTES = 128 * 1024 * 1024;

export interface ReportState {
  sha256: string;
  heldDigest: string;
  /** The report without its package lines. */
  header: string;
  /** What the report said beside its packages (the same header says the same). */
  report: Omit<AgentReport, 'packages'>;
  /**
   * The package lines in the report's order: the build each is (its text is the Line's), or null
   * for a line that is none (a blank one), whose text is in `others` by index (textAt).
   */
  entries: (Line | null)[];
  others: Map<number, string>;
  digest: string[];
  count: number;
}

/**
 * A report stored whole, kept as it came until the host's next report needs it (then read into a
 * ReportState): a fleet larger than the memory holds reporting in turn forgets each host before
 * its next report, and reading every line again for nothing cost a quarter of such a report.
 */
export interface PendingState {
  pending: true;
  sha256: string;
  text: string;
  report: Omit<AgentReport, 'packages'>;
  /** How many packages the whole report stored. */
  packages: number;
  digest: readonly string[];
  /** The text holds a character past Latin-1 (V8 keeps it at two bytes a character). */
  wide: boolean;
}

/**
 * What a remembered host costs, in bytes, roughly: a reference a line (to what it parsed to,
 * shared), the texts of lines that are no package, and the rest of the state (its digest's 64
 * entries, its header); a report not read since it was stored
 * whole, its text (one byte a character, as V8 keeps Latin-1 text; others count double).
 */
export function costOf(s: ReportState | PendingState): number {
  return 'pending' in s ? s.text.length * (s.wide ? 2 : 1) + 2048 : 8 * s.entries.length + 64 * s.others.size + 5632;
}

/** The hosts remembered of one database, the least recently reporting first, within a budget of bytes. */
class Memory {
  private readonly hosts = new Map<string, { state: ReportState | PendingState; cost: number }>();
  private used = 0;
  constructor(public budget: number) {}
  get(id: string): ReportState | PendingState | undefined {
    return this.hosts.get(id)?.state;
  }
  delete(id: string): void {
    const e = this.hosts.get(id);
    if (e === undefined) return;
    this.hosts.delete(id);
    this.used -= e.cost;
  }
  /** Remembers a host as the most recent, forgetting the least recent past the budget (one larger than the budget is not kept). */
  set(id: string, state: ReportState | PendingState): void {
    this.delete(id);
    const cost = costOf(state);
    if (cost > this.budget) return;
    this.hosts.set(id, { state, cost });
    this.used += cost;
    for (const [k, e] of this.hosts) {
      if (this.used <= this.budget) break;
      this.hosts.delete(k);
      this.used -= e.cost;
    }
  }
  ids(): string[] {
    return [...this.hosts.keys()];
  }
  /** How many hosts, the bytes they are counted at, and the budget. */
  get usage(): { hosts: number; bytes: number; budget: number } {
    return { hosts: this.hosts.size, bytes: this.used, budget: this.budget };
  }
}

const remembered = new WeakMap<Db, Memory>();
export const memoryOf = (db: Db): Memory => {
  let m = remembered.get(db);
  if (m === undefined) remembered.set(db, (m = new Memory(DEFAULT_MEMORY_BYTES)));
  return m;
};

/**
 * Sets how much memory the reports remembered of a database's hosts may take (bytes; 0: none is
 * remembered, each report is taken from the store); those past it are forgotten at once, the
 * least recently reporting first. `bulwark serve` sets it from BULWARK_AGENT_MEMORY_MB.
 */
export function rememberAgentReports(db: Db, bytes: number): void {
  const m = memoryOf(db);
  m.budget = bytes;
  // Forgets past the new budget: each host set again in its order (the most recent last).
  const all: [string, ReportState | PendingState][] = [];
  for (const id of rememberedHosts(db)) all.push([id, m.get(id) as ReportState | PendingState]);
  for (const [id, s] of all) m.set(id, s);
}

/** The variable that sets the budget for `bulwark serve` (the configuration file's agents.memory_mb). */
export const AGENT_MEMORY_VARIABLE = 'BULWARK_AGENT_MEMORY_MB';

/** The budget BULWARK_AGENT_MEMORY_MB sets, in bytes (DEFAULT_MEMORY_BYTES unset); a value that is not 0 to 65536 is a configuration error. */
export function agentMemoryFromEnv(env: NodeJS.ProcessEnv): number {
  const v = env[AGENT_MEMORY_VARIABLE];
  if (v === undefined || v === '') return DEFAULT_MEMORY_BYTES;
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65_536)
    throw new BulwarkError('config.invalid', `${AGENT_MEMORY_VARIABLE} must be a whole number of megabytes (0 to 65536), not "${v}"`, {
      variable: AGENT_MEMORY_VARIABLE,
    });
  return Number(v) * 1024 * 1024;
}

/** The hosts remembered of a database, the least recently reporting first (tests). */
export function rememberedHosts(db: Db): string[] {
  return memoryOf(db).ids();
}

/** How many hosts are remembered, the bytes they are counted at (costOf), and the budget. */
export function rememberedUsage(db: Db): { hosts: number; bytes: number; budget: number } {
  return memoryOf(db).usage;
}
