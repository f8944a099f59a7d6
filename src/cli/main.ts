import { Command, CommanderError, Option } from 'commander';
import { BulwarkError, isBulwarkError } from '../core/errors.js';
import { isPackageFamily } from '../core/version/registry.js';
import { runVercmp } from './commands/vercmp.js';
import { demoCommand } from './commands/demo.js';
import { parseSeverity, scanCommand } from './commands/scan.js';
import { findingsCommand } from './commands/findings.js';
import { auditCommand } from './commands/audit.js';
import { runCommand } from './commands/run.js';
import { agentsEnrollTokenCommand, agentsListCommand, agentsRevokeCommand } from './commands/agents.js';
import { repoAddCommand, repoListCommand, repoMirrorCommand, repoSnapshotsCommand, repoSyncCommand } from './commands/repo.js';
import { schedulerCommand } from './commands/scheduler.js';
import { viewDeviationsCommand, viewKeyCommand, viewListCommand, viewPromoteCommand, viewPublishCommand, viewRepoFileCommand } from './commands/view.js';
import { imageBuildCommand, imageImportCommand, imageListCommand, imageParityCommand, imageSbomCommand } from './commands/image.js';
import { usersDisableCommand, usersListCommand, usersSetCommand } from './commands/users.js';
import { serveCommand, tokensCreateCommand, tokensListCommand, tokensRevokeCommand } from './commands/serve.js';
import { decideCommand, decisionsCommand, planCommand, planDiffCommand, policyApplyCommand, policyListCommand, policySchemaCommand } from './commands/policy.js';
import { hostsAddCommand, hostsListCommand, hostsRemoveCommand, scanHostsCommand } from './commands/hosts.js';
import { defaultKnownHosts } from '../services/hosts.js';
import { storageErrorOf } from '../services/store.js';
import { advisoriesCommand, feedsAddCommand, feedsListCommand, feedsRemoveCommand, feedsSyncCommand } from './commands/feeds.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { processIo, type CliIo } from './io.js';
import { VERSION } from '../version.js';
import { FINDING_STATUSES, type FindingStatus } from '../core/finding.js';
import { RISK_SORTS, type RiskSort } from '../core/risk.js';

