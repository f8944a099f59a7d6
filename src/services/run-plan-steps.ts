import type { Plan, PlanEntry } from '../policy/plan.js';
import type { NewStep } from '../storage/index.js';

/**
 * A plan entry's steps on its host, in order (issue #5, and issue #15 for safe patching):
 * precheck; the policy's pre hooks and snapshot hook; the update; the restart of services still
 * using replaced files (`restart: services`); the reboot (planned, or decided by the restart's
 * facts with `reboot: when-required`); the health gates; the post hooks; the re-scan; and, with
 * `rollback: on-failure`, a rollback step that runs only when a step after the update's start
 * failed (and is skipped otherwise).
 */
export function stepsOfEntry(plan: Plan, e: PlanEntry, o: { ignoreWindows?: boolean }): NewStep[] {
  const steps: NewStep[] = [];
  const packages = e.packages.map((p) => ({ name: p.name, version: p.to, ...(p.pin !== undefined ? { pin: p.pin } : {}) }));
  const base = { ringIndex: e.ringIndex, targetId: e.targetId, targetName: e.target };
  // A policy patching from a content view names the repository hosts know it by.
  const repo = plan.source?.repoId ?? null;
  // The host's maintenance window: it starts no earlier, and not at all once the window has
  // ended (it is planned again for the next one). Emergency work has none.
  const window =
    e.emergency || e.window === null || o.ignoreWindows === true ? {} : { start: e.start, ...(e.windowEnd !== null ? { windowEnd: e.windowEnd } : {}) };
  const exclude = plan.exclude !== undefined && plan.exclude.length > 0 ? { exclude: plan.exclude } : {};
  const source = { ...(repo !== null ? { repo } : {}), ...exclude };
  const safety = plan.safety;
  const rollback = safety?.rollback === 'on-failure';
  // With a rollback, the precheck records what the host has before the update (the step's facts).
  steps.push({ ...base, kind: 'precheck', spec: { packages, ...source, ...window, ...(rollback ? { record: true } : {}) } });
  for (const hook of safety?.hooks.pre ?? []) steps.push({ ...base, kind: 'hook', spec: { phase: 'pre', hook } });
  if (safety?.hooks.snapshot !== undefined) steps.push({ ...base, kind: 'hook', spec: { phase: 'snapshot', hook: safety.hooks.snapshot } });
  steps.push({ ...base, kind: 'update', spec: { packages, ...source } });
  if (safety?.restart === 'services') steps.push({ ...base, kind: 'restart', spec: { packages: packages.map((p) => p.name) } });
  if (e.reboot) steps.push({ ...base, kind: 'reboot', spec: {} });
  else if (safety?.restart === 'services' && safety.reboot === 'when-required') steps.push({ ...base, kind: 'reboot', spec: { when: 'required' } });
  for (const gate of safety?.gates ?? []) steps.push({ ...base, kind: 'gate', spec: { gate } });
  for (const hook of safety?.hooks.post ?? []) steps.push({ ...base, kind: 'hook', spec: { phase: 'post', hook } });
  steps.push({ ...base, kind: 'rescan', spec: {} });
  if (rollback) steps.push({ ...base, kind: 'rollback', spec: { packages: packages.map((p) => p.name), ...source } });
  return steps;
}
