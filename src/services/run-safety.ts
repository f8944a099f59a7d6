import { createConnection } from 'node:net';
import { readPackageFiles, readStaleProcesses, restartArgv, staleProcessesArgv, unitActiveArgv } from '../executor/host-processes.js';
import { packageManager } from '../executor/registry.js';
import type { CommandOptions, PackageManagerModule } from '../executor/types.js';
import { isKernel } from '../policy/reboot.js';
import type { Gate, Hook } from '../policy/safety-schema.js';
import type { RunStep } from '../storage/index.js';
import { allowedCommand, allowedHttp, loadHookAllowList, type HookAllowList, type HookPlace } from './hook-allow.js';
import type { CommandResult, RunTransport } from './run-types.js';

/**
 * The steps of safe patching (issue #15): hooks, health gates, restarts of services still using
 * replaced files, the reboot those facts call for, and rollback. Each is one journaled step
 * (run-execute.ts); each may be run again after a killed process (a hook or gate is run again, a
 * restart finds nothing left to restart, a rollback finds the host already at its old versions).
 */
export interface StepOutcome {
  ok: boolean;
  result: CommandResult;
  /** What the step learned for the host's later steps (stored with it). */
  facts?: Record<string, unknown>;
}

const done = (ok: boolean, stdout: string, code: number | null = ok ? 0 : 1, stderr = ''): StepOutcome => ({ ok, result: { code, stdout, stderr } });

const allowList = (t: RunTransport): HookAllowList => t.hookAllowList?.() ?? loadHookAllowList();

async function placeOf(t: RunTransport, s: RunStep): Promise<HookPlace> {
  return { host: s.targetName, address: (await t.address?.(s.targetId)) ?? s.targetName };
}

/** An allow-listed command on the host, under coreutils `timeout` (exit 124 when it ran out). */
async function runCommand(t: RunTransport, s: RunStep, name: string): Promise<StepOutcome> {
  const c = allowedCommand(allowList(t), name, await placeOf(t, s));
  const r = await t.exec(s.targetId, ['timeout', '-k', '10', String(c.timeoutSeconds), ...c.argv]);
  const head = `command ${name}: ${c.argv.join(' ')}\n`;
  if (r.code === 124 || r.code === 137) return { ok: false, result: { ...r, stdout: `${head}timed out after ${String(c.timeoutSeconds)} s\n${r.stdout}` } };
  return { ok: r.code === 0, result: { ...r, stdout: `${head}exit ${String(r.code)}\n${r.stdout}` } };
}

/** An allow-listed HTTP call from Bulwark: 2xx passes. Redirects are not followed (a 3xx fails). */
async function runHttp(t: RunTransport, s: RunStep, name: string): Promise<StepOutcome> {
  const h = allowedHttp(allowList(t), name, await placeOf(t, s));
  const head = `http ${name}: ${h.method} ${h.url}\n`;
  try {
    const res = await fetch(h.url, {
      method: h.method,
      headers: h.headers,
      ...(h.body !== undefined ? { body: h.body } : {}),
      redirect: 'manual',
      signal: AbortSignal.timeout(h.timeoutSeconds * 1000),
    });
    const body = h.method === 'HEAD' ? '' : (await res.text()).slice(0, 2000);
    const ok = res.status >= 200 && res.status < 300;
    return done(ok, `${head}HTTP ${String(res.status)}\n${body}`, res.status);
  } catch (err) {
    const e = err as Error;
    return done(false, `${head}${e.name === 'TimeoutError' ? `timed out after ${String(h.timeoutSeconds)} s` : e.message}`, null);
  }
}

export async function runHook(t: RunTransport, s: RunStep): Promise<StepOutcome> {
  const hook = s.spec['hook'] as Hook;
  const phase = typeof s.spec['phase'] === 'string' ? s.spec['phase'] : 'pre';
  const r = 'command' in hook ? await runCommand(t, s, hook.command) : await runHttp(t, s, hook.http);
  return { ...r, result: { ...r.result, stdout: `${phase} hook\n${r.result.stdout}` } };
}

function tcpOpen(host: string, port: number, ms: number): Promise<string | null> {
  return new Promise((resolve) => {
    const sock = createConnection({ host, port, timeout: ms });
    sock.once('connect', () => {
      sock.destroy();
      resolve(null);
    });
    sock.once('timeout', () => {
      sock.destroy();
      resolve(`no answer within ${String(ms)} ms`);
    });
    sock.once('error', (err) => {
      sock.destroy();
      resolve(err.message);
    });
  });
}

async function checkGate(t: RunTransport, s: RunStep, gate: Gate): Promise<StepOutcome> {
  if ('systemd' in gate) {
    const r = await t.exec(s.targetId, unitActiveArgv(gate.systemd));
    return { ok: r.code === 0, result: { ...r, stdout: `systemd unit ${gate.systemd}: ${r.stdout.trim() || `exit ${String(r.code)}`}\n` } };
  }
  if ('tcp' in gate) {
    const { address } = await placeOf(t, s);
    const why = await tcpOpen(address, gate.tcp, 5000);
    return done(why === null, `tcp ${address}:${String(gate.tcp)}: ${why ?? 'open'}\n`);
  }
  if ('http' in gate) return runHttp(t, s, gate.http);
  return runCommand(t, s, gate.command);
}

