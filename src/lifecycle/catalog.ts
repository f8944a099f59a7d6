/**
 * Release lifecycle facts (issue #4): general availability, end of standard support (full
 * updates), end of security support (the vendor's end of life), end of extended support (paid
 * or LTS programmes: RHEL ELS, Ubuntu ESM/Pro, Debian LTS, AKS extension). Dates are ISO
 * (YYYY-MM-DD), the last day covered; null when there is none or it is not announced. Checked
 * on 2026-11-24 against the sources given with each row (endoflife.date's product pages at
 * commit a70eca33, Microsoft's documentation and statements, the distributions' own pages).
 */
export interface LifecycleFacts {
  /** Release id as Bulwark uses it (`<os-release ID>:<version>`). */
  release: string;
  name: string;
  ga: string | null;
  endOfStandardSupport: string | null;
  endOfSecuritySupport: string | null;
  endOfExtendedSupport: string | null;
  /** A release announced but not generally available. */
  preview?: boolean;
  sources: string[];
  note?: string;
}

const EOL_DATE = 'https://github.com/endoflife-date/endoflife.date/blob/a70eca337600e7d721dc48112c271f98661d208b/products';

export const lifecycleCatalog: readonly LifecycleFacts[] = [
  {
    release: 'mariner:1.0',
    name: 'CBL-Mariner 1.0',
    ga: '2020-09-16',
    endOfStandardSupport: null,
    endOfSecuritySupport: '2023-08-31',
    endOfExtendedSupport: null,
    sources: ['https://github.com/endoflife-date/endoflife.date/pull/10427', 'https://github.com/microsoft/azurelinux/issues/6306', 'https://github.com/dotnet/dotnet-docker/issues/4558'],
  },
  {
    release: 'mariner:2.0',
    name: 'CBL-Mariner 2.0 / Azure Linux 2.0',
    ga: '2022-05-25',
    endOfStandardSupport: null,
    endOfSecuritySupport: '2025-07-31',
    endOfExtendedSupport: '2025-11-30',
    sources: ['https://github.com/Azure/azure-cli/pull/31533', 'https://github.com/microsoft/azurelinux/issues/13555', 'https://github.com/Azure/AKS/issues/4988', 'MicrosoftDocs/azure-management-docs articles/azure-linux/includes/azure-linux-retirement.md'],
    note: 'AKS node images received security updates until 2025-11-30; tags published after that are not support.',
  },
  {
    release: 'azurelinux:3.0',
    name: 'Azure Linux 3.0',
    ga: '2024-08-01',
    endOfStandardSupport: null,
    endOfSecuritySupport: '2027-08-31',
    endOfExtendedSupport: null,
    sources: ['https://github.com/endoflife-date/endoflife.date/pull/10427'],
    note: 'The end date is an estimate (three years after GA, as for 2.0); no dated Microsoft statement was found.',
  },
  {
    release: 'azurelinux:4.0',
    name: 'Azure Linux 4.0',
    ga: null,
    endOfStandardSupport: null,
    endOfSecuritySupport: null,
    endOfExtendedSupport: null,
    preview: true,
    sources: ['MicrosoftDocs/azure-management-docs articles/azure-linux/includes/azure-linux-4-preview.md'],
  },
  ...(
    [
      ['fedora:41', 'Fedora 41', '2024-10-29', null, '2025-12-15', null],
      ['fedora:42', 'Fedora 42', '2025-04-15', null, '2026-05-27', null],
      ['fedora:43', 'Fedora 43', '2025-10-28', null, '2026-12-09', null],
      ['fedora:44', 'Fedora 44', '2026-04-28', null, '2027-06-02', null],
    ] as const
  ).map(([release, name, ga, std, sec, ext]) => ({ release, name, ga, endOfStandardSupport: std, endOfSecuritySupport: sec, endOfExtendedSupport: ext, sources: [`${EOL_DATE}/fedora.md`] })),
  ...(
    [
      ['rhel:8', 'Red Hat Enterprise Linux 8', '2019-05-07', '2024-05-31', '2029-05-31', '2033-05-31'],
      ['rhel:9', 'Red Hat Enterprise Linux 9', '2022-05-18', '2027-05-31', '2032-05-31', '2036-05-31'],
      ['rhel:10', 'Red Hat Enterprise Linux 10', '2025-05-20', '2030-05-31', '2035-05-31', '2039-05-31'],
    ] as const
  ).map(([release, name, ga, std, sec, ext]) => ({ release, name, ga, endOfStandardSupport: std, endOfSecuritySupport: sec, endOfExtendedSupport: ext, sources: [`${EOL_DATE}/rhel.md`, 'https://access.redhat.com/support/policy/updates/errata'] })),
  ...(
    [
      ['almalinux:8', 'AlmaLinux 8', '2021-03-30', '2024-05-31', '2029-05-31'],
      ['almalinux:9', 'AlmaLinux 9', '2022-05-26', '2027-05-31', '2032-05-31'],
      ['almalinux:10', 'AlmaLinux 10', '2025-05-27', '2030-05-31', '2035-05-31'],
    ] as const
  ).map(([release, name, ga, std, sec]) => ({ release, name, ga, endOfStandardSupport: std, endOfSecuritySupport: sec, endOfExtendedSupport: null, sources: [`${EOL_DATE}/almalinux.md`] })),
  ...(
    [
      ['rocky:8', 'Rocky Linux 8', '2021-05-01', '2024-05-31', '2029-05-31'],
      ['rocky:9', 'Rocky Linux 9', '2022-07-14', '2027-05-31', '2032-05-31'],
      ['rocky:10', 'Rocky Linux 10', '2025-06-11', '2030-05-31', '2035-05-31'],
    ] as const
  ).map(([release, name, ga, std, sec]) => ({ release, name, ga, endOfStandardSupport: std, endOfSecuritySupport: sec, endOfExtendedSupport: null, sources: [`${EOL_DATE}/rocky-linux.md`] })),
  ...(
    [
      ['ubuntu:20.04', 'Ubuntu 20.04 LTS', '2020-04-23', '2022-10-01', '2025-05-31', '2030-04-02'],
      ['ubuntu:22.04', 'Ubuntu 22.04 LTS', '2022-04-21', '2024-09-30', '2027-04-01', '2032-04-09'],
      ['ubuntu:24.04', 'Ubuntu 24.04 LTS', '2024-04-25', '2029-05-31', '2029-05-31', '2036-05-31'],
      ['ubuntu:26.04', 'Ubuntu 26.04 LTS', '2026-04-23', '2031-04-30', '2031-04-30', '2036-04-30'],
    ] as const
  ).map(([release, name, ga, std, sec, ext]) => ({ release, name, ga, endOfStandardSupport: std, endOfSecuritySupport: sec, endOfExtendedSupport: ext, sources: [`${EOL_DATE}/ubuntu.md`, 'https://ubuntu.com/about/release-cycle'] })),
  ...(
    [
      ['debian:11', 'Debian 11 (bullseye)', '2021-08-14', '2024-08-14', '2026-08-31'],
      ['debian:12', 'Debian 12 (bookworm)', '2023-06-10', '2026-07-11', '2028-06-30'],
      ['debian:13', 'Debian 13 (trixie)', '2025-08-09', '2028-08-09', '2030-06-30'],
    ] as const
  ).map(([release, name, ga, sec, ext]) => ({ release, name, ga, endOfStandardSupport: null, endOfSecuritySupport: sec, endOfExtendedSupport: ext, sources: [`${EOL_DATE}/debian.md`, 'https://wiki.debian.org/LTS'] })),
];

