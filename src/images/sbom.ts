import parseSpdxExpression from 'spdx-expression-parse';
import { formatPurl } from '../core/package/purl.js';
import { parseReleaseId } from '../core/release.js';
import type { InstalledPackage } from '../core/target.js';
import { purlVendor } from '../distros/registry.js';

/**
 * SBOMs of an image (issue #7): CycloneDX 1.6 JSON (https://cyclonedx.org/docs/1.6/json/) and
 * SPDX 2.3 JSON (https://spdx.github.io/spdx-spec/v2.3/), one component / package per installed
 * package, each named by its purl. The purl carries what matching needs: the epoch as a
 * qualifier (never in the version), the arch, the distro and — as `upstream` — the source rpm,
 * since most feeds name source packages. Bulwark's own SBOM import reads both back into the
 * same inventory (tested), so a distroless image without a package database is still scanned.
 */
export interface SbomPackage extends InstalledPackage {
  /** rpm's %{LICENSE} or the Debian copyright summary; free text. */
  license: string | null;
  /** rpm's %{SOURCERPM} file name, e.g. `openssl-3.3.5-5.azl3.src.rpm`. */
  sourceRpm: string | null;
}

export interface SbomSubject {
  name: string;
  /** The image build, e.g. `3`. */
  version: string;
  type: 'container' | 'wsl' | 'vm' | 'bare-metal';
  release: string;
  /** e.g. `sha256:…` of the OCI manifest or the tarball. */
  digest: string | null;
}

export interface SbomContext {
  /** ISO time the SBOM describes (the build's). */
  created: string;
  /** A UUID for the CycloneDX serial number and the SPDX namespace. */
  uuid: string;
  tool: { name: string; version: string };
}

/**
 * The package's purl as Bulwark writes it in SBOMs.
 * @example packagePurl({ family: 'rpm', name: 'openssl', epoch: 1, version: '3.3.5', release: '5.azl3', arch: 'x86_64', … }, 'azurelinux:3.0')
 */
export function packagePurl(p: SbomPackage, release: string): string {
  const r = parseReleaseId(release);
  // The purl namespace is the vendor (purl-spec PURL-TYPES), as the distribution's descriptor says.
  const vendor = r === null ? 'unknown' : purlVendor(r.distro);
  const qualifiers: Record<string, string> = { arch: p.arch };
  if (r !== null) qualifiers['distro'] = `${r.distro}-${r.version}`;
  if (p.family === 'deb') {
    if (p.sourceName !== null && (p.sourceName !== p.name || p.sourceVersion !== null))
      qualifiers['upstream'] = `${p.sourceName}${p.sourceVersion === null ? '' : `@${p.sourceVersion}`}`;
    return formatPurl({ type: 'deb', namespace: vendor, name: p.name, version: p.version, qualifiers, subpath: null });
  }
  if (p.epoch !== null && p.epoch !== 0) qualifiers['epoch'] = String(p.epoch);
  // The source as rpm names it, else a source name Bulwark knows (never one it only assumed).
  if (p.sourceRpm !== null) qualifiers['upstream'] = p.sourceRpm;
  else if (p.sourceName !== null && p.sourceOrigin !== 'assumed') qualifiers['upstream'] = p.sourceName;
  return formatPurl({
    type: 'rpm',
    namespace: vendor,
    name: p.name,
    version: p.release === null ? p.version : `${p.version}-${p.release}`,
    qualifiers,
    subpath: null,
  });
}

/** The license as an SPDX expression when it is one, else null (the text is kept elsewhere). */
export function spdxLicense(text: string | null): string | null {
  if (text === null || text.trim() === '' || text === '(none)') return null;
  try {
    parseSpdxExpression(text.trim());
    return text.trim();
  } catch {
    return null;
  }
}

const evrOf = (p: SbomPackage): string =>
  p.family === 'deb' ? p.version : `${p.epoch !== null && p.epoch !== 0 ? `${String(p.epoch)}:` : ''}${p.version}-${p.release ?? ''}`;

function sorted(packages: readonly SbomPackage[]): SbomPackage[] {
  return [...packages].sort((a, b) => a.name.localeCompare(b.name) || evrOf(a).localeCompare(evrOf(b)) || a.arch.localeCompare(b.arch));
}

/**
 * A CycloneDX 1.6 BOM of the image: the image is `metadata.component` (a container, or an
 * operating system for VMs, bare metal and WSL), each package a `library` component.
 */
