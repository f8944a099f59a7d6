/**
 * Which feed format a document is, from its first bytes (decompressed): the XML root element
 * or tell-tale JSON keys. Used when an operator adds a local file without naming its format.
 * Repository metadata (repomd.xml, primary.xml) is recognised and refused by name: it lists
 * packages, not advisories (repositories are issue #7's `bulwark repo`).
 */
export type DetectedFormat = { format: string } | { format: null; reason: string };

/**
 * @example detectFeedFormat('<?xml version="1.0"?><oval_definitions …') // { format: 'oval' }
 */
export function detectFeedFormat(head: string): DetectedFormat {
  const text = head.replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('<')) {
    // Skip the XML declaration, comments, processing instructions and a DOCTYPE to the root.
    const body = text.replace(/^(?:<\?[\s\S]*?\?>\s*|<!--[\s\S]*?-->\s*|<!DOCTYPE[^>]*>\s*)*/, '');
    const root = /^<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)/.exec(body)?.[1];
    switch (root) {
      case 'oval_definitions':
        return { format: 'oval' };
      case 'updates':
        return { format: 'updateinfo' };
      case 'repomd':
        return { format: null, reason: 'rpm-md repomd.xml: repository metadata, not an advisory feed (its updateinfo member is one)' };
      case 'metadata':
      case 'filelists':
      case 'otherdata':
        return { format: null, reason: `rpm-md ${root === 'metadata' ? 'primary' : root}.xml: a package list, not an advisory feed` };
      case undefined:
        return { format: null, reason: 'XML without a readable root element' };
      default:
        return { format: null, reason: `XML with root element <${root}>: not a feed format Bulwark reads` };
    }
  }
  if (text.startsWith('{') || text.startsWith('[')) {
    if (/"csaf_version"\s*:/.test(text)) return { format: 'csaf-vex' };
    if (/"catalogVersion"\s*:/.test(text) && /"vulnerabilities"\s*:/.test(text)) return { format: 'kev' };
    if (/"advisories"\s*:/.test(text) && /"source"\s*:/.test(text)) return { format: 'native' };
    if (/"(affected|schema_version|modified)"\s*:/.test(text) && /"id"\s*:/.test(text)) return { format: 'osv' };
    return { format: null, reason: "JSON that is not CSAF, OSV or Bulwark's native format" };
  }
  if (/^#model_version:/.test(text) || /^cve,epss,percentile\r?$/m.test(text.slice(0, 200))) return { format: 'epss' };
  return { format: null, reason: 'neither XML nor JSON' };
}
