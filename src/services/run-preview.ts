import { soakFor } from '../policy/plan.js';
import { busyTargetRuns } from '../storage/index.js';
import { makePlan } from './policies.js';
import type { RunTransport } from './runs.js';
import type { Db } from './store.js';

/**
 * What `POST /api/v1/runs` (and `bulwark run --policy`) would do now, without doing it (issue #17):
 * the same plan, the same hosts left out (in another run, not approved, unreachable), and per host
 * the ring, the window it waits for, the packages and versions and whether it reboots. The console
 * shows it before an operator confirms a run.
 * @example await previewRun(db, 'azl3-prod', transport)
 */
export interface RunPreview {
  policy: string;
  policyVersion: number;
  timezone: string;
  hosts: {
    target: string;
    ring: string;
    ringIndex: number;
    /** When its steps may begin: at once for emergency work, else its window's start. */
    start: string;
    window: string | null;
    windowEnd: string | null;
    emergency: boolean;
    reboot: boolean;
    packages: { name: string; from: string; to: string; advisories: string[]; emergency: boolean }[];
  }[];
  /** Hosts the plan has but the run leaves out, and why. */
  left: { target: string; why: string }[];
  /** The plan's warnings (unreachable targets, unknown ring hosts, predicted breaches). */
  warnings: string[];
  soakHours: number;
  maxConcurrency: number;
  failureThreshold: number;
}

export async function previewRun(db: Db, name: string, transport: RunTransport, now: Date = new Date()): Promise<RunPreview> {
  const { plan, policy, policyVersion } = await makePlan(db, name, { at: now, reachable: transport.reaches?.bind(transport) });
  const busy = await busyTargetRuns(db);
  const left: RunPreview['left'] = [];
  const going = plan.entries.filter((e) => {
    const b = busy.get(e.targetId);
    if (b !== undefined) left.push({ target: e.target, why: `in run ${String(b.run)} (${b.status}), which is not over` });
    else if (e.approval !== 'approved') left.push({ target: e.target, why: `awaiting approval of ${e.awaitingApproval.join(', ')}` });
    return b === undefined && e.approval === 'approved';
  });
  return {
    policy: name,
    policyVersion,
    timezone: policy.cadence.timezone,
    hosts: going.map((e) => ({
      target: e.target,
      ring: e.ring,
      ringIndex: e.ringIndex,
      start: e.emergency ? now.toISOString() : e.start,
      window: e.window,
      windowEnd: e.windowEnd,
      emergency: e.emergency,
      reboot: e.reboot,
      packages: e.packages.map((p) => ({ name: p.name, from: p.from, to: p.to, advisories: p.advisories, emergency: p.emergency })),
    })),
    left,
    warnings: (plan.warnings ?? []).map((w) => w.message),
    soakHours: soakFor(going, policy.rollout.soakHours, now.getTime()),
    maxConcurrency: policy.rollout.maxConcurrency,
    failureThreshold: policy.rollout.failureThreshold,
  };
}
