import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { BulwarkError } from '../core/errors.js';
import { releaseFamily } from '../distros/registry.js';
import { readAzlImageConfig, readPackageList, type ImportedImageConfig } from '../images/azl-config.js';
import { packageNameProblem, parseImageDefinition, type ImageDefinition } from '../images/definition.js';
import { readBoundedText } from './read-file.js';

// An Azure Linux image config imported as a Bulwark image definition.

/** The largest image definition read. */
export const MAX_DEFINITION_BYTES = 1024 * 1024;

/**
 * Text from a config (its path, a system config's name, an output format) made safe for one
 * `#` comment line: every control character (C0, DEL, C1) and YAML's other line breaks (U+2028,
 * U+2029) is written as `\uXXXX`, so a line break in a name cannot end the comment and start a
 * definition key (entrypoint, env, packageLists).
 * @example commentText('S\nentrypoint: [sh]') // 'S\\u000aentrypoint: [sh]'
 */
export function commentText(s: string): string {
  // \p{Cc}: C0, DEL and C1.
  return s.replace(/[\p{Cc}\u2028\u2029]/gu, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}

/**
 * Reads an Azure Linux image config and writes the Bulwark definition for it, with the content
 * view it is to be built from. Package lists are resolved now, so the definition stands alone.
 * @example await importAzlImageConfig('imageconfigs/3.0/core-container.json', { view: 'azl3', environment: 'prod', release: 'azurelinux:3.0' })
 */
export async function importAzlImageConfig(
  file: string,
  o: { view: string; environment: string; release: string; systemConfig?: string | undefined; type?: ImageDefinition['type'] | undefined },
): Promise<{ yaml: string; config: ImportedImageConfig; packages: string[] }> {
  const config = readAzlImageConfig(
    await readBoundedText(file, MAX_DEFINITION_BYTES),
    file,
    o.systemConfig === undefined ? {} : { systemConfig: o.systemConfig },
  );
  // Every name as the image's package manager will read it: a name dnf or apt would take for a
  // file or a modifier is refused here, naming the config or the list it came from.
  const family = releaseFamily(o.release) === 'deb' ? 'deb' : 'rpm';
  const checked = (names: readonly string[], where: string): readonly string[] => {
    for (const n of names) {
      const problem = packageNameProblem(n, family);
      if (problem !== null) throw new BulwarkError('input.invalid', `${where}: "${n}" ${problem}`, { file });
    }
    return names;
  };
  const packages = [...checked(config.packages, file)];
  checked(config.remove, file);
  for (const list of config.packageLists) {
    const path = resolve(dirname(file), list);
    if (!existsSync(path)) throw new BulwarkError('input.invalid', `${file}: package list ${list} is not there (${path})`, { file });
    packages.push(...checked(readPackageList(await readBoundedText(path, MAX_DEFINITION_BYTES), path), `${file}: package list ${path}`));
  }
  const unique = [...new Set(packages)];
  const q = (s: string): string => JSON.stringify(s);
  const lines = [
    `# Imported by bulwark from ${commentText(file)}${config.systemConfig === null ? '' : ` (system config ${commentText(config.systemConfig)})`}.`,
    ...(config.notCarried.length > 0
      ? [`# Not carried over (a bootable disk's settings, not its content): ${commentText(config.notCarried.join(', '))}.`]
      : []),
    'apiVersion: bulwark/v1',
    'kind: Image',
    // Quoted: a config file named true.json or 2.0.json gives a name YAML would read as a boolean or a number.
    `name: ${q(config.name)}`,
    `type: ${q(o.type ?? config.type)}`,
    `release: ${q(o.release)}`,
    `from: { view: ${q(o.view)}, environment: ${q(o.environment)} }`,
    `packages:${unique.length === 0 ? ' []' : ''}`,
    ...unique.map((p) => `  - ${q(p)}`),
    ...(config.remove.length > 0 ? ['remove:', ...config.remove.map((p) => `  - ${q(p)}`)] : []),
    ...(config.removeRpmDb ? ['removeRpmDb: true'] : []),
    ...(config.docs ? [] : ['docs: false']),
  ];
  const yaml = lines.join('\n') + '\n';
  parseImageDefinition(yaml, `${file} (imported)`); // what we write must be a valid definition
  return { yaml, config, packages: unique };
}
