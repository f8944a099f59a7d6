import { z } from 'zod';
import { EXAMPLE_RELEASE, releaseFamily } from '../distros/registry.js';
import { parseYamlWith } from '../policy/load.js';

/**
 * Image definitions (issue #7, DESIGN.md "target"): what goes into an image, declared in YAML.
 * An image is built from one published content-view version — never from the internet — so
 * every package in it is one the operator curated, and the same view version gives hosts and
 * images the same bits.
 *
 * ```yaml
 * apiVersion: bulwark/v1
 * kind: Image
 * name: azl3-base
 * type: container            # container | wsl | vm | bare-metal
 * release: azurelinux:3.0    # the release dnf installs (releasever) and the image is scanned as
 * from: { view: azl3-lab, environment: prod }   # or { view, version: 3 }
 * packages: [bash, openssl]
 * packageLists: [packagelists/core-packages-container.json]   # relative to this file
 * remove: [dracut-hostonly]
 * ```
 */
const PKG_NAME = /^[A-Za-z0-9_.+][A-Za-z0-9_.+:@-]{0,199}$/;

/**
 * Why `name` cannot be given to the image's package manager as a package name, or null. Every
 * name goes word by word after `--`, yet each tool reads some words as more than a name:
 * - dnf installs an argument ending in `.rpm` as a local file (after `--` too), from outside the
 *   content view;
 * - apt reads a trailing `-` as "remove" and `+` as "install" when no package has the whole
 *   name. No Debian package name ends in `-`; a few end in `+` (g++, bonnie++), so those are
 *   allowed here and the build checks that the view has a package of exactly that name (apt
 *   then takes it literally), as it does for every Debian name (apt reads an unknown one as a
 *   pattern).
 * @example packageNameProblem('foo.rpm', 'rpm') // 'ends in ".rpm" (dnf installs a file of that name, not a package from the view)'
 */
export function packageNameProblem(name: string, family: 'rpm' | 'deb'): string | null {
  if (!PKG_NAME.test(name)) return 'is not a package name (letters, digits and "_.+:@-", never starting with "-")';
  if (/\.rpm$/i.test(name)) return 'ends in ".rpm" (dnf installs a file of that name, not a package from the view)';
  if (family === 'deb' && name.endsWith('-')) return 'ends in "-" (apt reads it as "remove")';
  return null;
}

const pkgName = z.string().superRefine((n, ctx) => {
  const problem = packageNameProblem(n, 'rpm');
  if (problem !== null) ctx.addIssue({ code: 'custom', message: `"${n}" ${problem}` });
});

/**
 * An OCI layout's tag (`org.opencontainers.image.ref.name`): components of letters and digits
 * joined by one ".", "_" or "-", or by "--" — the image-spec grammar skopeo and umoci hold a
 * reference to (they refuse "_x", "v1.", "a..b", "a__b") — without the spec's ":", "@", "+" and
 * "/" separators, which a registry tag refuses (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`), so the
 * layout can be copied to a registry under the same tag. At most 128 characters, as a tag.
 */
export const OCI_TAG = /^[A-Za-z0-9]+(?:(?:[._-]|--)[A-Za-z0-9]+)*$/;

export const ImageType = z.enum(['container', 'wsl', 'vm', 'bare-metal']);
export type ImageType = z.infer<typeof ImageType>;

const ImageDefinitionShape = z.strictObject({
  apiVersion: z.literal('bulwark/v1'),
  kind: z.literal('Image'),
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lower-case letters, digits, ".", "_" and "-"'),
  description: z.string().max(4096).optional(),
  type: ImageType,
  release: z.string().regex(/^[a-z][a-z0-9-]*:[0-9][0-9.]*$/, `a release such as ${EXAMPLE_RELEASE}`),
  from: z.union([
    z.strictObject({ view: z.string().min(1), environment: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/) }),
    z.strictObject({ view: z.string().min(1), version: z.number().int().positive() }),
  ]),
  packages: z.array(pkgName).default([]),
  /** Azure Linux toolkit package lists (`{"packages": [...]}` JSON or `packages:` YAML), relative to the definition. */
  packageLists: z.array(z.string().min(1).max(1024)).default([]),
  /** Removed after the install, with whatever needs them (unlike Image Customizer's `packages.remove`, which works on its base image before installing). */
  remove: z.array(pkgName).default([]),
  /** Distroless: no package database in the image. The SBOM and the scan still know every package. */
  removeRpmDb: z.boolean().default(false),
  /** Leave documentation out (rpm's nodocs), as the toolkit's DisableRpmDocs. */
  docs: z.boolean().default(true),
  container: z
    .strictObject({
      entrypoint: z.array(z.string()).optional(),
      cmd: z.array(z.string()).optional(),
      env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
      labels: z.record(z.string().min(1), z.string()).default({}),
      workingDir: z.string().optional(),
      user: z.string().optional(),
      /** The reference name in the OCI layout (`oci:<dir>:<tag>`); default the build number. */
      tag: z.string().max(128).regex(OCI_TAG, 'letters and digits joined by one ".", "_" or "-" (or "--"), as skopeo takes a tag').optional(),
    })
    .optional(),
  wsl: z
    .strictObject({
      /** /etc/wsl-distribution.conf [oobe] defaultName: the name WSL registers. */
      defaultName: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
        .optional(),
      defaultUid: z.number().int().min(0).max(65535).optional(),
    })
    .optional(),
});

/** The definition, with the rules of its family's package manager for every package name. */
export const ImageDefinition = ImageDefinitionShape.superRefine((d, ctx) => {
  if (releaseFamily(d.release) !== 'deb') return;
  for (const key of ['packages', 'remove'] as const)
    d[key].forEach((n, i) => {
      const problem = packageNameProblem(n, 'deb');
      if (problem !== null) ctx.addIssue({ code: 'custom', path: [key, i], message: `"${n}" ${problem}` });
    });
});
export type ImageDefinition = z.infer<typeof ImageDefinition>;

/** @example parseImageDefinition(readFileSync('azl3-base.yaml', 'utf8'), 'azl3-base.yaml') */
export function parseImageDefinition(text: string, file: string): ImageDefinition {
  return parseYamlWith(ImageDefinition, text, file);
}
