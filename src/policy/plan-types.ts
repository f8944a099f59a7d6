import type { Severity } from '../core/advisory.js';
import type { FindingStatus } from '../core/finding.js';
import type { Gate, Hook } from './safety-schema.js';
import type { Policy } from './schema.js';

/**
 * What assemblePlan (plan.ts) takes and returns: the plan as data. Its parts each live in their
 * own module: version selection (select-version.ts), deadlines (deadlines.ts), approval
 * (approval.ts), rings (rings.ts), ring and window placement (schedule.ts), warnings
 * (warnings.ts), reboots (reboot.ts).
 */
export interface PlanTarget {
  id: string;
  name: string;
  release: string | null;
  tags: readonly string[];
  rebootRequired: boolean | null;
  /**
   * false: Bulwark has no way to reach the target (an imported inventory, no address nor agent),
   * so no run can patch it; the plan leaves it out and warns. Absent: reachable.
   */
  reachable?: boolean;
  /**
   * false: the way Bulwark reaches the target cannot undo an update (an agent host: the pull
   * agent runs no history undo nor downgrade), so under `rollback: on-failure` the plan leaves it
   * out and warns rather than patch a host it could not roll back. Absent: it can.
   */
  rollbackable?: boolean;
}

export interface PlanFinding {
  targetId: string;
  advisorySource: string;
  advisoryId: string;
  package: string;
  installed: string;
  fixed: string | null;
  severity: Severity;
  /** CVSS v3 base score. */
  cvssScore: number | null;
  /** CVSS v4.0 base score (never in `cvssScore`'s place); absent when not known. */
  cvssV4Score?: number | null;
  cves: readonly string[];
  publishedAt: string | null;
  firstSeen: string;
  /** Only `open` findings are planned; closed ones (`fixed`, `withdrawn`) never are. */
  status: FindingStatus;
}

/** Exploitation signals per CVE, for the out-of-band rules that name them (src/policy/signal-rules.ts). */
export interface PlanSignals {
  kev: ReadonlyMap<string, { dueDate: string; ransomware: boolean }>;
  epss: ReadonlyMap<string, number>;
  synced: { kev: boolean; epss: boolean };
}

export interface PlanInput {
  policy: Policy;
  targets: readonly PlanTarget[];
  findings: readonly PlanFinding[];
  now: Date;
  /** CVE ids known to be exploited (e.g. CISA KEV), for `knownExploited` rules; default: the keys of `signals.kev`. */
  knownExploited?: ReadonlySet<string>;
  /**
   * Exploitation signals (issue #16): KEV entries (due date, ransomware use) and EPSS scores per
   * CVE, and whether each feed was ever synced: a rule naming one never synced matches nothing,
   * and the plan says so in a warning.
   */
  signals?: PlanSignals;
  /** Advisories an operator approved under this policy (`bulwark approve`). */
  approved?: ReadonlySet<string>;
  /** Holds an operator placed (`bulwark hold`), besides the policy file's own. */
  holds?: readonly { advisory: string; reason: string; until: string }[];
  /**
   * With a `source` in the policy: package name → the builds (`E:V-R`, or Debian versions) its
   * content view's environment publishes. Targets are chosen among them.
   */
  available?: ReadonlyMap<string, readonly AvailableBuild[]>;
  /**
   * Where each ring of this policy's runs stands (ring index → when its last step ended, and
   * whether a run not over still has steps of it to do): ring k waits the soak after ring k-1
   * ended even when ring k-1 has nothing left to do in this plan (its hosts were patched by an
   * earlier run), so the soak holds across scheduler passes; a ring k-1 still being patched (or
   * halted) ends no earlier than now.
   */
  ringHistory?: ReadonlyMap<number, RingHistory>;
}

/** What this policy's runs did in one ring: when its last step ended, and whether steps are still to do. */
export interface RingHistory {
  ended: string | null;
  open: boolean;
}

/**
 * A build a content view publishes: its version, or — for a Debian binary whose version is not
 * its source's — the version and the source version fixes are compared with (as matching does).
 */
export type AvailableBuild = string | { build: string; source: string };

