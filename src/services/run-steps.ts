import { packageManager } from '../executor/registry.js';
import { resolveTargets } from '../executor/resolve.js';
import type { CommandOptions, PackageManagerModule, Target } from '../executor/types.js';
import { versionScheme } from '../core/version/registry.js';
import type { RunStep } from '../storage/index.js';
import type { RunTransport } from './run-types.js';
import { outputs, rebootNeeded, recordBefore, runGate, runHook, runRestart, runRollback, type StepOutcome } from './run-safety.js';

/**
 * One journaled step of a patch run on one host (issue #5): precheck, update to the exact
 * planned versions, reboot, re-scan — each through the host's `RunTransport`. The executor
 * (run-execute.ts) journals a step around `runStep`; every step is idempotent, so one a killed
 * process began is simply run again.
 */
export type { CommandResult, RunTransport } from './run-types.js';

/**
 * The versions to install on this host (resolveTargets): what it has installed now and what its
 * repositories offer, read with its own package manager (apt-cache, dnf and dnf5 repoquery,
 * tdnf -j repoquery). A package already at or above its planned version is left out.
 */
async function resolveOnHost(
  t: RunTransport,
  targetId: string,
  pm: PackageManagerModule,
  packages: readonly Target[],
  options: CommandOptions,
  fromView: boolean,
): Promise<{ targets: Target[]; notes: string }> {
  const names = packages.map((p) => p.name);
  const available = pm.readAvailable(await outputs(t, targetId, pm.availableArgvs(names, options)));
  const installed = pm.readInstalled(await outputs(t, targetId, pm.installedArgvs(names, options)));
  const scheme = versionScheme(pm.scheme);
  const r = resolveTargets(packages, available, (a, b) => scheme.compare(a, b), { installed, basis: fromView ? 'build' : 'fix' });
  return { targets: r.targets, notes: [...r.current.map((c) => `already: ${c}\n`), ...r.changed.map((c) => `resolved: ${c}\n`)].join('') };
}

/**
 * After an update: a target the manager still lists at another version was not installed (tdnf
 * drops a build its --exclude covers without a word and exits 0). A package the query does not
 * list at all is left to the re-scan.
 */
async function verifyInstalled(
  t: RunTransport,
  targetId: string,
  pm: PackageManagerModule,
  targets: readonly Target[],
  options: CommandOptions,
): Promise<string[]> {
  const installed = pm.readInstalled(
    await outputs(
      t,
      targetId,
      pm.installedArgvs(
        targets.map((x) => x.name),
        options,
      ),
    ),
  );
  const scheme = versionScheme(pm.scheme);
  return targets
    .filter((x) => (installed.get(x.name) ?? []).length > 0 && !(installed.get(x.name) ?? []).some((v) => scheme.compare(v, x.version) === 0))
    .map((x) => `${x.name} ${x.version} (installed: ${(installed.get(x.name) ?? []).join(', ')})`);
}

/**
 * Runs one step. `host`: the host's steps in this run (a rollback reads what its precheck
 * recorded, a reboot what the restart step found).
 */
