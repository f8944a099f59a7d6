import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DISTROS } from '../distros/api.js';
import { isPackageManager, managerFor, PACKAGE_MANAGER_IDS, PACKAGE_MANAGERS, packageManager, releaseVersion } from './registry.js';

describe('the package-manager registry', () => {
  it('lists exactly the module folders of executor/, each under its own id', () => {
    const folders = readdirSync(import.meta.dirname, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith('__'))
      .map((e) => e.name)
      .sort();
    expect([...PACKAGE_MANAGER_IDS].sort()).toEqual(folders);
    for (const id of PACKAGE_MANAGER_IDS) expect(packageManager(id).id).toBe(id);
  });

  it('declares what each can do, and has the commands where it says it can', () => {
    for (const m of Object.values(PACKAGE_MANAGERS)) {
      expect([m.id, m.history !== undefined]).toEqual([m.id, m.capabilities.historyUndo]);
      expect([m.id, m.restarts !== undefined]).toEqual([m.id, m.capabilities.restartCandidates]);
      expect(m.urls.length).toBeGreaterThan(0);
    }
  });

  it('knows every package manager a distribution defaults to', () => {
    for (const d of DISTROS) for (const v of ['1', '3.0', '4.0', '9', '41', '24.04']) expect(isPackageManager(d.packageManager(v))).toBe(true);
    expect(managerFor('azurelinux:3.0')).toBe('tdnf');
    expect(managerFor('azurelinux:4.0')).toBe('dnf5');
    expect(isPackageManager('zypper')).toBe(false);
    expect(isPackageManager('__proto__')).toBe(false);
  });

  it('gives tdnf the release version of a release id, and nothing that is not one', () => {
    expect(releaseVersion('azurelinux:3.0')).toBe('3.0');
    expect(releaseVersion('azurelinux:3.0 --x')).toBeUndefined();
    expect(releaseVersion(null)).toBeUndefined();
  });
});
