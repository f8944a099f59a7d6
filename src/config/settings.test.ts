import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isBulwarkError } from '../core/errors.js';
import { BulwarkConfig } from './schema.js';
import { loadConfig, SETTINGS } from './settings.js';
import { loadConfigLazily } from './load.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-config-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isBulwarkError(err, 'config.invalid')) return err.message;
    throw err;
  }
  throw new Error('no error');
}

describe('the configuration file', () => {
  it('turns its settings into the variables Bulwark reads, the environment winning', () => {
    const f = file(
      'ok.yaml',
      'server:\n  listen: 0.0.0.0:8443\n  trust_proxy: [10.0.0.1, 10.0.0.2]\n  scheduler: false\ndatabase:\n  path: /var/lib/bulwark/b.db\npaths:\n  objects: /srv/objects\n',
    );
    const { env, file: read, sources } = loadConfig({ file: f, env: { BULWARK_OBJECTS_DIR: '/elsewhere', PATH: '/bin' } });
    expect(read).toBe(f);
    expect(env['BULWARK_LISTEN']).toBe('0.0.0.0:8443');
    expect(env['BULWARK_TRUST_PROXY']).toBe('10.0.0.1,10.0.0.2');
    expect(env['BULWARK_SCHEDULER']).toBe('false');
    expect(env['BULWARK_DATABASE_URL']).toBe('sqlite:/var/lib/bulwark/b.db');
    expect(env['BULWARK_OBJECTS_DIR']).toBe('/elsewhere');
    expect(env['PATH']).toBe('/bin');
    expect(sources.find((s) => s.env === 'BULWARK_OBJECTS_DIR')?.from).toBe('environment');
    expect(sources.find((s) => s.env === 'BULWARK_LISTEN')?.from).toBe('file');
  });

  it('names every bad key and value with its line and column, and the key meant', () => {
    const f = file('bad.yaml', 'server:\n  lisen: 1.2.3.4:80\n  listen: nowhere\ndatabase:\n  path: relative.db\n');
    const msg = errorOf(() => loadConfig({ file: f, env: {} }));
    expect(msg).toContain(`${f}:2:3: server.lisen: Unrecognized key: "lisen" (did you mean "listen"?)`);
    expect(msg).toContain(`${f}:3:3: server.listen: expected HOST:PORT`);
    expect(msg).toContain(`${f}:5:3: database.path: expected an absolute path`);
  });

  it('says which variable is wrong, without echoing secrets', () => {
    expect(errorOf(() => loadConfig({ env: { BULWARK_LISTEN: 'nowhere' }, defaultFile: join(dir, 'none.yaml') }))).toBe(
      'BULWARK_LISTEN: expected HOST:PORT, e.g. 0.0.0.0:8080 (got "nowhere")',
    );
    expect(errorOf(() => loadConfig({ env: { BULWARK_AGENT_KEY: 'secret-but-short' }, defaultFile: join(dir, 'none.yaml') }))).not.toContain('secret');
    expect(errorOf(() => loadConfig({ env: { BULWARK_SCHEDULER: 'perhaps' }, defaultFile: join(dir, 'none.yaml') }))).toMatch(
      /BULWARK_SCHEDULER: expected true or false/,
    );
  });

  it('a named file that is missing is an error; the default file is optional', () => {
    expect(errorOf(() => loadConfig({ file: join(dir, 'absent.yaml'), env: {} }))).toMatch(/cannot read the configuration file .*absent\.yaml: ENOENT/);
    expect(loadConfig({ env: {}, defaultFile: join(dir, 'absent.yaml') }).file).toBeNull();
    expect(loadConfig({ env: { BULWARK_CONFIG: file('via-env.yaml', 'server: {listen: "[::1]:80"}\n') } }).env['BULWARK_LISTEN']).toBe('[::1]:80');
  });

  it('refuses url and path together, and a TLS certificate without its key', () => {
    expect(errorOf(() => loadConfig({ file: file('both.yaml', 'database: {url: "sqlite:/a.db", path: /b.db}\n'), env: {} }))).toMatch(/url or path, not both/);
    expect(errorOf(() => loadConfig({ file: file('tls.yaml', 'server: {tls_cert: /c.pem}\n'), env: {} }))).toMatch(/tls_cert and tls_key go together/);
  });

  it('checks the notify section with the notification schema, naming the line of a mistake', () => {
    const ok = file(
      'notify.yaml',
      'notify:\n  channels: [{name: ops, type: webhook, url: "https://hooks.example/x", secretEnv: HOOK_KEY}]\n  rules: [{name: kev, events: [finding.kev], channels: [ops]}]\n',
    );
    expect(loadConfig({ file: ok, env: {} }).config.notify?.rules).toEqual([{ name: 'kev', events: ['finding.kev'], channels: ['ops'] }]);
    const bad = file('notify-bad.yaml', 'notify:\n  channels: []\n  rules: [{name: kev, events: [finding.kev], channels: [opz]}]\n');
    expect(errorOf(() => loadConfig({ file: bad, env: {} }))).toMatch(/notify-bad\.yaml:3:.*no channel named opz/);
  });

  it('checks the hooks section with the hook allow-list schema, naming the line of a mistake', () => {
    const ok = file(
      'hooks.yaml',
      'hooks:\n  commands:\n    disk-check: { argv: [df, -P, /] }\n  http:\n    lb-drain: { url: "https://lb.example/{host}/drain", method: POST }\n',
    );
    expect(loadConfig({ file: ok, env: {} }).config.hooks).toEqual({
      commands: { 'disk-check': { argv: ['df', '-P', '/'], timeoutSeconds: 300 } },
      http: { 'lb-drain': { url: 'https://lb.example/{host}/drain', method: 'POST', headers: {}, timeoutSeconds: 30 } },
    });
    const bad = file('hooks-bad.yaml', 'hooks:\n  commands:\n    disk-check: { argv: [df] }\n    snap: { argv: [-rf, /] }\n');
    expect(errorOf(() => loadConfig({ file: bad, env: {} }))).toMatch(/hooks-bad\.yaml:4:.*the first word is the program/);
  });

  it('has a variable for every setting of the schema, and a setting for every variable', () => {
    const leaves: string[] = [];
    for (const [section, schema] of Object.entries(BulwarkConfig.shape)) {
      // notify and hooks are sections of rules and allow-list entries, not settings with variables of their own.
      if (section === 'notify' || section === 'hooks') continue;
      const inner = (schema as { unwrap?: () => { shape?: Record<string, unknown> } }).unwrap?.().shape;
      if (inner !== undefined) for (const k of Object.keys(inner)) leaves.push(`${section}.${k}`);
    }
    expect(SETTINGS.map((s) => s.path.join('.')).sort()).toEqual(leaves.sort());
  });
});

