import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/settings.js';
import { backup, restore } from '../../services/backup.js';
import { doctor } from '../../services/doctor.js';
import { defaultObjectsDir } from '../../services/repos.js';
import { applyInstallPlan, installPlan } from '../../services/service-unit.js';
import { storeLocation } from '../../services/store.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { writeAll } from '../io.js';
import { describe } from '../options.js';
import { formatTable } from '../table.js';

/** The installed `bulwark` entry point (bin/bulwark.js of this package), from src/ or dist/ alike. */
function binPath(): string {
  return realpathSync(join(import.meta.dirname, '..', '..', '..', 'bin', 'bulwark.js'));
}

/** The database path for defaults beside it (objects): --db, else sqlite: of BULWARK_DATABASE_URL. */
function sqlitePathOf(dbPath: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (dbPath !== undefined) return dbPath;
  const url = env['BULWARK_DATABASE_URL'];
  return url?.startsWith('sqlite:') === true ? url.slice('sqlite:'.length) : undefined;
}

/** `bulwark config check`, `bulwark doctor`, `bulwark install-service`, `bulwark backup`, `bulwark restore`. */
export function register(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const config = describe(
    program.command('config'),
    'the configuration file and its environment overrides',
    'bulwark --config /etc/bulwark/bulwark.yaml config check',
  );
  describe(
    config.command('check'),
    'validate the configuration (file and BULWARK_… variables); prints where each setting comes from',
    'bulwark --config ./bulwark.yaml config check',
    'BULWARK_LISTEN=0.0.0.0:8443 bulwark config check --json',
  )
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      // As main's hook read it (a bad file or variable already ended there with exit 3, file:line:col).
      const loaded = ctx.config ?? loadConfig({ file: program.opts<{ config?: string }>().config, env: io.env });
      const sources = loaded.sources.map((s) => ({ ...s, value: /DATABASE_URL|AGENT_KEY/.test(s.env) ? '[redacted]' : s.value }));
      if (o.json === true) await writeAll(io.stdout, JSON.stringify({ file: loaded.file, valid: true, settings: sources }, null, 2) + '\n');
      else
        await writeAll(
          io.stdout,
          `configuration ${loaded.file ?? '(no file)'}: valid\n` +
            (sources.length > 0
              ? formatTable(
                  ['VARIABLE', 'FROM', 'VALUE'],
                  sources.map((s) => [s.env, s.from, s.value]),
                )
              : ''),
        );
      ctx.exit = EXIT.ok;
    });

  describe(
    program.command('doctor'),
    'check the installation: tools, SSH identities, database reachable and migrated, feeds fresh, clock; each problem with its fix',
    'bulwark doctor',
    'bulwark --config /etc/bulwark/bulwark.yaml doctor --json',
  )
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const checks = await doctor({ location: storeLocation({ dbPath: ctx.dbPath(), env: io.env }), env: io.env });
      if (o.json === true) await writeAll(io.stdout, JSON.stringify(checks, null, 2) + '\n');
      else
        await writeAll(
          io.stdout,
          formatTable(
            ['AREA', 'CHECK', 'STATUS', 'DETAIL'],
            checks.map((c) => [c.area, c.name, c.status, c.detail]),
          ) +
            checks
              .filter((c) => c.fix !== null)
              .map((c) => `fix ${c.area}/${c.name}: ${c.fix ?? ''}\n`)
              .join(''),
        );
      // A failure (database unreachable, not migrated, clock off) is the configuration's (3); warnings leave 0.
      ctx.exit = checks.some((c) => c.status === 'fail') ? EXIT.config : EXIT.ok;
    });

  describe(
    program.command('install-service'),
    'install `bulwark serve` as a systemd service: a system user, /etc/bulwark/bulwark.yaml (kept if present), a hardened unit (run as root)',
    'sudo bulwark install-service --dry-run',
    'sudo bulwark install-service && sudo systemctl enable --now bulwark',
  )
    .option('--dry-run', 'print what it would do, do nothing')
    .option('--user <name>', 'the system user the service runs as', 'bulwark')
    .option('--unit-dir <dir>', 'where the unit goes', '/etc/systemd/system')
    .option('--config-dir <dir>', 'where the configuration file goes', '/etc/bulwark')
    .action(async (o: { dryRun?: boolean; user: string; unitDir: string; configDir: string }) => {
      const steps = installPlan({ execStart: `${process.execPath} ${binPath()}`, user: o.user, unitDir: o.unitDir, configDir: o.configDir });
      if (o.dryRun === true) {
        const lines = steps.map((s) =>
          s.kind === 'run'
            ? `run: ${s.argv.join(' ')}${s.unlessUser !== undefined ? ` (unless user ${s.unlessUser} exists)` : ''}`
            : `write ${s.path} (mode ${s.mode.toString(8)}${s.keepExisting ? ', kept if it exists' : ''}):\n${s.content.replace(/^/gm, '    ')}`,
        );
        await writeAll(io.stdout, lines.join('\n') + '\nthen: systemctl enable --now bulwark\n');
      } else {
        await writeAll(io.stdout, applyInstallPlan(steps).join('\n') + '\nnext: systemctl enable --now bulwark; bulwark doctor\n');
      }
      ctx.exit = EXIT.ok;
    });

  describe(
    program.command('backup'),
    'back up the database (online and consistent: SQLite backup API, or pg_dump) and the object store into a new directory',
    'bulwark backup --output /srv/backup/bulwark-$(date +%F)',
  )
    .requiredOption('--output <dir>', 'a new or empty directory')
    .action(async (o: { output: string }) => {
      const dbPath = ctx.dbPath();
      const m = await backup({
        location: storeLocation({ dbPath, env: io.env }),
        objectsDir: defaultObjectsDir(sqlitePathOf(dbPath, io.env), io.env),
        output: o.output,
      });
      await writeAll(
        io.stdout,
        `backup ${o.output}: ${m.dialect} database (${String(m.migrations.length)} migrations)` +
          `${m.objects === null ? ', no object store' : `, ${String(m.objects.files)} objects (${String(m.objects.bytes)} bytes)`}\n`,
      );
      ctx.exit = EXIT.ok;
    });

  describe(
    program.command('restore'),
    'restore a backup into a new installation (the database must not exist, the object store must be empty); migrates it if older',
    'bulwark --db /var/lib/bulwark/bulwark.db restore --input /srv/backup/bulwark-2026-12-06',
  )
    .requiredOption('--input <dir>', 'a directory `bulwark backup` wrote')
    .action(async (o: { input: string }) => {
      const dbPath = ctx.dbPath();
      const location = storeLocation({ dbPath, env: io.env });
      const m = await restore({ input: o.input, location, objectsDir: defaultObjectsDir(sqlitePathOf(dbPath, io.env), io.env) });
      await writeAll(io.stdout, `restored ${o.input} (made ${m.createdAt} by Bulwark ${m.bulwarkVersion})\n`);
      ctx.exit = EXIT.ok;
    });
}
