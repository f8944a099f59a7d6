import { BulwarkError } from '../../core/errors.js';
import { parseSourceRpm } from '../../core/package/nevra.js';
import { parsePurl } from '../../core/package/purl.js';
import { UNKNOWN_ARCH, type InstalledPackage } from '../../core/target.js';

/** A source rpm file name (`perl-5.38.2-509.azl3.src.rpm`) or a bare source name, as its name. */
export function sourceNameOf(text: string): string | null {
  const t = text.trim();
  if (t === '') return null;
  if (t.endsWith('.rpm')) return parseSourceRpm(t)?.name ?? null;
  return /^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/.test(t) ? t : null;
}

/**
 * One package from a purl (purl-spec PURL-TYPES): pkg:rpm/… (version `V-R`, qualifiers `epoch`,
 * `arch`, `upstream` = the source rpm) or pkg:deb/… (`arch`, `upstream` = source[@version]).
 * A purl of another type, or one without a version, is not a package Bulwark can judge: the
 * reason is returned, and the caller names the component in a warning.
 */
export function fromPurl(purl: string, at: string, file: string): InstalledPackage | string {
  let p;
  try {
    p = parsePurl(purl);
  } catch (err) {
    throw new BulwarkError('input.invalid', `${at}: ${(err as Error).message}`, { file });
  }
  if (p.type !== 'rpm' && p.type !== 'deb') return `${purl} is not an rpm or deb package (pkg:${p.type})`;
  if (p.version === null) return `${purl} has no version`;
  // purl-spec: arch=source is a Debian source package; an rpm's source is arch src (or nosrc).
  // Neither is installed: it would be judged as a binary named like its source.
  const arch = p.qualifiers['arch'];
  if ((p.type === 'rpm' && (arch === 'src' || arch === 'nosrc')) || (p.type === 'deb' && arch === 'source'))
    return `${purl} is a source package (arch=${arch}), not an installed package`;
  if (p.type === 'rpm') {
    // Some SBOM writers put the epoch in the version (`@1:3.0.7-24.el9`) where purl-spec wants
    // the `epoch` qualifier. rpm versions hold no ':' (rpmbuild refuses one), so it is the epoch:
    // read as version "1:3.0.7" it compared as newer than every 0: fix and hid the finding.
    const inVersion = /^(\d+):/.exec(p.version);
    const evr = inVersion === null ? p.version : p.version.slice(inVersion[0].length);
    if (evr.includes(':') || evr === '') throw new BulwarkError('input.invalid', `${at}: version "${p.version}" is not an rpm [E:]V-R`, { file });
    const dash = evr.lastIndexOf('-');
    const version = dash > 0 ? evr.slice(0, dash) : evr;
    const release = dash > 0 ? evr.slice(dash + 1) : null;
    const qualifier = p.qualifiers['epoch'];
    const epochText = qualifier ?? inVersion?.[1];
    const epoch = epochText === undefined ? null : Number(epochText);
    if (epoch !== null && (!/^\d{1,10}$/.test(epochText ?? '') || !Number.isInteger(epoch) || epoch > 0xffff_ffff))
      throw new BulwarkError('input.invalid', `${at}: epoch "${epochText ?? ''}" is not a number`, { file });
    if (inVersion !== null && qualifier !== undefined && Number(inVersion[1]) !== epoch)
      throw new BulwarkError('input.invalid', `${at}: the version says epoch ${inVersion[1] ?? ''} but the epoch qualifier says ${qualifier}`, { file });
    const upstream = p.qualifiers['upstream'];
    let sourceName: string | null = null;
    try {
      if (upstream !== undefined) sourceName = sourceNameOf(upstream);
    } catch (err) {
      throw new BulwarkError('input.invalid', `${at}: upstream: ${(err as Error).message}`, { file });
    }
    // No arch= says nothing of the arch: "noarch" here was made up, and outputs showed it.
    return { family: 'rpm', name: p.name, epoch, version, release, arch: p.qualifiers['arch'] ?? UNKNOWN_ARCH, sourceName, sourceVersion: null };
  }
  const upstream = p.qualifiers['upstream'];
  const parts = upstream?.split('@') ?? [];
  // No upstream=: the document may say the source elsewhere (trivy's SrcName); the caller
  // falls back to the binary's own name.
  return {
    family: 'deb',
    name: p.name,
    epoch: null,
    version: p.version,
    release: null,
    arch: p.qualifiers['arch'] ?? UNKNOWN_ARCH,
    sourceName: parts[0] ?? null,
    sourceVersion: parts[1] ?? null,
  };
}