/** A health gate: checked until it passes or its `withinSeconds` are over (every 2 s). */
export async function runGate(t: RunTransport, s: RunStep): Promise<StepOutcome> {
  const gate = s.spec['gate'] as Gate;
  const until = Date.now() + gate.withinSeconds * 1000;
  let tries = 0;
  for (;;) {
    tries++;
    const r = await checkGate(t, s, gate);
    if (r.ok || Date.now() >= until)
      return {
        ...r,
        result: { ...r.result, stdout: `gate ${r.ok ? 'passed' : 'failed'} (${String(tries)} ${tries === 1 ? 'check' : 'checks'})\n${r.result.stdout}` },
      };
    await new Promise((res) => setTimeout(res, Math.min(2000, Math.max(0, until - Date.now()))));
  }
}

const factsOf = (host: readonly RunStep[], kind: RunStep['kind']): Record<string, unknown> | null => host.find((x) => x.kind === kind)?.facts ?? null;

/** Runs each command and joins their outputs (tdnf asks one package a command; apt-cache exits 100 for an unknown name, the others' versions still listed). */
export async function outputs(t: RunTransport, targetId: string, argvs: readonly (readonly string[])[]): Promise<string> {
  const out: string[] = [];
  for (const argv of argvs) out.push((await t.exec(targetId, argv)).stdout);
  return out.join('\n');
}

/** The installed versions of `names`, as the host's own manager reads them (the update step's check too). */
async function installedOn(
  t: RunTransport,
  targetId: string,
  m: PackageManagerModule,
  names: readonly string[],
  o: CommandOptions,
): Promise<Map<string, string[]>> {
  return m.readInstalled(await outputs(t, targetId, m.installedArgvs(names, o)));
}

/** The transaction ids of the manager's history a run may undo, ascending (tdnf's baseline and rpm database syncs left out). */
async function historyIds(t: RunTransport, targetId: string, m: PackageManagerModule, o: CommandOptions): Promise<number[] | null> {
  if (m.history === undefined) return null;
  const r = await t.exec(targetId, m.history.listArgv(o));
  if (r.code !== 0) throw new Error(`reading the ${m.displayName} history failed (exit ${String(r.code)}): ${`${r.stdout}\n${r.stderr}`.trim()}`);
  return m.history
    .readList(r.stdout)
    .filter((e) => e.undoable !== false)
    .map((e) => e.id);
}

/**
 * The precheck's record for a rollback: the installed versions of the planned packages and the
 * newest transaction of the manager's history (null: it has none to undo), before anything changed.
 */
export async function recordBefore(
  t: RunTransport,
  s: RunStep,
  m: PackageManagerModule,
  names: readonly string[],
  o: CommandOptions,
): Promise<Record<string, unknown>> {
  const installed = await installedOn(t, s.targetId, m, names, o);
  const init = m.history?.initArgv?.(o);
  if (init !== undefined) {
    const r = await t.exec(s.targetId, init);
    if (r.code !== 0) throw new Error(`making the ${m.displayName} history failed (exit ${String(r.code)}): ${`${r.stdout}\n${r.stderr}`.trim()}`);
  }
  const ids = await historyIds(t, s.targetId, m, o);
  return { before: Object.fromEntries(installed), historyLast: ids === null ? null : (ids.at(-1) ?? 0) };
}

const sameVersions = (a: Record<string, string[]>, b: Map<string, string[]>, names: readonly string[]): string[] =>
  names.filter((n) => [...(a[n] ?? [])].sort().join(' ') !== [...(b.get(n) ?? [])].sort().join(' '));

/**
 * Undoes the host's update: the manager's history transactions made since the precheck, newest
 * first (dnf, tdnf), or the previous versions installed exactly (apt, dnf5); then checks every planned
 * package is back at its version from before, and re-scans the host.
 */
