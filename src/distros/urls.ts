/** endoflife.date's product pages at the commit the lifecycle dates were checked against (2026-11-24). */
export const EOL_DATE = 'https://github.com/endoflife-date/endoflife.date/blob/a70eca337600e7d721dc48112c271f98661d208b/products';

/** Microsoft's published OVAL files for Azure Linux and CBL-Mariner. */
export const MICROSOFT_VULNERABILITY_DATA = 'https://raw.githubusercontent.com/microsoft/AzureLinuxVulnerabilityData/main';

/** osv.dev's ecosystem dumps (https://google.github.io/osv.dev/data/#data-dumps). */
export const OSV_DUMPS = 'https://osv-vulnerabilities.storage.googleapis.com';