export function cycloneDx(subject: SbomSubject, packages: readonly SbomPackage[], ctx: SbomContext): Record<string, unknown> {
  const components = sorted(packages).map((p) => {
    const purl = packagePurl(p, subject.release);
    const spdx = spdxLicense(p.license);
    return {
      type: 'library',
      'bom-ref': purl,
      name: p.name,
      version: evrOf(p),
      purl,
      ...(spdx !== null
        ? { licenses: [{ expression: spdx }] }
        : p.license !== null && p.license !== '' && p.license !== '(none)'
          ? { licenses: [{ license: { name: p.license } }] }
          : {}),
      properties: [
        { name: 'bulwark:package:arch', value: p.arch },
        ...(p.sourceName !== null ? [{ name: 'bulwark:package:source', value: p.sourceName }] : []),
      ],
    };
  });
  const root = `image:${subject.name}@${subject.version}`;
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${ctx.uuid}`,
    version: 1,
    metadata: {
      timestamp: ctx.created,
      tools: { components: [{ type: 'application', name: ctx.tool.name, version: ctx.tool.version }] },
      component: {
        type: subject.type === 'container' ? 'container' : 'operating-system',
        'bom-ref': root,
        name: subject.name,
        version: subject.version,
        ...(subject.digest !== null && /^sha256:[0-9a-f]{64}$/.test(subject.digest) ? { hashes: [{ alg: 'SHA-256', content: subject.digest.slice(7) }] } : {}),
        properties: [
          { name: 'bulwark:image:type', value: subject.type },
          { name: 'bulwark:image:release', value: subject.release },
        ],
      },
    },
    components,
    dependencies: [{ ref: root, dependsOn: components.map((c) => c['bom-ref']) }],
  };
}

type LicenseNode = { license: string; exception?: string } | { left: LicenseNode; conjunction: string; right: LicenseNode };

/** The license ids of a parsed SPDX expression, e.g. ['MIT', 'LicenseRef-Fedora-Public-Domain']. */
function licenseIds(node: LicenseNode): string[] {
  return 'license' in node ? [node.license] : [...licenseIds(node.left), ...licenseIds(node.right)];
}

/**
 * A package's licenseDeclared in an SPDX 2.3 document, and the LicenseRef-… ids it uses. SPDX
 * 2.3 §10.1 wants every LicenseRef a document uses declared in its hasExtractedLicensingInfos;
 * a DocumentRef-…:LicenseRef-… points into another SPDX document, which this one cannot name
 * (it has no externalDocumentRefs), so such a license is NOASSERTION, the text kept as comment.
 */
function spdxDeclared(text: string | null): { declared: string; refs: string[] } {
  const spdx = spdxLicense(text);
  if (spdx === null) return { declared: 'NOASSERTION', refs: [] };
  const ids = licenseIds(parseSpdxExpression(spdx) as LicenseNode);
  if (ids.some((id) => id.startsWith('DocumentRef-'))) return { declared: 'NOASSERTION', refs: [] };
  return { declared: spdx, refs: [...new Set(ids.filter((id) => id.startsWith('LicenseRef-')))] };
}

/** SPDX element ids allow letters, digits, "." and "-" only (SPDX 2.3 §3.2). */
function spdxId(i: number, p: SbomPackage): string {
  return `SPDXRef-Package-${p.name.replace(/[^A-Za-z0-9.-]/g, '-')}-${String(i)}`;
}

/** An SPDX 2.3 document describing the image, which CONTAINS one package per installed package. */
export function spdxDocument(subject: SbomSubject, packages: readonly SbomPackage[], ctx: SbomContext): Record<string, unknown> {
  const image = 'SPDXRef-Image';
  // Each LicenseRef used, with the license strings of the packages that use it: the package's own
  // words are the only text of such a license Bulwark has.
  const extracted = new Map<string, string[]>();
  const pkgs = sorted(packages).map((p, i) => {
    const { declared, refs } = spdxDeclared(p.license);
    for (const ref of refs) {
      const texts = extracted.get(ref) ?? [];
      if (p.license !== null && !texts.includes(p.license.trim())) texts.push(p.license.trim());
      extracted.set(ref, texts);
    }
    return {
      SPDXID: spdxId(i, p),
      name: p.name,
      versionInfo: evrOf(p),
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: declared,
      ...(declared === 'NOASSERTION' && p.license !== null && p.license !== '' && p.license !== '(none)'
        ? { licenseComments: `as packaged: ${p.license}` }
        : {}),
      copyrightText: 'NOASSERTION',
      ...(p.sourceRpm !== null
        ? { sourceInfo: `built from ${p.sourceRpm}` }
        : p.sourceName !== null
          ? { sourceInfo: `built from source package ${p.sourceName}` }
          : {}),
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: packagePurl(p, subject.release) }],
      primaryPackagePurpose: 'LIBRARY',
    };
  });
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${subject.name}-${subject.version}`,
    documentNamespace: `https://bulwark.invalid/spdx/${encodeURIComponent(subject.name)}/${encodeURIComponent(subject.version)}/${ctx.uuid}`,
    creationInfo: { created: ctx.created.replace(/\.\d{3}Z$/, 'Z'), creators: [`Tool: ${ctx.tool.name}-${ctx.tool.version}`] },
    packages: [
      {
        SPDXID: image,
        name: subject.name,
        versionInfo: subject.version,
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: false,
        licenseConcluded: 'NOASSERTION',
        licenseDeclared: 'NOASSERTION',
        copyrightText: 'NOASSERTION',
        primaryPackagePurpose: subject.type === 'container' ? 'CONTAINER' : 'OPERATING_SYSTEM',
        ...(subject.digest !== null && /^sha256:[0-9a-f]{64}$/.test(subject.digest)
          ? { checksums: [{ algorithm: 'SHA256', checksumValue: subject.digest.slice(7) }] }
          : {}),
      },
      ...pkgs,
    ],
    ...(extracted.size > 0
      ? {
          hasExtractedLicensingInfos: [...extracted]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([licenseId, texts]) => ({
              licenseId,
              extractedText: texts.join('\n'),
              name: licenseId.slice('LicenseRef-'.length),
              comment: 'The license as the packages using it state it (their package metadata); the full text is not in it.',
            })),
        }
      : {}),
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: image },
      ...pkgs.map((p) => ({ spdxElementId: image, relationshipType: 'CONTAINS', relatedSpdxElement: p.SPDXID })),
    ],
  };
}