export async function runRollback(t: RunTransport, s: RunStep, host: readonly RunStep[], o: CommandOptions): Promise<StepOutcome> {
  const pre = factsOf(host, 'precheck');
  if (pre === null || typeof pre['before'] !== 'object') return done(false, 'no record of the versions before the update: nothing to roll back to\n');
  const before = pre['before'] as Record<string, string[]>;
  const historyLast = typeof pre['historyLast'] === 'number' ? pre['historyLast'] : null;
  const names = (s.spec['packages'] ?? []) as string[];
  const m = packageManager(await t.packageManager(s.targetId));
  const current = (): Promise<Map<string, string[]>> => installedOn(t, s.targetId, m, names, o);
  let out = '';
  const differ = sameVersions(before, await current(), names);
  if (differ.length === 0) out += 'every package is at its version from before the update: nothing to undo\n';
  else if (historyLast !== null && m.history !== undefined) {
    const ids = ((await historyIds(t, s.targetId, m, o)) ?? []).filter((id) => id > historyLast);
    if (ids.length === 0) return done(false, `${differ.join(', ')} changed, but the ${m.id} history has no transaction after ${String(historyLast)} to undo\n`);
    for (const id of ids.sort((a, b) => b - a)) {
      const r = await t.exec(s.targetId, m.history.undoArgv(id, o));
      out += `${m.id} history undo ${String(id)}: exit ${String(r.code)}\n${r.stdout}`;
      if (r.code !== 0) return { ok: false, result: { ...r, stdout: out } };
    }
  } else {
    const versions = differ.flatMap((n) => (before[n] ?? []).map((version) => ({ name: n, version })));
    if (versions.length === 0)
      return done(
        false,
        `${differ.join(', ')} were not installed before the update; ${m.displayName} has no history Bulwark can undo their installation with\n`,
      );
    const r = await t.exec(s.targetId, m.restoreArgv(versions, o));
    out += `installing the previous versions exactly: exit ${String(r.code)}\n${r.stdout}`;
    if (r.code !== 0) return { ok: false, result: { ...r, stdout: out } };
  }
  const after = await current();
  const still = sameVersions(before, after, names);
  if (still.length > 0)
    return done(
      false,
      `${out}after the rollback: ${still.map((n) => `${n} is at ${(after.get(n) ?? ['nothing']).join(', ')}, not ${(before[n] ?? ['not installed']).join(', ')}`).join('; ')}\n`,
    );
  out += `verified: ${names.map((n) => `${n} ${(before[n] ?? ['not installed']).join(', ')}`).join('; ')}\n`;
  const scan = await t.rescan(s.targetId);
  return { ok: scan.code === 0, result: { code: scan.code, stdout: `${out}re-scan: ${scan.stdout}`, stderr: scan.stderr } };
}

/**
 * Finds the processes that still map files of the updated packages (replaced by the update) and
 * restarts exactly the systemd services they run in; a process outside a service is named, not
 * touched. The host needs a reboot when pid 1 is among them or a kernel was updated.
 */
export async function runRestart(t: RunTransport, s: RunStep, o: CommandOptions): Promise<StepOutcome> {
  const names = (s.spec['packages'] ?? []) as string[];
  const m = packageManager(await t.packageManager(s.targetId));
  const files = readPackageFiles((await t.exec(s.targetId, m.packageFilesArgv(names, o))).stdout);
  const scan = await t.exec(s.targetId, staleProcessesArgv());
  if (scan.code !== 0) return { ok: false, result: { ...scan, stdout: `finding processes that map replaced files failed\n${scan.stdout}` } };
  const stale = readStaleProcesses(scan.stdout)
    .map((p) => ({ ...p, files: p.files.filter((f) => files.has(f)) }))
    .filter((p) => p.files.length > 0);
  const units = [...new Set(stale.flatMap((p) => (p.unit !== null && p.pid !== 1 ? [p.unit] : [])))].sort();
  const outside = stale.filter((p) => p.unit === null && p.pid !== 1);
  const kernel = names.filter((n) => isKernel(n));
  const rebootRequired = stale.some((p) => p.pid === 1) || kernel.length > 0;
  let out = stale.map((p) => `pid ${String(p.pid)} (${p.comm}${p.unit !== null ? `, ${p.unit}` : ''}) maps ${p.files.join(', ')}\n`).join('');
  if (outside.length > 0) out += `not in a service (not restarted): ${outside.map((p) => `${String(p.pid)} ${p.comm}`).join(', ')}\n`;
  if (rebootRequired)
    out += `reboot required: ${[...(stale.some((p) => p.pid === 1) ? ['pid 1 maps replaced files'] : []), ...kernel.map((k) => `${k} updated`)].join(', ')}\n`;
  const facts = { restarted: units, rebootRequired, outside: outside.map((p) => p.pid) };
  if (units.length === 0) return { ok: true, result: { code: 0, stdout: `${out}no service to restart\n`, stderr: '' }, facts };
  const r = await t.exec(s.targetId, restartArgv(units));
  return { ok: r.code === 0, result: { ...r, stdout: `${out}restarted: ${units.join(' ')} (exit ${String(r.code)})\n${r.stdout}` }, facts };
}

/** A reboot decided by the restart step's facts (`when: required`): made only when they call for one. */
export function rebootNeeded(host: readonly RunStep[]): { needed: boolean; why: string } {
  const f = factsOf(host, 'restart');
  if (f === null) return { needed: false, why: 'no reboot: nothing found that needs one' };
  return f['rebootRequired'] === true
    ? { needed: true, why: 'reboot required by the restart check' }
    : { needed: false, why: 'no reboot: no kernel was updated and pid 1 maps no replaced file' };
}
