import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../policy/load.js';
import { allowedCommand, allowedHttp, hookAllowListOf, loadHookAllowList, parseHookAllowList } from './hook-allow.js';

describe('the hook allow-list', () => {
  const list = parseHookAllowList(
    `commands:
  app-check: { argv: ["/usr/local/bin/app-check", "--host={host}"], timeoutSeconds: 60 }
http:
  lb-drain: { url: "https://lb.example/members/{host}/drain?at={address}", method: POST }
`,
    'hooks.yaml',
  );

  it('fills {host} and {address} into argv words as they are, and into URLs percent-encoded; nothing else', () => {
    expect(allowedCommand(list, 'app-check', { host: 'web 1;reboot', address: '10.0.0.5' })).toEqual({
      argv: ['/usr/local/bin/app-check', '--host=web 1;reboot'],
      timeoutSeconds: 60,
    });
    expect(allowedHttp(list, 'lb-drain', { host: 'web/1', address: '10.0.0.5' })).toMatchObject({
      url: 'https://lb.example/members/web%2F1/drain?at=10.0.0.5',
      method: 'POST',
      timeoutSeconds: 30,
    });
  });

  it('refuses a name it does not list, and bad entries with the file, line and field', () => {
    expect(() => allowedCommand(list, 'rm-rf', { host: 'h', address: 'h' })).toThrow(/no command "rm-rf" in the hook allow-list \(BULWARK_HOOKS_FILE\)/);
    expect(() => parseHookAllowList('commands:\n  x: { argv: ["-rf"] }\n', 'hooks.yaml')).toThrow(
      /hooks\.yaml:2:\d+: commands\.x\.argv: the first word is the program/,
    );
    expect(() => parseHookAllowList('http:\n  x: { url: "file:///etc/passwd" }\n', 'hooks.yaml')).toThrow(/hooks\.yaml:2:\d+: http\.x\.url: an http/);
    expect(() => parseHookAllowList('commands:\n  x: { argv: ["a"], shell: true }\n', 'hooks.yaml')).toThrow(/shell/);
  });

  it('is read from the file BULWARK_HOOKS_FILE names (an absolute path), and is empty without one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-hooks-'));
    try {
      writeFileSync(join(dir, 'hooks.yaml'), 'commands:\n  ok: { argv: ["true"] }\n');
      expect(loadHookAllowList({ BULWARK_HOOKS_FILE: join(dir, 'hooks.yaml') }).commands['ok']).toEqual({ argv: ['true'], timeoutSeconds: 300 });
      expect(loadHookAllowList({})).toEqual({ commands: {}, http: {} });
      expect(() => loadHookAllowList({ BULWARK_HOOKS_FILE: 'hooks.yaml' })).toThrow(/must be an absolute path/);
      expect(() => loadHookAllowList({ BULWARK_HOOKS_FILE: join(dir, 'missing.yaml') })).toThrow(/cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a policy names hooks and gates, never a command line or URL', () => {
    const base = 'apiVersion: bulwark/v1\nkind: Policy\nname: p\ncadence: { monthly: { weekday: tuesday, week: 2 } }\n';
    const p = parsePolicy(
      `${base}hooks: { pre: [{ http: lb-drain }], post: [{ command: app-check }] }\ngates: [{ tcp: 443 }, { systemd: nginx.service, withinSeconds: 30 }]\nrollback: on-failure\nrestart: services\n`,
    );
    expect(p.hooks).toEqual({ pre: [{ http: 'lb-drain' }], post: [{ command: 'app-check' }] });
    expect(p.gates).toEqual([
      { tcp: 443, withinSeconds: 0 },
      { systemd: 'nginx.service', withinSeconds: 30 },
    ]);
    expect(() => parsePolicy(`${base}hooks: { pre: [{ command: "/bin/sh -c reboot" }] }\n`)).toThrow(/hooks\.pre\[0\]/);
    expect(() => parsePolicy(`${base}hooks: { pre: [{ url: "http://x" }] }\n`)).toThrow(/hooks\.pre\[0\]/);
    expect(() => parsePolicy(`${base}gates: [{ systemd: "nginx; reboot" }]\n`)).toThrow(/gates\[0\]/);
  });

  it("uses BULWARK_HOOKS_FILE's file when it is set, else the configuration file's hooks: section", () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-hooks-of-'));
    try {
      const file = join(dir, 'hooks.yaml');
      writeFileSync(file, 'commands:\n  from-file: { argv: ["true"] }\n');
      const fromConfig = parseHookAllowList('commands:\n  from-config: { argv: ["true"] }\n');
      expect(Object.keys(hookAllowListOf({ hooksFile: file, hooks: fromConfig }, {}).commands)).toEqual(['from-file']);
      expect(Object.keys(hookAllowListOf({ hooksFile: undefined, hooks: fromConfig }, { BULWARK_HOOKS_FILE: file }).commands)).toEqual(['from-config']);
      expect(Object.keys(hookAllowListOf({}, { BULWARK_HOOKS_FILE: file }).commands)).toEqual(['from-file']);
      expect(hookAllowListOf({}, {})).toEqual({ commands: {}, http: {} });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