/**
 * The `bulwark` command. Returns the exit code instead of exiting, so tests can call it.
 *
 * @example await main(['vercmp', '--scheme', 'rpm'], io) // 0
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<ExitCode> {
  let code: ExitCode = EXIT.ok;
  const program = new Command('bulwark')
    .description('Patch and vulnerability lifecycle manager for Linux server fleets')
    .version(VERSION)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .option('--db <path>', 'SQLite database file (default: $XDG_DATA_HOME/bulwark/bulwark.db; BULWARK_DATABASE_URL selects PostgreSQL)');

  program
    .command('vercmp')
    .description('compare versions read as "A<TAB>B" lines on stdin; prints -1, 0 or 1 per line')
    .addOption(new Option('--scheme <scheme>', 'version scheme').choices(['rpm', 'deb']).makeOptionMandatory())
    .action(async (opts: { scheme: string }) => {
      if (!isPackageFamily(opts.scheme)) throw new Error('unreachable: commander validated choices');
      code = await runVercmp({ scheme: opts.scheme, stdin: io.stdin, stdout: io.stdout, stderr: io.stderr });
    });

  program
    .command('demo')
    .description('ingest a small sample feed and scan a sample inventory on the embedded SQLite database')
    .action(async () => {
      const dbPath = program.opts<{ db?: string }>().db;
      code = await demoCommand({ io, dbPath });
    });

  const dbPath = (): string | undefined => program.opts<{ db?: string }>().db;
  const feeds = program.command('feeds').description('advisory feed sources: the built-in catalog and your own');
  feeds
    .command('list')
    .description('list feed sources, where each reads from and its last sync')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      code = await feedsListCommand({ io, dbPath: dbPath(), json: o.json === true });
    });
  feeds
    .command('add')
    .description('add a source, or point a catalog source at a local file or mirror')
    .argument('<id>', 'source id, e.g. azurelinux-3.0-oval')
    .requiredOption('--location <path-or-url>', 'local file or http(s) URL (plain, gz, xz, bz2, zst; tar or zip archives of documents)')
    .option('--format <format>', 'feed format (oval, osv, csaf-vex, updateinfo, native; kev, epss for exploitation signals); defaults to the catalog entry\'s')
    .option('--release <release>', 'release the feed is about when its documents do not say, e.g. azurelinux:3.0')
    .option('--description <text>', 'a note for `feeds list`')
    .option('--stale-after-days <n>', 'the source is stale when its newest advisory (or last sync) is older than this (default 14; EPSS 2, KEV 7)', (v: string) => {
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < 1 || n > 3650) throw new BulwarkError('usage', `--stale-after-days: "${v}" is not a whole number of days from 1 to 3650`);
      return n;
    })
    .action(async (id: string, o: { location: string; format?: string; release?: string; description?: string; staleAfterDays?: number }) => {
      code = await feedsAddCommand({ io, dbPath: dbPath(), id, location: o.location, format: o.format, release: o.release, description: o.description, staleAfterDays: o.staleAfterDays });
    });
  feeds
    .command('remove')
    .description('remove a configured source (a catalog source goes back to its built-in location)')
    .argument('<id>')
    .action(async (id: string) => {
      code = await feedsRemoveCommand({ io, dbPath: dbPath(), id });
    });
  feeds
    .command('sync')
    .description('fetch and ingest feeds (all sources unless --source is given); unchanged feeds are skipped')
    .option('--source <id>', 'a source to sync (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--file <path>', 'read this local file as the --source (offline use)')
    .option('--force', 'parse and store even if the feed is unchanged (a feed of another distribution or release is refused all the same)')
    .option('--allow-withdraw', "store a feed that withdraws more than 20% of the source's advisories, or whose records were mostly skipped")
    .option('--json', 'print the reports as JSON')
    .option('--verbose', 'print up to 50 warnings per source')
    .action(async (o: { source: string[]; file?: string; force?: boolean; allowWithdraw?: boolean; json?: boolean; verbose?: boolean }) => {
      code = await feedsSyncCommand({ io, dbPath: dbPath(), sources: o.source, file: o.file, force: o.force === true, allowWithdraw: o.allowWithdraw === true, json: o.json === true, verbose: o.verbose === true });
    });

  const hosts = program.command('hosts').description('hosts Bulwark reaches over SSH (no agent on the host)');
  hosts
    .command('add')
    .argument('<name>', 'a unique name, e.g. web-01')
    .requiredOption('--address <user@host[:port]>', 'where to connect (user defaults to root, port to 22)')
    .option('--identity <file>', 'private key file (default: the SSH agent)')
    .option('--sudo', 'run package queries with sudo -n')
    .option('--tag <tag>', 'a tag (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .addOption(new Option('--package-manager <pm>', "the host's package manager for patch runs (default: its release's own)").choices(['dnf', 'tdnf', 'apt']))
    .action(async (name: string, o: { address: string; identity?: string; sudo?: boolean; tag: string[]; packageManager?: 'dnf' | 'tdnf' | 'apt' }) => {
      code = await hostsAddCommand({ io, dbPath: dbPath(), name, address: o.address, identityFile: o.identity, sudo: o.sudo === true, tags: o.tag, packageManager: o.packageManager });
    });
  hosts
    .command('list')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      code = await hostsListCommand({ io, dbPath: dbPath(), json: o.json === true });
    });
  hosts
    .command('remove')
    .argument('<name>')
    .action(async (name: string) => {
      code = await hostsRemoveCommand({ io, dbPath: dbPath(), name });
    });

  program
    .command('scan')
    .option('--host <name>', 'scan this host over SSH (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--all', 'scan every host over SSH')
    .option('--accept-new-host-key', 'trust and record the key of a host seen for the first time (never a changed key)')
    .option('--known-hosts <file>', 'known_hosts file (default: beside the default database)')
    .option('--concurrency <n>', 'hosts at once', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 1024) throw new BulwarkError('usage', `--concurrency: "${v}" is not a number from 1 to 1024`);
      return n;
    }, 16)
    .description('scan hosts over SSH (--host, --all), or an inventory (--inventory, --root): against feed files with --feed (no database), else against the advisory store')
    .option('--inventory <file>', 'rpm -qa / dpkg-query output, a manifest of .rpm names, or a CycloneDX/SPDX SBOM')
    .option('--root <dir>', "an image's unpacked root (its rpm database is read with rpm --root)")
    .option('--local', 'this machine')
    .option('--feed <file>', 'a feed file (OVAL, OSV, CSAF, updateinfo; compressed or archived); repeatable', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--release <release>', 'the release, e.g. azurelinux:3.0 (default: told by dist tags or the feed)')
    .option('--name <name>', 'the target name when storing (default: the file or directory name)')
    .option('--oval-strict', 'evaluate OVAL literally, as oscap oval eval does (no corrections)')
    .option('--kernel <uname-r>', 'the running kernel: only its build of an installonly kernel is judged (and uname tests with --oval-strict)')
    .addOption(new Option('--format <format>', 'output').choices(['table', 'json']).default('table'))
    .option('--fail-on <severity>', 'exit 1 when a finding is this severe or worse', parseSeverity)
    .action(async (o: { host: string[]; all?: boolean; acceptNewHostKey?: boolean; knownHosts?: string; concurrency: number; inventory?: string; root?: string; local?: boolean; feed: string[]; release?: string; name?: string; ovalStrict?: boolean; kernel?: string; format: 'table' | 'json'; failOn?: ReturnType<typeof parseSeverity> }) => {
      if (o.host.length > 0 || o.all === true) {
        if (o.inventory !== undefined || o.root !== undefined || o.local === true || o.feed.length > 0) throw new BulwarkError('usage', '--host/--all scan over SSH into the store; they do not mix with --inventory, --root or --feed');
        code = await scanHostsCommand({ io, dbPath: dbPath(), hosts: o.all === true ? 'all' : o.host, knownHostsFile: o.knownHosts ?? defaultKnownHosts(io.env), acceptNewHostKey: o.acceptNewHostKey === true, concurrency: o.concurrency, format: o.format, failOn: o.failOn });
        return;
      }
      code = await scanCommand({ io, dbPath: dbPath(), inventory: o.inventory, root: o.root, local: o.local === true, feeds: o.feed, release: o.release, name: o.name, ovalStrict: o.ovalStrict === true, kernel: o.kernel, format: o.format, failOn: o.failOn });
    });

  for (const [cmd, desc, formats, def] of [
    ['findings', 'list stored findings (open and without a fix unless --status says otherwise)', ['table', 'json', 'csv'], 'table'],
    ['report', 'a findings report: terminal table, JSON, CSV, CycloneDX VEX or a self-contained HTML page', ['table', 'json', 'csv', 'cyclonedx-vex', 'html'], 'table'],
  ] as const) {
    program
      .command(cmd)
      .description(desc)
      .option('--host <name>', 'only this host or image (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
      .option('--severity <severity>', 'only findings this severe or worse', parseSeverity)
      .option('--cve <id>', 'only findings of advisories naming this CVE')
      .option('--status <status>', 'open, no-fix, fixed, accepted, withdrawn (repeatable; default open and no-fix)', (v: string, acc: string[]) => {
        if (!(FINDING_STATUSES as readonly string[]).includes(v)) throw new BulwarkError('usage', `--status: "${v}" is not one of ${FINDING_STATUSES.join(', ')}`);
        return [...acc, v];
      }, [] as string[])
      .addOption(new Option('--sort <order>', 'risk (KEV-listed first, ransomware use before the rest, then 100 x (0.6 x EPSS + 0.4 x CVSS/10), a KEV CVE counting as EPSS 1), epss, kev (earliest due date first), or severity').choices([...RISK_SORTS]).default('severity'))
      .option('--kev', 'only findings of CVEs CISA lists as known exploited')
      .option('--epss-above <p>', 'only findings of CVEs whose EPSS probability is above p (0 to 1)', (v: string) => {
        const n = Number(v);
        if (v.trim() === '' || !(n >= 0 && n <= 1)) throw new BulwarkError('usage', `--epss-above: "${v}" is not a probability from 0 to 1`);
        return n;
      })
      .addOption(new Option('--format <format>', 'output').choices([...formats]).default(def))
      .option('--output <file>', 'write to this file instead of standard output')
      .option('--fail-on <severity>', 'exit 1 when an open finding is this severe or worse', parseSeverity)
      .action(async (o: { host: string[]; severity?: ReturnType<typeof parseSeverity>; cve?: string; status: string[]; sort: RiskSort; kev?: boolean; epssAbove?: number; format: 'table' | 'json' | 'csv' | 'cyclonedx-vex' | 'html'; output?: string; failOn?: ReturnType<typeof parseSeverity> }) => {
        code = await findingsCommand({
          io,
          dbPath: dbPath(),
          query: { hosts: o.host, minSeverity: o.severity, cve: o.cve, ...(o.status.length > 0 ? { status: o.status as FindingStatus[] } : {}), sort: o.sort, kev: o.kev === true, epssAbove: o.epssAbove },
          format: o.format,
          output: o.output,
          failOn: o.failOn,
        });
      });
  }

  const policy = program.command('policy').description('patch policies (YAML), versioned in the store');
  policy
    .command('apply')
    .requiredOption('-f, --file <file>', 'the policy YAML')
    .action(async (o: { file: string }) => {
      code = await policyApplyCommand({ io, dbPath: dbPath(), file: o.file });
    });
  policy.command('list').action(async () => {
    code = await policyListCommand({ io, dbPath: dbPath() });
  });
  policy
    .command('schema')
    .description('print the JSON Schema of policy files, for editors')
    .action(async () => {
      code = await policySchemaCommand({ io });
    });
  program
    .command('plan')
    .description('the plan a policy makes from the current findings (per host the exact packages and versions, ring, window, deadline, reboot); `plan diff` shows what changed since the last stored plan')
    .argument('[diff]', '"diff": compare with the last stored plan')
    .option('--policy <name>', 'the policy')
    .option('--at <time>', 'assemble the plan as of this ISO 8601 time (not stored)', (v: string) => {
      const d = new Date(v);
      if (Number.isNaN(d.getTime())) throw new BulwarkError('usage', `--at: "${v}" is not an ISO 8601 time`);
      return d;
    })
    .addOption(new Option('--format <format>', 'output').choices(['table', 'json']).default('table'))
    .action(async (what: string | undefined, o: { policy?: string; at?: Date; format: 'table' | 'json' }) => {
      if (o.policy === undefined) throw new BulwarkError('usage', 'plan needs --policy NAME');
      if (what !== undefined && what !== 'diff') throw new BulwarkError('usage', `plan: unknown "${what}" (plan [diff] --policy NAME)`);
      code = what === 'diff' ? await planDiffCommand({ io, dbPath: dbPath(), policy: o.policy, format: o.format }) : await planCommand({ io, dbPath: dbPath(), policy: o.policy, at: o.at, format: o.format });
    });

  const isoTime = (flag: string) => (v: string): string => {
    const d = new Date(v);
    if (Number.isNaN(d.getTime())) throw new BulwarkError('usage', `${flag}: "${v}" is not an ISO 8601 date or time`);
    return /^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T23:59:59.000Z` : d.toISOString();
  };
  for (const [kind, description] of [
    ['approve', 'approve advisories under a policy: plan entries waiting for approval (manual rules, monthly work before auto-approval) may run'],
    ['hold', 'hold an advisory under a policy, with a reason, until a time (default 30 days): its updates stay out of plans'],
    ['unhold', 'lift the hold on an advisory'],
    ['unapprove', 'withdraw the approval of an advisory'],
  ] as const) {
    program
      .command(kind)
      .description(description)
      .argument('<advisory...>', 'advisory ids, e.g. AZL-2026-1234')
      .requiredOption('--policy <name>', 'the policy')
      .option('--reason <text>', kind === 'hold' ? 'why (required)' : 'why')
      .option('--until <time>', 'ISO 8601 date or time the decision expires', isoTime('--until'))
      .action(async (advisories: string[], o: { policy: string; reason?: string; until?: string }) => {
        if (kind === 'hold' && o.reason === undefined) throw new BulwarkError('usage', 'hold needs --reason');
        code = await decideCommand({ io, dbPath: dbPath(), kind, policy: o.policy, advisories, reason: o.reason, until: o.until });
      });
  }
  program
    .command('decisions')
    .description('approvals and holds in force (with --history: all of them, lifted and expired too)')
    .option('--policy <name>', 'only this policy')
    .option('--history', 'include lifted and expired decisions')
    .option('--json', 'print JSON')
    .action(async (o: { policy?: string; history?: boolean; json?: boolean }) => {
      code = await decisionsCommand({ io, dbPath: dbPath(), policy: o.policy, history: o.history === true, json: o.json === true });
    });

  program
    .command('run')
    .description('apply a policy\'s plan over SSH, ring by ring (journaled: resumable after any crash); or resume, pause, cancel, show a run')
    .argument('[action]', 'resume | pause | cancel | show')
    .argument('[run]', 'the run number')
    .option('--policy <name>', 'plan and run this policy now (each host in its maintenance window)')
    .option('--ignore-windows', 'with --policy: start every approved host now, whatever its window')
    .option('--known-hosts <file>', 'known_hosts file (default: beside the default database)')
    .option('--json', 'print JSON')
    .action(async (action: string | undefined, id: string | undefined, o: { policy?: string; knownHosts?: string; json?: boolean; ignoreWindows?: boolean }) => {
      code = await runCommand({ io, dbPath: dbPath(), action, id, policy: o.policy, knownHostsFile: o.knownHosts, json: o.json === true, ignoreWindows: o.ignoreWindows === true });
    });

  program
    .command('scheduler')
    .description('run what policies say is due: emergency out-of-band updates at once, the rest in their windows')
    .option('--interval <seconds>', 'seconds between passes', (v: string) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 1) throw new BulwarkError('usage', `--interval: "${v}" is not a number of seconds`);
      return n;
    }, 60)
    .option('--sync', 'sync the configured feed sources before each pass')
    .option('--once', 'one pass, then exit')
    .option('--known-hosts <file>', 'known_hosts file (default: beside the default database)')
    .action(async (o: { interval: number; sync?: boolean; once?: boolean; knownHosts?: string }) => {
      code = await schedulerCommand({ io, dbPath: dbPath(), intervalSeconds: o.interval, sync: o.sync === true, once: o.once === true, knownHostsFile: o.knownHosts });
    });

  program
    .command('serve')
    .description('the HTTP API and the scheduler in one process; prints its address (and a first admin token when there is none)')
    .option('--listen <host:port>', 'where to listen', '127.0.0.1:8080')
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM)')
    .option('--tls-key <file>', "the certificate's private key (PEM)")
    .option('--known-hosts <file>', 'known_hosts file (default: beside the default database)')
    .option('--demo', 'load the demo fleet into an empty store first')
    .option('--no-scheduler', 'serve the API only')
    .option('--interval <seconds>', 'seconds between scheduler passes', (v: string) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 1) throw new BulwarkError('usage', `--interval: "${v}" is not a number of seconds`);
      return n;
    }, 60)
    .option('--trust-proxy <address>', 'a load balancer whose X-Forwarded-For is believed (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--repos-need-token', 'content-view repositories under /repos need a token (Bearer, or the Basic password) instead of being public')
    .option('--lease-seconds <n>', 'how long a dead server\'s runs stay leased before another server takes them over', (v: string) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 1 || n > 3600) throw new BulwarkError('usage', `--lease-seconds: "${v}" is not 1 to 3600`);
      return n;
    }, 15)
    .action(async (o: { listen: string; tlsCert?: string; tlsKey?: string; knownHosts?: string; demo?: boolean; scheduler: boolean; interval: number; leaseSeconds: number; trustProxy: string[]; reposNeedToken?: boolean }) => {
      code = await serveCommand({ io, dbPath: dbPath(), listen: o.listen, tlsCert: o.tlsCert, tlsKey: o.tlsKey, knownHostsFile: o.knownHosts, demo: o.demo === true, scheduler: o.scheduler, intervalSeconds: o.interval, leaseSeconds: o.leaseSeconds, trustProxy: o.trustProxy, reposNeedToken: o.reposNeedToken === true });
    });
  const tokens = program.command('tokens').description('API tokens: viewer, operator or admin; stored hashed, shown once');
  tokens
    .command('create')
    .requiredOption('--name <name>', 'what the token is for, e.g. ci-pipeline')
    .addOption(new Option('--role <role>', 'what it may do').choices(['viewer', 'operator', 'admin']).makeOptionMandatory())
    .option('--expires-days <n>', 'days until it expires (default 90; 0: never)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 3650) throw new BulwarkError('usage', `--expires-days: "${v}" is not 0 to 3650`);
      return n;
    }, 90)
    .option('--json', 'print JSON')
    .action(async (o: { name: string; role: 'viewer' | 'operator' | 'admin'; expiresDays: number; json?: boolean }) => {
      code = await tokensCreateCommand({ io, dbPath: dbPath(), name: o.name, role: o.role, expiresInDays: o.expiresDays === 0 ? null : o.expiresDays, json: o.json === true });
    });
  tokens
    .command('list')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      code = await tokensListCommand({ io, dbPath: dbPath(), json: o.json === true });
    });
  tokens
    .command('revoke')
    .argument('<id>', 'the token id (the 12 hex digits after bwk_)')
    .action(async (id: string) => {
      code = await tokensRevokeCommand({ io, dbPath: dbPath(), id });
    });

  const repo = program.command('repo').description('package repositories: signed metadata verified, immutable content-addressed snapshots');
  repo
    .command('add')
    .argument('<id>', 'a name for it, e.g. azl3-base')
    .requiredOption('--url <url>', 'the repository (https://…, file://… or a directory) holding repodata/')
    .option('--key <file>', 'an ASCII-armored OpenPGP public key its repomd.xml is signed with (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--no-verify', 'take its metadata without a signature (checksums are still checked)')
    .addOption(new Option('--kind <kind>', 'rpm-md (dnf, tdnf) or deb (apt)').choices(['rpm-md', 'deb']).default('rpm-md'))
    .option('--suite <suite>', 'deb: the suite under dists/ (none: a flat repository)')
    .option('--component <c>', 'deb: a component, e.g. main (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--arch <a>', 'deb: an architecture, e.g. amd64 (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .action(async (id: string, o: { url: string; key: string[]; verify: boolean; kind: 'rpm-md' | 'deb'; suite?: string; component: string[]; arch: string[] }) => {
      code = await repoAddCommand({ io, dbPath: dbPath(), id, url: o.url, keys: o.key, verify: o.verify, kind: o.kind, suite: o.suite ?? null, components: o.component, arches: o.arch });
    });
  repo
    .command('list')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      code = await repoListCommand({ io, dbPath: dbPath(), json: o.json === true });
    });
  repo
    .command('sync')
    .description('take a snapshot of each repository (all when none is named)')
    .argument('[id...]', 'repositories')
    .action(async (ids: string[]) => {
      code = await repoSyncCommand({ io, dbPath: dbPath(), ids });
    });
  repo
    .command('mirror')
    .description("store a snapshot's package files, each verified against the snapshot's signed metadata")
    .argument('<id>', 'the repository')
    .option('--snapshot <id>', 'this snapshot (a prefix of its id) instead of the latest')
    .action(async (id: string, o: { snapshot?: string }) => {
      code = await repoMirrorCommand({ io, dbPath: dbPath(), id, snapshot: o.snapshot });
    });
  repo
    .command('snapshots')
    .argument('[id]', 'only this repository')
    .option('--json', 'print JSON')
    .action(async (id: string | undefined, o: { json?: boolean }) => {
      code = await repoSnapshotsCommand({ io, dbPath: dbPath(), id, json: o.json === true });
    });

  const viewCmd = program.command('view').description('content views: snapshots plus declared overlays, published as numbered repositories and promoted through environments');
  viewCmd
    .command('publish')
    .requiredOption('-f, --file <file>', 'the content view YAML')
    .action(async (o: { file: string }) => {
      code = await viewPublishCommand({ io, dbPath: dbPath(), file: o.file });
    });
  const versionOpt = (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new BulwarkError('usage', `"${v}" is not a version number`);
    return n;
  };
  viewCmd
    .command('promote')
    .argument('<view>', 'the content view')
    .argument('[version]', 'this version (default: the latest)', versionOpt)
    .requiredOption('--to <environment>', 'e.g. dev, canary, prod')
    .option('--force', "skip the view's promotion path (audited as forced)")
    .action(async (view: string, version: number | undefined, o: { to: string; force?: boolean }) => {
      code = await viewPromoteCommand({ io, dbPath: dbPath(), view, environment: o.to, version, force: o.force === true });
    });
  viewCmd
    .command('list')
    .argument('[view]', 'only this view')
    .option('--json', 'print JSON')
    .action(async (view: string | undefined, o: { json?: boolean }) => {
      code = await viewListCommand({ io, dbPath: dbPath(), view, json: o.json === true });
    });
  viewCmd
    .command('deviations')
    .argument('<view>', 'the content view')
    .argument('[version]', 'this version (default: the latest)', versionOpt)
    .option('--json', 'print JSON')
    .action(async (view: string, version: number | undefined, o: { json?: boolean }) => {
      code = await viewDeviationsCommand({ io, dbPath: dbPath(), view, version, json: o.json === true });
    });

  viewCmd
    .command('repo-file')
    .description("what a host needs to use an environment: a dnf/tdnf .repo file (id bulwark-<view>) or an apt sources line")
    .argument('<view>', 'the content view')
    .requiredOption('--env <environment>', 'e.g. prod')
    .requiredOption('--url <url>', 'the address hosts reach bulwark serve at, e.g. https://bulwark.example.com')
    .action(async (view: string, o: { env: string; url: string }) => {
      code = await viewRepoFileCommand({ io, dbPath: dbPath(), view, environment: o.env, url: o.url });
    });

  viewCmd
    .command('key')
    .description('the key published repositories are signed with: show it, publish the next one (--next), sign with it (--rotate)')
    .option('--next', "make the next key and publish its public half beside the signing key's in every signed version")
    .option('--rotate', 'sign with the next key from now on (made at once if there is none) and sign every published version again')
    .option('--json', 'print JSON')
    .action(async (o: { next?: boolean; rotate?: boolean; json?: boolean }) => {
      code = await viewKeyCommand({ io, dbPath: dbPath(), next: o.next === true, rotate: o.rotate === true, json: o.json === true });
    });

  const imageCmd = program.command('image').description('images (container, WSL, VM, bare metal) built with dnf --installroot from a content view version, with SBOMs, scanned like hosts');
  imageCmd
    .command('build')
    .description('build the next build of an image definition')
    .requiredOption('-f, --file <file>', 'the image definition YAML')
    .option('--keep-root', 'also keep the unpacked root filesystem beside the artifact')
    .option('--if-needed', 'only when never built, the definition changed, or its environment serves a newer view version')
    .action(async (o: { file: string; keepRoot?: boolean; ifNeeded?: boolean }) => {
      code = await imageBuildCommand({ io, dbPath: dbPath(), file: o.file, keepRoot: o.keepRoot === true, ifNeeded: o.ifNeeded === true });
    });
  imageCmd
    .command('import')
    .description("write an image definition from one of Azure Linux's image configs (toolkit JSON or Image Customizer YAML)")
    .argument('<config>', 'e.g. imageconfigs/3.0/core-container.json (its package lists are read beside it)')
    .requiredOption('--view <view>', 'the content view to build from')
    .option('--environment <env>', 'the environment of the view', 'prod')
    .requiredOption('--release <release>', 'e.g. azurelinux:3.0')
    .option('--system-config <name>', 'which of several SystemConfigs (default: the first)')
    .addOption(new Option('--type <type>', 'override the kind of image read from the config').choices(['container', 'wsl', 'vm', 'bare-metal']))
    .option('-o, --out <file>', 'write the definition here (never over an existing file) instead of printing it')
    .action(async (config: string, o: { view: string; environment: string; release: string; systemConfig?: string; type?: 'container' | 'wsl' | 'vm' | 'bare-metal'; out?: string }) => {
      code = await imageImportCommand({ io, dbPath: dbPath(), config, view: o.view, environment: o.environment, release: o.release, systemConfig: o.systemConfig, type: o.type, out: o.out });
    });
  imageCmd
    .command('list')
    .argument('[image]', 'only this image')
    .option('--json', 'print JSON')
    .action(async (image: string | undefined, o: { json?: boolean }) => {
      code = await imageListCommand({ io, dbPath: dbPath(), image, json: o.json === true });
    });
  imageCmd
    .command('sbom')
    .argument('<image>', 'the image')
    .argument('[build]', 'this build (default: the latest)', versionOpt)
    .addOption(new Option('--format <format>', 'SBOM format').choices(['cyclonedx', 'spdx']).default('cyclonedx'))
    .action(async (image: string, build: number | undefined, o: { format: 'cyclonedx' | 'spdx' }) => {
      code = await imageSbomCommand({ io, dbPath: dbPath(), image, build, format: o.format });
    });
  const list = (v: string, prev: string[] = []): string[] => [...prev, ...v.split(',').map((x) => x.trim()).filter((x) => x !== '')];
  imageCmd
    .command('parity')
    .description('package differences between an image build, hosts built from it and other images (exit 1 when any)')
    .argument('<image>', 'the image')
    .option('--build <n>', 'this build (default: the latest)', versionOpt)
    .option('--hosts <names>', 'hosts to compare, comma-separated', list, [])
    .option('--tag <tag>', 'every host with this tag')
    .option('--with <targets>', 'other images (name for the latest build, or name@build) or targets', list, [])
    .option('--json', 'print JSON')
    .action(async (image: string, o: { build?: number; hosts: string[]; tag?: string; with: string[]; json?: boolean }) => {
      code = await imageParityCommand({ io, dbPath: dbPath(), image, build: o.build, hosts: o.hosts, tag: o.tag, others: o.with, json: o.json === true });
    });

  const usersCmd = program.command('users').description('people who log in to the dashboard (passwords hashed with scrypt)');
  usersCmd
    .command('set')
    .description('add a user or change their role and password (the password is read from standard input)')
    .argument('<name>', 'the user name')
    .addOption(new Option('--role <role>', 'what they may do').choices(['viewer', 'operator', 'admin']).makeOptionMandatory())
    .action(async (name: string, o: { role: 'viewer' | 'operator' | 'admin' }) => {
      code = await usersSetCommand({ io, dbPath: dbPath(), name, role: o.role });
    });
  usersCmd
    .command('list')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      code = await usersListCommand({ io, dbPath: dbPath(), json: o.json === true });
    });
  usersCmd
    .command('disable')
    .argument('<name>', 'the user name')
    .action(async (name: string) => {
      code = await usersDisableCommand({ io, dbPath: dbPath(), name });
    });
  const agentsCmd = program.command('agents').description('hosts that report through the pull agent (no SSH needed)');
  agentsCmd
    .command('enroll-token')
    .description('a one-time enrollment token, and the command that installs and enrolls the agent on a host')
    .requiredOption('--url <url>', "the server's address as hosts reach it, e.g. https://bulwark.example.com")
    .option('--tag <tag>', 'a tag the enrolled host gets (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--expires-hours <n>', 'hours until the token expires', (v: string) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 1 || n > 720) throw new BulwarkError('usage', `--expires-hours: "${v}" is not 1 to 720`);
      return n;
    }, 24)
    .action(async (o: { url: string; tag: string[]; expiresHours: number }) => {
      if (!/^https?:\/\/[^\s'"`$]+$/.test(o.url)) throw new BulwarkError('usage', `--url: "${o.url}" is not an http(s) URL`);
      code = await agentsEnrollTokenCommand({ io, dbPath: dbPath(), url: o.url, tags: o.tag, expiresInHours: o.expiresHours });
    });
  agentsCmd
    .command('list')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      code = await agentsListCommand({ io, dbPath: dbPath(), json: o.json === true });
    });
  agentsCmd
    .command('revoke')
    .argument('<id>', 'the agent id')
    .action(async (id: string) => {
      code = await agentsRevokeCommand({ io, dbPath: dbPath(), id });
    });

  program
    .command('audit')
    .description('the append-only audit log: who changed what, and when')
    .option('--subject <name>', 'only entries about this policy, host or feed')
    .option('--limit <n>', 'newest n entries', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new BulwarkError('usage', `--limit: "${v}" is not a positive integer`);
      return n;
    }, 100)
    .option('--json', 'print JSON')
    .action(async (o: { subject?: string; limit: number; json?: boolean }) => {
      code = await auditCommand({ io, dbPath: dbPath(), subject: o.subject, limit: o.limit, json: o.json === true });
    });

  program
    .command('advisories')
    .description('search stored advisories')
    .option('--cve <id>', 'advisories naming this CVE')
    .option('--package <name>', 'advisories with a fix for this package (source or binary name)')
    .option('--release <release>', 'only this release\'s fixes, e.g. azurelinux:3.0')
    .option('--source <id>', 'only this feed source')
    .option('--withdrawn', 'include withdrawn advisories')
    .option('--limit <n>', 'at most n advisories, newest first', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new BulwarkError('usage', `--limit: "${v}" is not a positive integer`);
      return n;
    })
    .option('--json', 'print JSON')
    .action(async (o: { cve?: string; package?: string; release?: string; source?: string; withdrawn?: boolean; limit?: number; json?: boolean }) => {
      code = await advisoriesCommand({ io, dbPath: dbPath(), cve: o.cve, package: o.package, release: o.release, source: o.source, withdrawn: o.withdrawn, limit: o.limit, json: o.json === true });
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exitCode 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    // A busy or full database is the operator's to act on, not a bug.
    const known = storageErrorOf(err) ?? err;
    if (isBulwarkError(known)) {
      io.stderr.write(`bulwark: ${known.message}\n`);
      if (known.code === 'config.invalid' || known.code === 'storage.unavailable') return EXIT.config;
      if (known.code === 'storage.conflict') return EXIT.conflict;
      if (known.code === 'storage.full') return EXIT.storageFull;
      if (known.code === 'target.unreachable') return EXIT.targetsFailed;
      if (known.code === 'usage' || known.code === 'input.invalid') return EXIT.usage;
      if (known.code === 'storage.not-found') return EXIT.usage;
      return EXIT.internal;
    }
    io.stderr.write(`bulwark: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.internal;
  }
}
