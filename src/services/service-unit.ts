import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BulwarkError } from '../core/errors.js';

/**
 * The systemd unit of `bulwark serve`: its own system user, state in StateDirectory
 * (/var/lib/bulwark: the database, objects, images, SSH keys, agent key), configuration read from
 * ConfigurationDirectory (/etc/bulwark), and the file system read-only but for that state.
 * XDG_DATA_HOME=/var/lib makes every default path (bulwark.db, objects/, ssh-keys/, known_hosts)
 * fall inside /var/lib/bulwark.
 *
 * Not set, and why: MemoryDenyWriteExecute (V8's JIT writes code pages), RestrictNamespaces is
 * set, so image builds (dnf --installroot, unshare) run from the CLI, not from the service.
 * Listening below port 1024 needs `AmbientCapabilities=CAP_NET_BIND_SERVICE` in a drop-in.
 */
export function renderUnit(o: { execStart: string; user?: string; config?: string }): string {
  const user = o.user ?? 'bulwark';
  const config = o.config ?? '/etc/bulwark/bulwark.yaml';
  return `# Bulwark: patch and vulnerability lifecycle manager (bulwark serve).
# Installed by \`bulwark install-service\`; local changes go in a drop-in (systemctl edit bulwark).
[Unit]
Description=Bulwark patch and vulnerability lifecycle manager
After=network-online.target postgresql.service
Wants=network-online.target

[Service]
Type=simple
User=${user}
Group=${user}
ExecStart=${o.execStart} --config ${config} serve
Environment=XDG_DATA_HOME=/var/lib
Environment=NODE_ENV=production
WorkingDirectory=/var/lib/bulwark
StateDirectory=bulwark
StateDirectoryMode=0750
ConfigurationDirectory=bulwark
ConfigurationDirectoryMode=0750
UMask=0027
Restart=on-failure
RestartSec=5s
TimeoutStopSec=30s
LimitNOFILE=65536

# Hardening (systemd.exec(5)); \`systemd-analyze security bulwark\` scores it.
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
CapabilityBoundingSet=
AmbientCapabilities=

[Install]
WantedBy=multi-user.target
`;
}

/** The configuration file install-service writes when there is none: every key commented out but the listen address. */
export function starterConfig(): string {
  return `# Bulwark configuration (bulwark config check validates it; BULWARK_… variables override it).
server:
  listen: 127.0.0.1:8080
  # public_url: https://bulwark.example.com
  # tls_cert: /etc/bulwark/tls/cert.pem
  # tls_key: /etc/bulwark/tls/key.pem
  # trust_proxy: [10.0.0.1]
# database:
#   url: postgres://bulwark:PASSWORD@db.example.com:5432/bulwark
#   (default: SQLite at /var/lib/bulwark/bulwark.db, through the unit's XDG_DATA_HOME=/var/lib)
# feeds:
#   allow: [mirror.corp.example]
`;
}

/** One step of an installation: a file written or a command run (argv), in order. */
export type InstallStep =
  { kind: 'write'; path: string; mode: number; content: string; keepExisting: boolean } | { kind: 'run'; argv: string[]; unlessUser?: string };

/**
 * What `bulwark install-service` does, as data (printed by --dry-run, done otherwise): the system
 * user, the configuration file (kept when there is one), the unit, `systemctl daemon-reload`.
 */
export function installPlan(o: { execStart: string; user: string; unitDir: string; configDir: string }): InstallStep[] {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(o.user)) throw new BulwarkError('usage', `"${o.user}" is not a system user name`, { user: o.user });
  const config = join(o.configDir, 'bulwark.yaml');
  return [
    {
      kind: 'run',
      argv: ['useradd', '--system', '--user-group', '--home-dir', '/var/lib/bulwark', '--no-create-home', '--shell', '/usr/sbin/nologin', o.user],
      unlessUser: o.user,
    },
    { kind: 'write', path: config, mode: 0o640, content: starterConfig(), keepExisting: true },
    { kind: 'run', argv: ['chgrp', o.user, config] },
    {
      kind: 'write',
      path: join(o.unitDir, 'bulwark.service'),
      mode: 0o644,
      content: renderUnit({ execStart: o.execStart, user: o.user, config }),
      keepExisting: false,
    },
    { kind: 'run', argv: ['systemctl', 'daemon-reload'] },
  ];
}

function userExists(name: string): boolean {
  try {
    execFileSync('getent', ['passwd', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Carries out an install plan; returns what it did, one line per step. */
export function applyInstallPlan(steps: readonly InstallStep[]): string[] {
  const done: string[] = [];
  for (const s of steps) {
    if (s.kind === 'write') {
      if (s.keepExisting && existsSync(s.path)) {
        done.push(`kept ${s.path}`);
        continue;
      }
      mkdirSync(dirname(s.path), { recursive: true });
      writeFileSync(s.path, s.content, { mode: s.mode });
      chmodSync(s.path, s.mode);
      done.push(`wrote ${s.path}`);
      continue;
    }
    if (s.unlessUser !== undefined && userExists(s.unlessUser)) {
      done.push(`user ${s.unlessUser} exists`);
      continue;
    }
    try {
      execFileSync(s.argv[0] ?? '', s.argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
      throw new BulwarkError(
        e.code === 'ENOENT' ? 'config.invalid' : 'usage',
        `${s.argv.join(' ')} failed: ${e.code === 'ENOENT' ? 'not installed' : (e.stderr?.toString().trim() ?? e.message)}`,
        { argv: s.argv },
      );
    }
    done.push(`ran ${s.argv.join(' ')}`);
  }
  return done;
}
