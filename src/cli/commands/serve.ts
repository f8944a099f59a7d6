import { findWebRoot } from '../../api/app.js';
import type { HookAllowList } from '../../policy/hook-allow-schema.js';
import { HOOKS_FILE_VARIABLE } from '../../services/hook-allow.js';
import { publicUrlOf, startServer } from '../../api/server.js';
import { feedAllowForApi, feedAllowFromEnv } from '../../lib/feed-allow.js';
import { createLogger } from '../../lib/logger.js';
import { agentServerKey } from '../../services/agents.js';
import { agentMemoryFromEnv, rememberAgentReports } from '../../services/agent-report-memory.js';
import { defaultObjectsDir } from '../../services/repos.js';
import { runDemo } from '../../services/demo.js';
import { defaultKnownHosts, listHosts, sshKeyDir } from '../../services/hosts.js';
import { runTransport } from '../../services/run-transport.js';
import { listUsers } from '../../services/sessions.js';
import { schedulerTick } from '../../services/scheduler.js';
import { loadNotifyFile, startNotifier } from '../../services/notify.js';
import { SCHEDULER } from '../../services/audit.js';
import { checkpointerForStore, openStore } from '../../services/store.js';
import { readPoolForStore } from '../../services/read-pool.js';
import { createToken, listTokens, revokeToken, type Role } from '../../services/tokens.js';
import { VERSION } from '../../version.js';
import { actorOf, writeAll, type CliIo } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { describe, enumOption, intOption, listOption, numberOption, pathOption } from '../options.js';
import { envFlag } from '../../config/settings-list.js';

interface Common {
  io: CliIo;
  dbPath: string | undefined;
}

/**
 * `bulwark serve`: the HTTP API (and, unless --no-scheduler, the scheduler) in one process.
 * On a store with no usable admin token it creates one and prints it once; with --demo it loads
 * the demo fleet into an empty store first.
 */
