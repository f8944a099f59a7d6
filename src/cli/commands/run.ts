import { BulwarkError } from '../../core/errors.js';
import type { HookAllowList } from '../../policy/hook-allow-schema.js';
import { HOOKS_FILE_VARIABLE } from '../../services/hook-allow.js';
import { defaultKnownHosts, sshKeyDir } from '../../services/hosts.js';
import { runTransport } from '../../services/run-transport.js';
import { executeRun, resumeRun, setRunState, showRun, type RunReport } from '../../services/runs.js';
import { runPolicyNow } from '../../services/scheduler.js';
import { openStore } from '../../services/store.js';
import { actorOf, writeAll, type CliIo } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { describe } from '../options.js';

function summary(r: RunReport): string {
  const by = (st: string): number => r.steps.filter((s) => s.state === st).length;
  return `run ${String(r.run.pk)} (${r.run.policy}): ${r.run.status}${r.run.note === null ? '' : ` — ${r.run.note}`}; steps done ${String(by('done'))}, failed ${String(by('failed'))}, skipped ${String(by('skipped'))}, pending ${String(by('pending') + by('started'))}${r.failedHosts.length > 0 ? `; failed hosts: ${r.failedHosts.join(', ')}` : ''}\n`;
}

/**
 * Why a step failed (or was skipped), on sight in `run show` (issue #17: only `--json` told):
 * the last lines of its output, without the stream markers, else its exit code.
 * @example stepReason({ output: '\n[stderr]\nno identity file', exitCode: null }) // 'no identity file'
 */
export function stepReason(s: { output: string | null; exitCode: number | null }): string {
  const lines = (s.output ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && l !== '[stderr]' && l !== '[stdout]');
  const tail = lines.slice(-3).join(' ⏎ ');
  const text = tail.length > 300 ? `…${tail.slice(-299)}` : tail;
  return text !== '' ? text : s.exitCode === null ? 'no output' : `exit ${String(s.exitCode)}`;
}

/**
 * `bulwark run --policy P`: plans now, then patches over SSH ring by ring;
 * `bulwark run resume|pause|cancel|show RUN`. Exit 4 when a host failed.
 */
export async function runCommand(o: {
  io: CliIo;
  dbPath: string | undefined;
  action: string | undefined;
  id: string | undefined;
  policy: string | undefined;
  knownHostsFile: string | undefined;
  json: boolean;
  ignoreWindows?: boolean;
  /** The configuration file's `hooks:` section (used when BULWARK_HOOKS_FILE is not set). */
  hooks?: HookAllowList | undefined;
}): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const actor = actorOf(o.io);
    const transport = (): ReturnType<typeof runTransport> =>
      runTransport(db, {
        knownHostsFile: o.knownHostsFile ?? defaultKnownHosts(o.io.env),
        acceptNewHostKey: false,
        identityDir: sshKeyDir(o.io.env),
        hooksFile: o.io.env[HOOKS_FILE_VARIABLE],
        hooks: o.hooks,
      });
    const id = (): number => {
      const n = Number(o.id);
      if (o.id === undefined || !Number.isInteger(n) || n < 1) throw new BulwarkError('usage', `run ${o.action ?? ''} needs a run number`);
      return n;
    };
    let report: RunReport;
    switch (o.action) {
      case undefined: {
        if (o.policy === undefined) throw new BulwarkError('usage', 'run needs --policy NAME (or: run resume|pause|cancel|show RUN)');
        const started = await runPolicyNow(db, o.policy, transport(), { actor, ignoreWindows: o.ignoreWindows === true });
        if (started.report === null) throw new BulwarkError('internal', 'the run did not report');
        report = started.report;
        break;
      }
      case 'resume': {
        await resumeRun(db, id(), actor);
        report = await executeRun(db, id(), transport());
        break;
      }
      case 'pause':
      case 'cancel': {
        const r = await setRunState(db, id(), o.action, actor);
        await writeAll(o.io.stdout, `run ${String(r.pk)}: ${r.status}\n`);
        return EXIT.ok;
      }
      case 'show': {
        const { run, steps } = await showRun(db, id());
        report = { run, steps, failedHosts: [...new Set(steps.filter((s) => s.state === 'failed').map((s) => s.targetName))] };
        if (!o.json)
          await writeAll(
            o.io.stdout,
            formatTable(
              ['HOST', 'RING', 'STEP', 'STATE', 'TRIES', 'EXIT', 'FINISHED', 'WHY'],
              steps.map((s) => [
                s.targetName,
                String(s.ringIndex),
                s.kind,
                s.state,
                String(s.attempts),
                s.exitCode === null ? '-' : String(s.exitCode),
                s.finishedAt ?? '-',
                s.state === 'failed' || s.state === 'skipped' ? stepReason(s) : '',
              ]),
            ),
          );
        break;
      }
      default:
        throw new BulwarkError('usage', `run: unknown action "${o.action}" (resume, pause, cancel, show)`);
    }
    await writeAll(o.io.stdout, o.json ? JSON.stringify(report, null, 2) + '\n' : summary(report));
    return report.failedHosts.length > 0 ? EXIT.targetsFailed : EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark run`. */
export function register(program: Command, ctx: CliContext): void {
  describe(
    program.command('run'),
    "apply a policy's plan over SSH, ring by ring (journaled: resumable after any crash); or resume, pause, cancel, show a run",
    'bulwark run --policy monthly',
    'bulwark run show 12',
    'bulwark run pause 12',
  )
    .argument('[action]', 'resume | pause | cancel | show')
    .argument('[run]', 'the run number')
    .option('--policy <name>', 'plan and run this policy now (each host in its maintenance window)')
    .option('--ignore-windows', 'with --policy: start every approved host now, whatever its window')
    .option('--known-hosts <file>', 'known_hosts file (default: beside the default database)')
    .option('--json', 'print JSON')
    .action(
      async (action: string | undefined, id: string | undefined, o: { policy?: string; knownHosts?: string; json?: boolean; ignoreWindows?: boolean }) => {
        ctx.exit = await runCommand({
          io: ctx.io,
          dbPath: ctx.dbPath(),
          hooks: ctx.config?.config.hooks,
          action,
          id,
          policy: o.policy,
          knownHostsFile: o.knownHosts,
          json: o.json === true,
          ignoreWindows: o.ignoreWindows === true,
        });
      },
    );
}
