import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requires, tool } from '../../test/needs.js';
import { runCli } from '../../test/cli.js';
import { applyInstallPlan, installPlan, renderUnit } from './service-unit.js';

const repo = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'bulwark-unit-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the systemd unit', () => {
  it('is shipped as rendered (packaging/bulwark.service, for npm installs under /usr/local)', () => {
    expect(readFileSync(join(repo, 'packaging', 'bulwark.service'), 'utf8')).toBe(renderUnit({ execStart: '/usr/local/bin/bulwark' }));
  });

  it('runs serve as its own user, hardened, with its state in StateDirectory', () => {
    const unit = renderUnit({ execStart: '/usr/bin/node /opt/bulwark/bin/bulwark.js', user: 'bw' });
    for (const line of [
      'User=bw',
      'ExecStart=/usr/bin/node /opt/bulwark/bin/bulwark.js --config /etc/bulwark/bulwark.yaml serve',
      'StateDirectory=bulwark',
      'Environment=XDG_DATA_HOME=/var/lib',
      'ProtectSystem=strict',
      'NoNewPrivileges=yes',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'CapabilityBoundingSet=',
      'SystemCallFilter=@system-service',
    ])
      expect(unit.split('\n')).toContain(line);
  });

  requires(tool('systemd-analyze')).it('passes systemd-analyze verify', () => {
    const file = join(dir, 'bulwark.service');
    writeFileSync(file, renderUnit({ execStart: `${process.execPath} ${join(repo, 'bin', 'bulwark.js')}` }));
    // Exits non-zero and says why on a bad directive or a missing executable.
    execFileSync('systemd-analyze', ['verify', file], { stdio: 'pipe' });
    const bad = join(dir, 'bad.service');
    writeFileSync(bad, renderUnit({ execStart: '/nonexistent/bulwark' }));
    expect(() => execFileSync('systemd-analyze', ['verify', bad], { stdio: 'pipe' })).toThrow(/not executable/);
  });
});

describe('install-service', () => {
  it('--dry-run prints the user, the configuration, the unit and the reload, and writes nothing', async () => {
    const unitDir = join(dir, 'dry-units');
    const r = await runCli(['install-service', '--dry-run', '--unit-dir', unitDir, '--config-dir', join(dir, 'dry-etc')]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/run: useradd --system --user-group .* bulwark \(unless user bulwark exists\)/);
    expect(r.out).toContain(`write ${join(unitDir, 'bulwark.service')} (mode 644)`);
    expect(r.out).toContain('ProtectSystem=strict');
    expect(r.out).toMatch(/run: systemctl daemon-reload/);
    expect(() => statSync(unitDir)).toThrow();
  });

  it('writes the unit and a starter configuration that config check accepts, and keeps an existing configuration', async () => {
    const steps = installPlan({ execStart: '/usr/local/bin/bulwark', user: 'bulwark', unitDir: join(dir, 'units'), configDir: join(dir, 'etc') });
    // Only the files: useradd and systemctl would change this machine.
    const done = applyInstallPlan(steps.filter((s) => s.kind === 'write'));
    expect(done).toEqual([`wrote ${join(dir, 'etc', 'bulwark.yaml')}`, `wrote ${join(dir, 'units', 'bulwark.service')}`]);
    expect(statSync(join(dir, 'etc', 'bulwark.yaml')).mode & 0o777).toBe(0o640);
    const check = await runCli(['--config', join(dir, 'etc', 'bulwark.yaml'), 'config', 'check']);
    expect(check.code).toBe(0);
    writeFileSync(join(dir, 'etc', 'bulwark.yaml'), 'server: {listen: 0.0.0.0:9000}\n');
    expect(applyInstallPlan(steps.filter((s) => s.kind === 'write'))[0]).toBe(`kept ${join(dir, 'etc', 'bulwark.yaml')}`);
    expect(readFileSync(join(dir, 'etc', 'bulwark.yaml'), 'utf8')).toContain('9000');
  });

  it('refuses a user name that is not one', async () => {
    const r = await runCli(['install-service', '--dry-run', '--user', 'root; rm -rf /']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is not a system user name/);
  });
});
