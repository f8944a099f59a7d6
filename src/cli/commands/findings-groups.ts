import type { Severity } from '../../core/advisory.js';
import type { FindingStatus } from '../../core/finding.js';
import { findingGroupsPage, type FindingGroup } from '../../services/finding-groups.js';
import { requireTargets } from '../../services/report.js';
import { openStore } from '../../services/store.js';
import { plural } from '../../lib/words.js';
import { writeAll, type CliIo } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';

/**
 * `bulwark findings --group advisory|source` (issue #17): one line per fix (an advisory) or per
 * source package — expat, expat-devel, expat-libs and expat-debuginfo are one line, with the
 * binaries and the number of hosts under it — worst first. The ungrouped formats are unchanged.
 */
export async function findingGroupsCommand(o: {
  io: CliIo;
  dbPath: string | undefined;
  by: 'advisory' | 'source';
  query: { hosts: string[]; minSeverity: Severity | undefined; cve: string | undefined; status: FindingStatus[] | undefined };
  format: 'table' | 'json';
}): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    if (o.query.hosts.length > 0) await requireTargets(db, o.query.hosts);
    const groups: FindingGroup[] = [];
    // One host at a time when several are named; the groups of each are merged by key.
    for (const host of o.query.hosts.length === 0 ? [undefined] : o.query.hosts) {
      for (let offset = 0; ; offset += 500) {
        const page = await findingGroupsPage(
          db,
          o.by,
          {
            ...(host !== undefined ? { host } : {}),
            status: o.query.status ?? ['open', 'no-fix', 'mitigated'],
            ...(o.query.minSeverity !== undefined ? { minSeverity: o.query.minSeverity } : {}),
            ...(o.query.cve !== undefined ? { cve: o.query.cve } : {}),
          },
          { limit: 500, offset, sort: '-severity' },
        );
        groups.push(...page.items);
        if (offset + 500 >= page.total) break;
      }
    }
    if (o.format === 'json') {
      await writeAll(o.io.stdout, JSON.stringify({ by: o.by, groups }, null, 2) + '\n');
      return EXIT.ok;
    }
    const rows = groups.map((g) => [
      g.severity,
      o.by === 'advisory' ? (g.advisory?.id ?? g.key) : g.key,
      o.by === 'advisory' ? (g.advisory?.cves.slice(0, 2).join(' ') ?? '') : (g.advisories ?? []).join(' '),
      String(g.hosts),
      String(g.findings),
      g.binaries.map((b) => b.name).join(' '),
      ...(o.by === 'advisory' ? [g.advisory?.title ?? ''] : []),
    ]);
    const head = [
      'SEVERITY',
      o.by === 'advisory' ? 'ADVISORY' : 'SOURCE',
      o.by === 'advisory' ? 'CVES' : 'ADVISORIES',
      'HOSTS',
      'FINDINGS',
      'BINARIES',
      ...(o.by === 'advisory' ? ['TITLE'] : []),
    ];
    const findings = groups.reduce((n, g) => n + g.findings, 0);
    await writeAll(
      o.io.stdout,
      formatTable(head, rows) +
        `${o.by === 'advisory' ? plural(groups.length, 'advisory', 'advisories') : plural(groups.length, 'source package')}, ${plural(findings, 'finding')}\n`,
    );
    return EXIT.ok;
  } finally {
    await db.close();
  }
}
