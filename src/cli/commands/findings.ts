import { writeFile } from 'node:fs/promises';
import type { Severity } from '../../core/advisory.js';
import { findFindings, renderReport, type FindingsQuery, type ReportFormat } from '../../services/report.js';
import { overThreshold } from '../../services/report-render.js';
import { openStore } from '../../services/store.js';
import type { CliIo } from '../io.js';
import { writeAll } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';

/**
 * `bulwark findings` and `bulwark report`: the stored findings, filtered, as a terminal table or
 * a file format; `--fail-on SEVERITY` exits 1 when an open finding is that severe or worse.
 */
export async function findingsCommand(o: { io: CliIo; dbPath: string | undefined; query: FindingsQuery; format: ReportFormat; output: string | undefined; failOn: Severity | undefined }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const rows = await findFindings(db, o.query);
    let text: string;
    if (o.format === 'table') {
      // The risk and its reason (issue #16) once they mean something: signals synced, or asked for.
      const risky = o.query.sort !== undefined && o.query.sort !== 'severity' || o.query.kev === true || o.query.epssAbove !== undefined || rows.some((r) => r.risk?.kev != null || r.risk?.epss != null);
      const head = ['SEVERITY', 'HOST', 'ADVISORY', 'CVES', 'PACKAGE', 'INSTALLED', 'FIXED IN', 'STATUS', 'FIRST SEEN', ...(risky ? ['RISK', 'WHY'] : [])];
      text =
        formatTable(
          head,
          rows.map((r) => [
            r.severity,
            r.targetName,
            r.advisoryId,
            r.cves.slice(0, 2).join(' ') + (r.cves.length > 2 ? ` +${String(r.cves.length - 2)}` : ''),
            r.package,
            r.installed,
            r.fixed ?? '-',
            r.status,
            r.firstSeen.slice(0, 10),
            ...(risky ? [r.risk === undefined ? '-' : r.risk.score.toFixed(1), r.risk?.reason ?? '-'] : []),
          ]),
        ) + `${String(rows.length)} findings\n`;
    } else text = await renderReport(db, rows, o.format);
    if (o.output !== undefined) {
      await writeFile(o.output, text, { mode: 0o644 });
      await writeAll(o.io.stderr, `wrote ${String(rows.length)} findings to ${o.output}\n`);
    } else await writeAll(o.io.stdout, text);
    return o.failOn !== undefined && overThreshold(rows, o.failOn) ? EXIT.findings : EXIT.ok;
  } finally {
    await db.close();
  }
}
