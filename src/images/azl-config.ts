import { isMap } from 'yaml';
import { parseYamlDocument } from '../policy/load.js';
import { BulwarkError } from '../core/errors.js';
import type { ImageType } from './definition.js';

/**
 * Azure Linux's own image definitions (microsoft/azurelinux `toolkit/imageconfigs`, data notes
 * 2.2) read as what an operator wants in an image: which packages, which removed, which kind
 * of image, whether the package database stays. Two schemas exist:
 *
 * - the legacy toolkit JSON: `Disks[].Artifacts[] {Name, Type: vhd|vhdx|ova|ext4, Compression}`,
 *   `Disks[].Partitions`, `SystemConfigs[] {Name, PackageLists, Packages, KernelOptions,
 *   RemoveRpmDb, DisableRpmDocs, …}`;
 * - Image Customizer YAML: `os.packages {installLists, install}`, `output.image.format` (its
 *   `remove` applies to the base image it customizes, see fromCustomizerYaml).
 *
 * Disk layout, bootloader, kernel command line, SELinux, scripts, extra files and users are
 * building a bootable disk, not choosing content; they are listed in `notCarried` so nobody
 * believes an imported definition reproduces them.
 */
export interface ImportedImageConfig {
  name: string;
  type: ImageType;
  /** Package lists as written in the config (relative to the config's directory). */
  packageLists: string[];
  /** Packages named in the config itself (Image Customizer `install`, toolkit `Packages`, the kernel). */
  packages: string[];
  remove: string[];
  removeRpmDb: boolean;
  docs: boolean;
  /** Settings of the config a Bulwark image does not reproduce, e.g. `Disks[0].Partitions (3)`. */
  notCarried: string[];
  /** Which system config was taken when there are several (toolkit JSON). */
  systemConfig: string | null;
}

const MAX_CONFIG_BYTES = 1024 * 1024;

function strings(v: unknown, where: string, file: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new BulwarkError('input.invalid', `${file}: ${where} is not a list of names`, { file });
  return v;
}

const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

function fromToolkitJson(doc: Record<string, unknown>, name: string, file: string, systemConfig: string | undefined): ImportedImageConfig {
  const configs = Array.isArray(doc['SystemConfigs']) ? doc['SystemConfigs'].map(obj) : [];
  if (configs.length === 0) throw new BulwarkError('input.invalid', `${file}: no SystemConfigs`, { file });
  const sc = systemConfig === undefined ? configs[0] : configs.find((c) => c['Name'] === systemConfig);
  if (sc === undefined)
    throw new BulwarkError('usage', `${file}: no system config "${systemConfig ?? ''}" (it has ${configs.map((c) => String(c['Name'])).join(', ')})`);
  const disks = Array.isArray(doc['Disks']) ? doc['Disks'].map(obj) : [];
  const artifacts = disks.flatMap((d) => (Array.isArray(d['Artifacts']) ? d['Artifacts'].map(obj) : []));
  const partitions = disks.reduce((n, d) => n + (Array.isArray(d['Partitions']) ? d['Partitions'].length : 0), 0);
  // A bare rootfs tarball (no disk type, no partitions) is how the toolkit makes containers; an
  // installer (no artifacts, the ISO is built from the config) goes onto bare metal.
  let type: ImageType;
  if (/baremetal|bare-metal/i.test(name)) type = 'bare-metal';
  else if (partitions === 0 && artifacts.length > 0 && artifacts.every((a) => a['Type'] === undefined && typeof a['Compression'] === 'string'))
    type = 'container';
  else if (artifacts.length === 0 && partitions === 0) type = 'bare-metal';
  else type = 'vm';
  const packages = strings(sc['Packages'], 'Packages', file);
  const kernel = obj(sc['KernelOptions'])['default'];
  if (typeof kernel === 'string' && kernel !== '' && type !== 'container') packages.push(kernel);
  const notCarried: string[] = [];
  if (partitions > 0) notCarried.push(`Disks: ${String(partitions)} partitions`);
  for (const k of [
    'BootType',
    'PartitionSettings',
    'KernelCommandLine',
    'PostInstallScripts',
    'FinalizeImageScripts',
    'AdditionalFiles',
    'Users',
    'Groups',
    'Hostname',
    'OverrideRpmLocales',
    'EnableGrubMkconfig',
    'Encryption',
    'ReadOnlyVerityRoot',
  ])
    if (sc[k] !== undefined) notCarried.push(k);
  return {
    name,
    type,
    packageLists: strings(sc['PackageLists'], 'PackageLists', file),
    packages,
    remove: [],
    removeRpmDb: sc['RemoveRpmDb'] === true,
    docs: sc['DisableRpmDocs'] !== true,
    notCarried,
    systemConfig: typeof sc['Name'] === 'string' ? sc['Name'] : null,
  };
}