export interface PlannedPackage {
  name: string;
  from: string;
  to: string;
  advisories: string[];
  /** A finding of this package falls under an emergency out-of-band rule: it may go outside windows. */
  emergency: boolean;
  /** The policy's version pin for it (a glob on `V-R`), which a run's choice of build keeps to. */
  pin?: string;
}

export interface PlanEntry {
  targetId: string;
  target: string;
  ring: string;
  ringIndex: number;
  /**
   * When the host may start: its ring's turn, then its window (emergency rules: at once, or after
   * the emergency run's shortened soak). With `after`, the earliest: the previous ring's end is
   * taken as its start (how long a ring takes is not known ahead); the run waits for its real end.
   */
  start: string;
  /**
   * The ring whose end (plus `soakHours`) this entry waits for, when it waits for one;
   * `unfinished`: that ring is still being patched, paused or halted in a run not over, so this
   * entry is not due (whatever its start says) until that ring ends or the run is cancelled.
   */
  after?: { ring: string; soakHours: number; unfinished?: true };
  /**
   * A predicted breach of a deadline still ahead: the entry starts after it (`start`), or its
   * window lets hosts begin after it (`finish`). Deadlines already passed are in `breaches`.
   */
  predictedBreach?: 'start' | 'finish';
  windowEnd: string | null;
  window: string | null;
  /** The earliest deadline among the findings it fixes. */
  deadline: string;
  /** For an emergency entry with packages no emergency rule covers: the earliest deadline among theirs (issue #17). */
  restDeadline?: string;
  /** Why it is planned: `monthly` and/or out-of-band rule names. */
  reasons: string[];
  emergency: boolean;
  approval: 'approved' | 'pending';
  /** The advisories an operator still has to approve before this entry may run. */
  awaitingApproval: string[];
  packages: PlannedPackage[];
  held: { advisory: string; reason: string; until: string }[];
  excluded: { package: string; why: string }[];
  reboot: boolean;
}

export interface PlanBreach {
  target: string;
  advisory: string;
  package: string;
  deadline: string;
  overdueHours: number;
  /**
   * When the finding was first seen: an out-of-band deadline counts from the advisory's
   * publication, so a host first scanned long after it is overdue from its first scan.
   */
  firstSeen: string;
  publishedAt: string | null;
  /** The target has no address Bulwark reaches it by (an imported inventory): no plan entry or run will fix it (issue #17). */
  unreachable?: true;
}

/**
 * Something in the plan an operator must see: predicted breaches of deadlines still ahead (a
 * ring starting, or its window ending, after them), and rings naming hosts that do not exist.
 */
export interface PlanWarning {
  kind: 'starts-after-deadline' | 'may-finish-after-deadline' | 'unknown-ring-host' | 'signal-never-synced' | 'unreachable-target' | 'not-rollbackable';
  ring: string;
  /**
   * The hosts concerned (for `unknown-ring-host`: the names no host has). `ring` is '' for
   * `unreachable-target` and `not-rollbackable` (in no ring).
   */
  targets: string[];
  message: string;
}

export interface Plan {
  policy: string;
  generatedAt: string;
  cycle: { previous: string | null; next: string };
  entries: PlanEntry[];
  breaches: PlanBreach[];
  /** Predicted breaches and ring mistakes (absent in plans stored before they were computed). */
  warnings?: PlanWarning[];
  /** Targets in scope with nothing to do, and why not when they have findings. */
  idle: { target: string; why: string }[];
  /** The content view the targets come from (the policy's `source`), if any. */
  source?: { view: string; environment: string; repoId: string | null };
  /** The policy's excluded package globs, which a run also keeps its package manager from touching (dependencies too). */
  exclude?: string[];
  /** The policy's hooks, health gates, rollback and restarts (issue #15), which a run makes steps of; absent when it has none. */
  safety?: PlanSafety;
}

/** What a run does around each host's update besides the update itself (policy/safety-schema.ts). */
export interface PlanSafety {
  hooks: { pre: Hook[]; snapshot?: Hook; post: Hook[] };
  gates: Gate[];
  rollback: 'never' | 'on-failure';
  restart: 'none' | 'services';
  /** The policy's `reboot`: with `when-required` and `restart: services`, a run reboots when the host's facts after the update call for it. */
  reboot: 'never' | 'when-required' | 'always';
}
