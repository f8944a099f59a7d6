import { z } from 'zod';
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
const pkgName = z.string().regex(/^[A-Za-z0-9_.+][A-Za-z0-9_.+:@-]{0,199}$/, 'not a package name (a name never starts with "-")');

export const ImageType = z.enum(['container', 'wsl', 'vm', 'bare-metal']);
export type ImageType = z.infer<typeof ImageType>;

export const ImageDefinition = z.strictObject({
  apiVersion: z.literal('bulwark/v1'),
  kind: z.literal('Image'),
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lower-case letters, digits, ".", "_" and "-"'),
  description: z.string().max(4096).optional(),
  type: ImageType,
  release: z.string().regex(/^[a-z][a-z0-9-]*:[0-9][0-9.]*$/, 'a release such as azurelinux:3.0'),
  from: z.union([
    z.strictObject({ view: z.string().min(1), environment: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/) }),
    z.strictObject({ view: z.string().min(1), version: z.number().int().positive() }),
  ]),
  packages: z.array(pkgName).default([]),
  /** Azure Linux toolkit package lists (`{"packages": [...]}` JSON or `packages:` YAML), relative to the definition. */
  packageLists: z.array(z.string().min(1).max(1024)).default([]),
  /** Removed after the install (with whatever needs them), as Image Customizer's `packages.remove`. */
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
      tag: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/).optional(),
    })
    .optional(),
  wsl: z
    .strictObject({
      /** /etc/wsl-distribution.conf [oobe] defaultName: the name WSL registers. */
      defaultName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/).optional(),
      defaultUid: z.number().int().min(0).max(65535).optional(),
    })
    .optional(),
});
export type ImageDefinition = z.infer<typeof ImageDefinition>;

/** @example parseImageDefinition(readFileSync('azl3-base.yaml', 'utf8'), 'azl3-base.yaml') */
export function parseImageDefinition(text: string, file: string): ImageDefinition {
  return parseYamlWith(ImageDefinition, text, file);
}
