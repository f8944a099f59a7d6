/**
 * The shapes of API answers the console reads. The OpenAPI document describes paths, parameters
 * and request bodies (api-types.ts, generated); it has no response schemas yet, so these are
 * written here, each next to the route that answers it.
 */
export type Counts = Record<'critical' | 'high' | 'medium' | 'low' | 'none' | 'unknown', number>;
export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}
/** GET /api/v1/overview */
export interface Overview {
  hosts: { total: number; byRelease: Record<string, number>; endOfSupport: string[]; staleInventory: number; neverInventoried: number };
  open: { bySeverity: Counts; byRelease: Record<string, Counts>; total: number };
  fixed: number;
  withdrawn: number;
  exposureOverTime: { day: string; open: number; bySeverity: Counts }[];
  sla: { policy: string; plannedHosts: number; breaches: number; hostsInBreach: number; worstOverdueHours: number | null }[];
}
/** GET /api/v1/hosts */
export interface Host {
  name: string;
  release: string | null;
  inventoryAt: string | null;
  tags: string[];
  address: string | null;
  runningKernel: string | null;
  kind: 'host' | 'image';
  platform: string | null;
  image: string | null;
  /** The running kernel's live patches as its last inventory said; null: not collected. */
  livePatches?: { tool: string; name: string; state: string; active: boolean; package: string | null; cves: string[] }[] | null;
}
/** GET /api/v1/findings */
export interface Finding {
  targetName: string;
  advisorySource: string;
  advisoryId: string;
  package: string;
  installed: string;
  fixed: string | null;
  severity: string;
  status: string;
  /** Why the verdict differs from the feed's literal reading (a live patch mitigating it), or an accepted risk's reason; null: none. */
  reason: string | null;
  firstSeen: string;
  cves: string[];
  /** An accepted finding's acceptance: who, when, until when (null: no expiry). */
  acceptedBy?: string | null;
  acceptedAt?: string | null;
  acceptedUntil?: string | null;
}
/** GET /api/v1/findings/groups */
export interface FindingGroup {
  key: string;
  advisory?: { source: string; id: string; title: string; cves: string[] };
  advisories?: string[];
  severity: string;
  hosts: number;
  findings: number;
  firstSeen: string;
  binaries: { name: string; hosts: string[]; hostCount: number; installed: string[]; fixed: string[] }[];
}
/** GET /api/v1/policies/{name}/timeline */
export interface PlannedPackage {
  name: string;
  from: string;
  to: string;
  advisories: string[];
  emergency: boolean;
}
export interface TimelineEntry {
  target: string;
  ring: string;
  ringIndex: number;
  start: string;
  after?: { ring: string; soakHours: number; unfinished?: true };
  predictedBreach?: 'start' | 'finish';
  windowEnd: string | null;
  window: string | null;
  deadline: string;
  reasons: string[];
  emergency: boolean;
  approval: 'approved' | 'pending';
  awaitingApproval: string[];
  packages: PlannedPackage[];
  held: { advisory: string; reason: string; until: string }[];
  excluded: { package: string; why: string }[];
  reboot: boolean;
  rest?: { window: string | null; start: string; windowEnd: string | null; packages: number; deadline: string };
}
export interface Timeline {
  policy: string;
  generatedAt: string;
  timezone: string;
  windows: { name: string; days: string[]; start: string; durationHours: number; timezone: string }[];
  cycle: { previous: string | null; next: string };
  entries: TimelineEntry[];
  breaches: { target: string; advisory: string; package: string; deadline: string; overdueHours: number }[];
  warnings?: { kind: string; ring: string; targets: string[]; message: string }[];
  idle: { target: string; why: string }[];
}
/** GET /api/v1/policies/{name}/run-preview */
export interface RunPreview {
  policy: string;
  policyVersion: number;
  timezone: string;
  hosts: { target: string; ring: string; start: string; window: string | null; emergency: boolean; reboot: boolean; packages: PlannedPackage[] }[];
  left: { target: string; why: string }[];
  warnings: string[];
  soakHours: number;
  maxConcurrency: number;
  failureThreshold: number;
}
export interface Decision {
  policy: string;
  advisoryId: string;
  kind: 'approve' | 'hold';
  reason: string;
  until: string | null;
  actor: string;
  createdAt: string;
}
export interface Run {
  pk: number;
  policy: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  note: string | null;
}
export interface RunStep {
  targetName: string;
  ringIndex: number;
  kind: string;
  state: string;
  attempts: number;
  exitCode: number | null;
  finishedAt: string | null;
  output: string | null;
  error?: string | null;
}