describe('loadConfigLazily (start-up without the schema)', () => {
  const none = join(dir, 'absent.yaml');
  it('without a file or a setting in the environment, answers what loadConfig answers', async () => {
    const o = { env: { PATH: '/bin', HOME: '/root', BULWARK_FEED_CACHE_DIR: '/tmp/x' }, defaultFile: none };
    expect(await loadConfigLazily(o)).toEqual(loadConfig(o));
  });
  it('with a setting in the environment, checks it as loadConfig does', async () => {
    const o = { env: { BULWARK_LISTEN: 'nowhere' }, defaultFile: none };
    await expect(loadConfigLazily(o)).rejects.toThrow(/BULWARK_LISTEN/);
    const ok = { env: { BULWARK_DATABASE_PATH: '/var/lib/b.db' }, defaultFile: none };
    expect(await loadConfigLazily(ok)).toEqual(loadConfig(ok));
  });
  it('reads the default file when it exists, and a named one', async () => {
    const f = file('lazy.yaml', 'server:\n  listen: 0.0.0.0:8443\n');
    expect((await loadConfigLazily({ env: {}, defaultFile: f })).env['BULWARK_LISTEN']).toBe('0.0.0.0:8443');
    expect((await loadConfigLazily({ env: { BULWARK_CONFIG: f }, defaultFile: none })).file).toBe(f);
    await expect(loadConfigLazily({ file: none, env: {}, defaultFile: none })).rejects.toThrow(/cannot read/);
  });
});