export async function serveCommand(
  o: Common & {
    listen: string;
    tlsCert: string | undefined;
    tlsKey: string | undefined;
    knownHostsFile: string | undefined;
    demo: boolean;
    scheduler: boolean;
    intervalSeconds: number;
    leaseSeconds: number;
    trustProxy: string[];
    reposNeedToken?: boolean;
    /** A YAML file whose `notify:` key holds the notification rules (issue #18 item 4). */
    notifyFile?: string | undefined;
    /** The configuration file's `hooks:` section (used when BULWARK_HOOKS_FILE is not set). */
    hooks?: HookAllowList | undefined;
    signal?: AbortSignal;
  },
): Promise<ExitCode> {
  const m = /^(.*):(\d{1,5})$/.exec(o.listen);
  if (m === null) {
    await writeAll(o.io.stderr, `bulwark: --listen: "${o.listen}" is not HOST:PORT\n`);
    return EXIT.usage;
  }
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) {
    await writeAll(o.io.stderr, 'bulwark: --tls-cert and --tls-key go together\n');
    return EXIT.usage;
  }
  // A bad BULWARK_FEED_ALLOW(_API) is a configuration error at start (exit 3), not at the first sync.
  feedAllowFromEnv(o.io.env);
  feedAllowForApi(o.io.env);
  // Bad notification rules are a configuration error at start (exit 3), with their line.
  const notifyRules = o.notifyFile === undefined ? null : loadNotifyFile(o.notifyFile);
  const agentMemory = agentMemoryFromEnv(o.io.env);
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  // Agents' last reports, kept so that their next is stored as its difference (issue #14).
  rememberAgentReports(db, agentMemory);
  const log = createLogger();
  const knownHostsFile = o.knownHostsFile ?? defaultKnownHosts(o.io.env);
  const identityDir = sshKeyDir(o.io.env, { server: true });
  // The findings pages are read in worker threads on SQLite: one heavy page never holds the others.
  const reads = readPoolForStore(db, { dbPath: o.dbPath, env: o.io.env });
  // WAL checkpoints in a worker thread on SQLite: no request waits for one (issue #14).
  const checkpoints = checkpointerForStore(db, {
    dbPath: o.dbPath,
    env: o.io.env,
    onError: (m) => {
      log.error('checkpoint', { error: m });
    },
  });
  try {
    if (o.demo && (await listHosts(db)).length === 0) await runDemo(db);
    const server = await startServer(db, {
      host: (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''),
      port: Number(m[2]),
      tls: o.tlsCert !== undefined && o.tlsKey !== undefined ? { cert: o.tlsCert, key: o.tlsKey } : undefined,
      trustProxy: o.trustProxy,
      publicUrl: publicUrlOf(o.io.env['BULWARK_PUBLIC_URL']),
      reposNeedToken: o.reposNeedToken === true,
      knownHostsFile,
      sshKeyDir: identityDir,
      transport: (d) => runTransport(d, { knownHostsFile, acceptNewHostKey: false, identityDir, hooksFile: o.io.env[HOOKS_FILE_VARIABLE], hooks: o.hooks }),
      runLeaseMs: o.leaseSeconds * 1000,
      version: VERSION,
      agentServerKey: agentServerKey(o.io.env),
      objectsDir: defaultObjectsDir(o.dbPath, o.io.env),
      webRoot: findWebRoot(),
      log: log.error,
      requestLog: log.info,
    });
    // A first admin token only when nobody can act as an admin: no usable admin token and no
    // enabled admin user (an admin who logs in with a password needs none, and a new token
    // printed at every start would end up in the service's journal).
    const now = Date.now();
    const usableAdmin = (await listTokens(db)).some(
      (t) => t.role === 'admin' && t.revokedAt === null && (t.expiresAt === null || Date.parse(t.expiresAt) > now),
    );
    const adminUser = (await listUsers(db)).some((u) => u.role === 'admin' && u.disabledAt === null);
    const fresh = !usableAdmin && !adminUser;
    const lines = [
      `Bulwark ${VERSION} serving on ${server.url}`,
      `  dashboard: ${server.url}/`,
      `  API:       ${server.url}/api/v1 (OpenAPI: ${server.url}/api/v1/openapi.json)`,
    ];
    if (fresh) {
      const first = await createToken(db, { name: 'first-admin', role: 'admin', expiresInDays: 30, actor: actorOf(o.io) });
      lines.push(`  first admin token (shown once, expires in 30 days; make your own with \`bulwark tokens create\`):`, `  ${first.token}`);
    }
    // Signals are handled before the banner tells anyone the server is there.
    let stop: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const onSignal = (): void => {
      stop();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    o.signal?.addEventListener('abort', onSignal);
    await writeAll(o.io.stdout, lines.join('\n') + '\n');
    log.info('serving', { url: server.url, scheduler: o.scheduler });

    let timer: NodeJS.Timeout | undefined;
    if (o.scheduler) {
      const transport = runTransport(db, { knownHostsFile, acceptNewHostKey: false, identityDir, hooksFile: o.io.env[HOOKS_FILE_VARIABLE], hooks: o.hooks });
      const skipped = new Map<string, string>();
      const tick = async (): Promise<void> => {
        try {
          for (const t of await schedulerTick(db, transport, {
            actor: SCHEDULER,
            detach: true,
            leaseTtlMs: Math.max(o.leaseSeconds, 3 * o.intervalSeconds) * 1000,
            runLeaseTtlMs: o.leaseSeconds * 1000,
          })) {
            if (t.started !== null) log.info('run started', { policy: t.policy, run: t.started.run, hosts: t.started.hosts.length });
            // Targets no run reaches (imported, no address) are skipped: said once, and again when the list changes.
            const left = (t.unreachable ?? []).join(', ');
            if (left !== '' && skipped.get(t.policy) !== left)
              log.info('targets skipped: no address to reach them by', { policy: t.policy, targets: t.unreachable });
            skipped.set(t.policy, left);
          }
        } catch (err) {
          log.error('scheduler pass failed', { err: (err as Error).message });
        }
        timer = setTimeout(() => void tick(), o.intervalSeconds * 1000);
      };
      timer = setTimeout(() => void tick(), 1000);
    }
    const notifier = notifyRules === null ? null : startNotifier(db, notifyRules, { env: o.io.env, log: log.info });
    await stopped;
    clearTimeout(timer);
    await notifier?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await server.close();
    return EXIT.ok;
  } finally {
    await checkpoints?.close();
    await reads?.close();
    await db.close();
  }
}