function fromCustomizerYaml(doc: Record<string, unknown>, name: string, file: string): ImportedImageConfig {
  const os = obj(doc['os']);
  const pk = obj(os['packages']);
  const format = obj(obj(doc['output'])['image'])['format'];
  const type: ImageType = /baremetal|bare-metal/i.test(name) || format === 'iso' ? 'bare-metal' : 'vm';
  const notCarried: string[] = [];
  if (doc['storage'] !== undefined) notCarried.push('storage');
  for (const k of ['bootloader', 'hostname', 'kernelCommandLine', 'selinux', 'additionalFiles', 'users', 'services', 'modules', 'uki', 'overlays'])
    if (os[k] !== undefined) notCarried.push(`os.${k}`);
  // Image Customizer removes, then updates, then installs — all on the base image it starts from.
  // A Bulwark image starts empty and installs the newest build the view has: a removal there
  // could only take away what the installs asked for (baremetal-amd64 removes dracut-hostonly,
  // which its own lists install and Image Customizer's image keeps).
  const removed = strings(pk['remove'], 'os.packages.remove', file);
  if (removed.length > 0)
    notCarried.push(`os.packages.remove (${removed.join(', ')}: removed from Image Customizer's base image, which a Bulwark image does not start from)`);
  for (const k of ['removeLists', 'update', 'updateLists']) if (pk[k] !== undefined) notCarried.push(`os.packages.${k}`);
  if (doc['scripts'] !== undefined) notCarried.push('scripts');
  for (const k of ['iso', 'previewFeatures']) if (doc[k] !== undefined) notCarried.push(k);
  if (doc['output'] !== undefined) notCarried.push(`output${typeof format === 'string' ? ` (${format})` : ''}`);
  return {
    name,
    type,
    packageLists: strings(pk['installLists'], 'os.packages.installLists', file),
    packages: strings(pk['install'], 'os.packages.install', file),
    remove: [],
    removeRpmDb: false,
    docs: true,
    notCarried,
    systemConfig: null,
  };
}

function parseAny(text: string, file: string): unknown {
  if (text.length > MAX_CONFIG_BYTES) throw new BulwarkError('input.invalid', `${file}: larger than ${String(MAX_CONFIG_BYTES)} bytes`, { file });
  if (text.trimStart().startsWith('{')) {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new BulwarkError('input.invalid', `${file}: not JSON: ${(err as Error).message}`, { file });
    }
  }
  // The limits every YAML file has: the yaml parser recurses per level (5,000 nested [ overflowed
  // the stack; in the service a deeper one ran V8 out of memory, issue #20, item 3), finds each
  // alias's anchor by walking the document, and compares each key with every other.
  const doc = parseYamlDocument(text, file, 'input.invalid');
  if (!isMap(doc.contents)) throw new BulwarkError('input.invalid', `${file}: not a mapping`, { file });
  try {
    return doc.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (err) {
    // Aliases past the limit (billion laughs) were an internal error (exit 70) with a stack.
    throw new BulwarkError('input.invalid', `${file}: ${(err as Error).message}`, { file }, { cause: err });
  }
}

/**
 * Reads one Azure Linux image config (toolkit JSON or Image Customizer YAML).
 * @example readAzlImageConfig(readFileSync('core-container.json', 'utf8'), 'core-container.json')
 */
export function readAzlImageConfig(text: string, file: string, o: { systemConfig?: string } = {}): ImportedImageConfig {
  const doc = obj(parseAny(text, file));
  const base = file.replace(/^.*[\\/]/, '').replace(/\.(json|ya?ml)$/i, '');
  const name =
    base
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[^a-z0-9]+/, '')
      .slice(0, 64) || 'image';
  if (doc['SystemConfigs'] !== undefined || doc['Disks'] !== undefined) return fromToolkitJson(doc, name, file, o.systemConfig);
  if (doc['os'] !== undefined || doc['storage'] !== undefined) return fromCustomizerYaml(doc, name, file);
  throw new BulwarkError('input.invalid', `${file}: neither a toolkit image config (SystemConfigs) nor an Image Customizer config (os, storage)`, { file });
}

/**
 * The package names of a toolkit package list: `{"packages": [...]}` JSON or `packages: [...]` YAML.
 * @example readPackageList('{"packages": ["shim", "grub2-efi-binary"]}', 'efi.json') // ['shim', 'grub2-efi-binary']
 */
export function readPackageList(text: string, file: string): string[] {
  const doc = obj(parseAny(text, file));
  if (!('packages' in doc)) throw new BulwarkError('input.invalid', `${file}: no "packages" list`, { file });
  return strings(doc['packages'], 'packages', file);
}
