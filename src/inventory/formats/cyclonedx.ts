import { BulwarkError } from '../../core/errors.js';
import { sourceNameOf } from './purl.js';
import { isRec, str, type Rec, type SbomWalk } from './sbom-record.js';

/**
 * CycloneDX properties that name a component's source package: Bulwark's own, syft's, and
 * trivy's (`aquasecurity:trivy:SrcName`; trivy writes no `upstream=`, so a trivy SBOM of a
 * Debian or Ubuntu image lost every source name and libssl3 never met openssl's advisories).
 */
const CDX_SOURCE_PROPERTIES = new Set(['bulwark:package:source', 'syft:metadata:sourceRpm', 'aquasecurity:trivy:SrcName']);

/** A Debian source version from trivy's split properties: `[SrcEpoch:]SrcVersion[-SrcRelease]`. */
function trivyDebSourceVersion(props: ReadonlyMap<string, string>): string | null {
  const version = props.get('aquasecurity:trivy:SrcVersion');
  if (version === undefined || version === '') return null;
  const epoch = props.get('aquasecurity:trivy:SrcEpoch');
  const release = props.get('aquasecurity:trivy:SrcRelease');
  return `${epoch !== undefined && epoch !== '' && epoch !== '0' ? `${epoch}:` : ''}${version}${release !== undefined && release !== '' ? `-${release}` : ''}`;
}

/**
 * Every component of a CycloneDX JSON document, nested ones too, in document order.
 * @example walkCycloneDx(JSON.parse(text), walk)
 */
export function walkCycloneDx(doc: Rec, w: SbomWalk): void {
  const { file } = w;
  const walk = (components: unknown, path: string): void => {
    if (components === undefined) return;
    if (!Array.isArray(components)) throw new BulwarkError('input.invalid', `${file}: ${path} is not an array`, { file });
    components.forEach((c: unknown, i) => {
      const where = `${path}[${String(i)}]`;
      if (!isRec(c)) throw new BulwarkError('input.invalid', `${file}: ${where} is not an object`, { file });
      const here = w.at(c, where);
      let source: string | null = null;
      const props = new Map<string, string>();
      if (Array.isArray(c['properties']))
        for (const prop of c['properties'] as unknown[])
          if (isRec(prop) && str(prop['name']) !== null && str(prop['value']) !== null) props.set(str(prop['name']) ?? '', str(prop['value']) ?? '');
      if (Array.isArray(c['properties']))
        for (const prop of c['properties'] as unknown[])
          if (isRec(prop) && CDX_SOURCE_PROPERTIES.has(str(prop['name']) ?? '') && str(prop['value']) !== null) {
            try {
              source = sourceNameOf(str(prop['value']) ?? '');
            } catch (err) {
              throw new BulwarkError('input.invalid', `${here}: property ${str(prop['name']) ?? ''}: ${(err as Error).message}`, { file });
            }
          }
      w.take(str(c['purl']), here, source, trivyDebSourceVersion(props));
      walk(c['components'], `${where}.components`);
    });
  };
  walk(doc['components'], 'components');
}