export async function tokensCreateCommand(o: Common & { name: string; role: Role; expiresInDays: number | null; json: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const t = await createToken(db, { name: o.name, role: o.role, expiresInDays: o.expiresInDays, actor: actorOf(o.io) });
    await writeAll(o.io.stdout, o.json ? JSON.stringify(t, null, 2) + '\n' : `${t.token}\n`);
    if (!o.json)
      await writeAll(
        o.io.stderr,
        `token ${t.info.id} (${t.info.role}${t.info.expiresAt === null ? ', never expires' : `, expires ${t.info.expiresAt}`}): shown once, store it now\n`,
      );
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

export async function tokensListCommand(o: Common & { json: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const list = await listTokens(db);
    if (o.json) await writeAll(o.io.stdout, JSON.stringify(list, null, 2) + '\n');
    else
      await writeAll(
        o.io.stdout,
        formatTable(
          ['ID', 'NAME', 'ROLE', 'CREATED', 'BY', 'EXPIRES', 'REVOKED', 'LAST USED'],
          list.map((t) => [t.id, t.name, t.role, t.createdAt, t.createdBy, t.expiresAt ?? 'never', t.revokedAt ?? '-', t.lastUsedAt ?? 'never']),
        ),
      );
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

export async function tokensRevokeCommand(o: Common & { id: string }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    await revokeToken(db, o.id, actorOf(o.io));
    await writeAll(o.io.stdout, `token ${o.id} revoked\n`);
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark serve` and `bulwark tokens create | list | revoke`. */
export function register(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  describe(
    program.command('serve'),
    'the HTTP API and the scheduler in one process; prints its address (and a first admin token when there is none)',
    'bulwark serve --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem',
    'bulwark --db /tmp/demo.db serve --demo',
  )
    .option('--listen <host:port>', 'where to listen (default: server.listen of the configuration, else 127.0.0.1:8080)')
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM)')
    .option('--tls-key <file>', "the certificate's private key (PEM)")
    .option('--known-hosts <file>', 'known_hosts file (default: beside the default database)')
    .option('--demo', 'load the demo fleet into an empty store first')
    .option('--no-scheduler', 'serve the API only')
    .addOption(numberOption('--interval <seconds>', 'seconds between scheduler passes (default: 60)', { min: 1, unit: 'seconds' }))
    .addOption(listOption('--trust-proxy <address>', 'a load balancer whose X-Forwarded-For is believed (repeatable)'))
    .addOption(pathOption('--notify <file>', 'send notifications by the rules under the `notify:` key of this YAML file (see README "Notifications")'))
    .option('--repos-need-token', 'content-view repositories under /repos need a token (Bearer, or the Basic password) instead of being public')
    .addOption(
      intOption('--lease-seconds <n>', "how long a dead server's runs stay leased before another server takes them over (default: 15)", { min: 1, max: 3600 }),
    )
    .action(
      async (
        o: {
          listen?: string;
          tlsCert?: string;
          tlsKey?: string;
          knownHosts?: string;
          demo?: boolean;
          scheduler: boolean;
          interval?: number;
          leaseSeconds?: number;
          trustProxy: string[];
          reposNeedToken?: boolean;
          notify?: string;
        },
        cmd: Command,
      ) => {
        // An option given wins over the configuration (file or BULWARK_… variable), which wins over the default.
        const env = io.env;
        const flag = (name: string): boolean => cmd.getOptionValueSource(name) === 'cli';
        const fromEnv = (name: string): string | undefined => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
        ctx.exit = await serveCommand({
          io,
          dbPath: ctx.dbPath(),
          hooks: ctx.config?.config.hooks,
          listen: o.listen ?? fromEnv('BULWARK_LISTEN') ?? '127.0.0.1:8080',
          tlsCert: o.tlsCert ?? fromEnv('BULWARK_TLS_CERT'),
          tlsKey: o.tlsKey ?? fromEnv('BULWARK_TLS_KEY'),
          knownHostsFile: o.knownHosts ?? fromEnv('BULWARK_KNOWN_HOSTS'),
          demo: o.demo === true,
          scheduler: flag('scheduler') ? o.scheduler : (envFlag(env, 'BULWARK_SCHEDULER') ?? true),
          intervalSeconds: o.interval ?? Number(fromEnv('BULWARK_INTERVAL_SECONDS') ?? 60),
          leaseSeconds: o.leaseSeconds ?? Number(fromEnv('BULWARK_LEASE_SECONDS') ?? 15),
          trustProxy:
            o.trustProxy.length > 0
              ? o.trustProxy
              : (fromEnv('BULWARK_TRUST_PROXY')
                  ?.split(/[\s,]+/)
                  .filter((x) => x !== '') ?? []),
          reposNeedToken: o.reposNeedToken === true || envFlag(env, 'BULWARK_REPOS_NEED_TOKEN') === true,
          // --notify FILE, else the configuration file's own `notify:` section.
          notifyFile: o.notify ?? (ctx.config?.config.notify !== undefined ? (ctx.config.file ?? undefined) : undefined),
        });
      },
    );

  const tokens = describe(
    program.command('tokens'),
    'API tokens: viewer, operator or admin; stored hashed, shown once',
    'bulwark tokens create --name ci-pipeline --role viewer',
    'bulwark tokens list',
  );
  describe(tokens.command('create'), 'create a token and print it (once)', 'bulwark tokens create --name ci-pipeline --role viewer --expires-days 30')
    .requiredOption('--name <name>', 'what the token is for, e.g. ci-pipeline')
    .addOption(enumOption('--role <role>', 'what it may do', ['viewer', 'operator', 'admin'], { mandatory: true }))
    .addOption(intOption('--expires-days <n>', 'days until it expires (0: never)', { min: 0, max: 3650, default: 90 }))
    .option('--json', 'print JSON')
    .action(async (o: { name: string; role: 'viewer' | 'operator' | 'admin'; expiresDays: number; json?: boolean }) => {
      ctx.exit = await tokensCreateCommand({
        io,
        dbPath: ctx.dbPath(),
        name: o.name,
        role: o.role,
        expiresInDays: o.expiresDays === 0 ? null : o.expiresDays,
        json: o.json === true,
      });
    });
  describe(tokens.command('list'), 'list tokens: id, name, role, expiry, last use', 'bulwark tokens list --json')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      ctx.exit = await tokensListCommand({ io, dbPath: ctx.dbPath(), json: o.json === true });
    });
  describe(tokens.command('revoke'), 'revoke a token at once', 'bulwark tokens revoke 0123456789ab')
    .argument('<id>', 'the token id (the 12 hex digits after bwk_)')
    .action(async (id: string) => {
      ctx.exit = await tokensRevokeCommand({ io, dbPath: ctx.dbPath(), id });
    });
}