export async function runStep(t: RunTransport, s: RunStep, previousStart: string | null, host: readonly RunStep[] = []): Promise<StepOutcome> {
  const packages = (s.spec['packages'] ?? []) as Target[];
  const repo = typeof s.spec['repo'] === 'string' ? s.spec['repo'] : null;
  const exclude = Array.isArray(s.spec['exclude']) ? (s.spec['exclude'] as string[]) : [];
  const managerOf = async (): Promise<{ pm: PackageManagerModule; options: CommandOptions }> => {
    const pm = packageManager(await t.packageManager(s.targetId));
    const o = await t.managerOptions(s.targetId);
    const only = pm.sourceArgv(repo);
    const options = { ...(only.length === 0 ? o : { ...o, extra: [...(o.extra ?? []), ...only] }), ...(exclude.length > 0 ? { exclude } : {}) };
    return { pm, options };
  };
  switch (s.kind) {
    case 'precheck': {
      // The policy asks for a rollback on failure: a host that cannot be rolled back is not updated
      // at all (plans leave such hosts out; this holds for a plan made before the host changed transport).
      if (s.spec['record'] === true && t.rollsBack !== undefined && !(await t.rollsBack(s.targetId)))
        return {
          ok: false,
          result: {
            code: null,
            stdout: '',
            stderr: 'the policy says rollback: on-failure, and this host is reached through its agent, which cannot undo an update: not updated\n',
          },
        };
      const { pm, options } = await managerOf();
      // With a rollback, what the host has before anything changes (without the source's repository options).
      const facts =
        s.spec['record'] === true
          ? await recordBefore(
              t,
              s,
              pm,
              packages.map((p) => p.name),
              await t.managerOptions(s.targetId),
            )
          : undefined;
      const withFacts = (r: StepOutcome): StepOutcome => (facts === undefined ? r : { ...r, facts });
      const refresh = pm.refreshArgv(options);
      let refreshed = '';
      if (refresh !== null) {
        const u = await t.exec(s.targetId, refresh);
        if (u.code !== 0) return withFacts({ ok: false, result: { ...u, stdout: `refreshing the package lists failed\n${u.stdout}` } });
        refreshed = `${refresh.join(' ')}:\n${u.stdout}\n`;
      }
      const resolved = await resolveOnHost(t, s.targetId, pm, packages, options, repo !== null);
      if (resolved.targets.length === 0)
        return withFacts({
          ok: true,
          result: { code: 0, stdout: `every package is at or above its planned version\n${resolved.notes}${refreshed}`, stderr: '' },
        });
      const r = await t.exec(s.targetId, pm.precheckArgv(resolved.targets, options));
      const read = pm.readPrecheck(r, { targets: resolved.targets, exclude });
      return withFacts({ ok: read.ok, result: { ...r, stdout: `${read.message}\n${resolved.notes}${refreshed}${r.stdout}` } });
    }
    case 'update': {
      const { pm, options } = await managerOf();
      // The same resolution as the precheck's: the lists were refreshed there.
      const resolved = await resolveOnHost(t, s.targetId, pm, packages, options, repo !== null);
      if (resolved.targets.length === 0)
        return { ok: true, result: { code: 0, stdout: `nothing to update: every package is at or above its planned version\n${resolved.notes}`, stderr: '' } };
      const r = await t.exec(s.targetId, pm.updateArgv(resolved.targets, options));
      const read = pm.readUpdate(r);
      if (!read.ok) return { ok: false, result: { ...r, stdout: `${read.message}\n${resolved.notes}${r.stdout}` } };
      const short = await verifyInstalled(t, s.targetId, pm, resolved.targets, options);
      if (short.length > 0)
        return { ok: false, result: { ...r, stdout: `${pm.displayName} exited 0 but did not install: ${short.join('; ')}\n${resolved.notes}${r.stdout}` } };
      return { ok: true, result: { ...r, stdout: `${resolved.notes}${r.stdout}` } };
    }
    case 'reboot': {
      if (s.spec['when'] === 'required') {
        const need = rebootNeeded(host);
        if (!need.needed) return { ok: true, result: { code: 0, stdout: `${need.why}\n`, stderr: '' } };
      }
      const r = await t.reboot(s.targetId, previousStart === null ? undefined : { since: previousStart });
      return { ok: r.code === 0, result: r };
    }
    case 'rescan': {
      const r = await t.rescan(s.targetId);
      return { ok: r.code === 0, result: r };
    }
    case 'hook':
      return runHook(t, s);
    case 'gate':
      return runGate(t, s);
    case 'restart':
      return runRestart(t, s, await t.managerOptions(s.targetId));
    case 'rollback':
      // The host's own repositories (not only a view's): the builds the update replaced must be found.
      return runRollback(t, s, host, await t.managerOptions(s.targetId));
  }
}