export type LifecycleState = 'preview' | 'supported' | 'security-only' | 'extended-only' | 'end-of-life' | 'unknown';

export interface LifecycleStatus {
  release: string;
  state: LifecycleState;
  facts: LifecycleFacts | null;
  /** Days until the end of security support (negative: since), or null. */
  daysLeft: number | null;
}

/**
 * Where a release stands on a day.
 * @example lifecycleStatus('mariner:2.0', new Date('2026-01-01')).state // 'end-of-life'
 */
export function lifecycleStatus(release: string, now: Date, catalog: readonly LifecycleFacts[] = lifecycleCatalog): LifecycleStatus {
  const facts = catalog.find((f) => f.release === release) ?? null;
  if (facts === null) return { release, state: 'unknown', facts, daysLeft: null };
  const day = now.toISOString().slice(0, 10);
  const after = (d: string | null): boolean => d !== null && day > d;
  const daysLeft = facts.endOfSecuritySupport === null ? null : Math.round((Date.parse(`${facts.endOfSecuritySupport}T23:59:59Z`) - now.getTime()) / 86_400_000);
  let state: LifecycleState;
  if (facts.preview === true || (facts.ga !== null && day < facts.ga)) state = 'preview';
  else if (after(facts.endOfSecuritySupport)) state = after(facts.endOfExtendedSupport) || facts.endOfExtendedSupport === null ? 'end-of-life' : 'extended-only';
  else if (after(facts.endOfStandardSupport)) state = 'security-only';
  else state = 'supported';
  return { release, state, facts, daysLeft };
}
