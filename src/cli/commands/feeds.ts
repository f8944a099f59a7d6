import { searchAdvisories, type AdvisoryQuery } from '../../services/advisories.js';
import { addSource, listSources, removeSource, syncSource, syncSources, type AddSourceInput, type SyncReport } from '../../services/feeds.js';
import { openStore } from '../../services/store.js';
import { actorOf } from '../io.js';
import { BulwarkError } from '../../core/errors.js';
import type { CliIo } from '../io.js';
import { writeAll } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';

interface Common {
  io: CliIo;
  dbPath: string | undefined;
}

/** `bulwark feeds list`: every source, where it reads from and how its last sync went. */
export async function feedsListCommand(opts: Common & { json: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: opts.dbPath, env: opts.io.env });
  try {
    const sources = await listSources(db);
    if (opts.json) {
      await writeAll(opts.io.stdout, JSON.stringify(sources, null, 2) + '\n');
      return EXIT.ok;
    }
    await writeAll(
      opts.io.stdout,
      formatTable(
        ['SOURCE', 'FORMAT', 'RELEASE', 'ORIGIN', 'LAST SYNC', 'ADVISORIES', 'NEWEST', 'FRESHNESS', 'LOCATION'],
        sources.map((s) => [
          s.id,
          s.format,
          s.release ?? '-',
          s.origin,
          s.refused !== undefined ? `REFUSED ${s.refused.at}` : (s.state?.syncedAt ?? 'never'),
          s.state === null ? '-' : String((s.state.summary['advisories'] as number | undefined) ?? '-'),
          s.freshness.newestAt?.slice(0, 10) ?? '-',
          s.freshness.state === 'stale' ? `STALE (${s.freshness.ageDays === null ? '?' : String(s.freshness.ageDays)} d > ${String(s.freshness.staleAfterDays)})` : s.freshness.state,
          String(s.location),
        ]),
      ),
    );
    // A stale source is said in words under the table: an old feed is not "no new advisories".
    const stale = sources.filter((s) => s.freshness.state === 'stale');
    if (stale.length > 0) await writeAll(opts.io.stdout, stale.map((s) => `\n${s.id}: STALE: ${s.freshness.reason ?? ''}\n`).join(''));
    // A refused sync is said in words under the table: nothing of it was stored, and the scheduler
    // will not store it either until the feed changes or an operator allows it.
    const refused = sources.filter((s) => s.refused !== undefined);
    if (refused.length > 0)
      await writeAll(
        opts.io.stdout,
        refused
          .map((s) => {
            // Only the share guards can be overridden; a feed of another release never is.
            const overridable = s.refused?.reason === 'withdraw-share' || s.refused?.reason === 'mostly-skipped';
            const hint = overridable ? `\`bulwark feeds sync --source ${s.id} --allow-withdraw\` stores it if the publisher really withdrew them` : 'check the source\'s location; --allow-withdraw does not override this';
            return `\n${s.id}: the last sync was refused: ${s.refused?.error ?? ''}\n  (advisories stay as of the last good sync; ${hint})\n`;
          })
          .join(''),
      );
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark feeds add ID --location L [--format F] [--release R]`: a new source, or a catalog source pointed at a file or mirror. */
export async function feedsAddCommand(opts: Common & AddSourceInput): Promise<ExitCode> {
  const db = await openStore({ dbPath: opts.dbPath, env: opts.io.env });
  try {
    const s = await addSource(db, opts, actorOf(opts.io));
    await writeAll(opts.io.stdout, `source ${s.id} (${s.format}${s.release === null ? '' : `, ${s.release}`}) reads ${String(s.location)} [${s.origin}]\n`);
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

export async function feedsRemoveCommand(opts: Common & { id: string }): Promise<ExitCode> {
  const db = await openStore({ dbPath: opts.dbPath, env: opts.io.env });
  try {
    const removed = await removeSource(db, opts.id, actorOf(opts.io));
    if (!removed) throw new BulwarkError('usage', `no configured source "${opts.id}" (built-in catalog entries cannot be removed, only overridden)`);
    await writeAll(opts.io.stdout, `removed ${opts.id}\n`);
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

function summaryLine(r: SyncReport): string {
  if (r.status === 'failed') return `${r.source}: FAILED: ${r.error ?? 'unknown error'}`;
  if (r.status === 'refused') return `${r.source}: REFUSED: ${r.error ?? 'unknown reason'}`;
  if (r.status !== 'synced') return `${r.source}: ${r.status} (${r.seconds.toFixed(3)} s)`;
  // Exploitation signals (KEV, EPSS) count entries, not advisories; `withdrawn`: dropped by the publisher.
  if (r.signal !== undefined)
    return (
      `${r.source}: ${String(r.advisories)} ${r.signal.kind === 'kev' ? `KEV entries (catalog ${r.signal.version}` : `EPSS scores (model ${r.signal.version}`}, ${r.signal.newestAt.slice(0, 10)}): ` +
      `${String(r.added)} added, ${String(r.changed)} ${r.signal.kind === 'kev' ? 'changed' : 'moved'}, ${String(r.withdrawn)} dropped, ${String(r.restored)} restored, ${String(r.unchanged)} unchanged, ${String(r.warnings)} skipped-with-warnings, ${r.seconds.toFixed(2)} s`
    );
  return (
    `${r.source}: ${String(r.advisories)} advisories in ${String(r.documents)} document${r.documents === 1 ? '' : 's'}: ` +
    `${String(r.added)} added, ${String(r.changed)} changed, ${String(r.withdrawn)} withdrawn, ${String(r.restored)} restored, ` +
    `${String(r.unchanged)} unchanged, ${String(r.warnings)} skipped-with-warnings, ${r.seconds.toFixed(2)} s` +
    (r.rescanned === undefined ? '' : `; ${String(r.rescanned)} targets re-scanned`)
  );
}

/**
 * `bulwark feeds sync [--source S …] [--file F] [--force] [--allow-withdraw]`: syncs the named
 * sources (default: every configured one and the catalog's), printing progress on stderr and a
 * summary line per source. Exit 4 when a source failed. Each sync is audited by the service.
 */
export async function feedsSyncCommand(opts: Common & { sources: string[]; file: string | undefined; force: boolean; allowWithdraw?: boolean; json: boolean; verbose: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: opts.dbPath, env: opts.io.env });
  try {
    if (opts.file !== undefined && opts.sources.length !== 1) throw new BulwarkError('usage', '--file needs exactly one --source (the source the file is a copy of)');
    let last = 0;
    const onProgress = (p: { source: string; advisories: number; documents: number }): void => {
      const now = performance.now();
      if (now - last < 1000) return;
      last = now;
      opts.io.stderr.write(`${p.source}: ${String(p.advisories)} advisories read…\n`);
    };
    const common = { force: opts.force, allowWithdraw: opts.allowWithdraw === true, onProgress, actor: actorOf(opts.io) };
    let reports: SyncReport[];
    if (opts.file !== undefined) {
      const [only] = opts.sources;
      if (only === undefined) throw new BulwarkError('usage', '--file needs --source');
      reports = [await syncSource(db, only, { ...common, file: opts.file })];
    } else {
      const ids = opts.sources.length > 0 ? opts.sources : (await listSources(db)).map((s) => s.id);
      reports = await syncSources(db, ids, common);
    }
    if (opts.json) await writeAll(opts.io.stdout, JSON.stringify(reports, null, 2) + '\n');
    else {
      const lines: string[] = [];
      for (const r of reports) {
        lines.push(summaryLine(r));
        const samples = opts.verbose ? r.warningSamples : r.warningSamples.slice(0, 5);
        for (const w of samples) lines.push(`  warning${w.record === null ? '' : ` ${w.record}`}: ${w.message}`);
        if (r.warnings > samples.length) lines.push(`  … ${String(r.warnings - samples.length)} more warnings${opts.verbose ? '' : ' (--verbose shows up to 50)'}`);
      }
      await writeAll(opts.io.stdout, lines.join('\n') + '\n');
    }
    return reports.some((r) => r.status === 'failed' || r.status === 'refused') ? EXIT.targetsFailed : EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark advisories [--cve] [--package] [--release] [--source]`: search the store. */
export async function advisoriesCommand(opts: Common & AdvisoryQuery & { json: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: opts.dbPath, env: opts.io.env });
  try {
    const list = await searchAdvisories(db, opts);
    if (opts.json) {
      await writeAll(opts.io.stdout, JSON.stringify(list, null, 2) + '\n');
      return EXIT.ok;
    }
    const rows = list.flatMap((a) => {
      const fixes = a.fixes.length === 0 ? [null] : a.fixes;
      return fixes.map((f) => [
        a.severity,
        a.id,
        a.cves.slice(0, 3).join(' ') + (a.cves.length > 3 ? ` +${String(a.cves.length - 3)}` : ''),
        f?.release ?? '-',
        f === null ? '-' : `${f.package}${f.arch === null ? '' : `.${f.arch}`}`,
        f?.status ?? '-',
        f?.fixed ?? f?.lastAffected ?? '-',
        a.source,
      ]);
    });
    await writeAll(opts.io.stdout, formatTable(['SEVERITY', 'ADVISORY', 'CVES', 'RELEASE', 'PACKAGE', 'STATUS', 'VERSION', 'SOURCE'], rows));
    await writeAll(opts.io.stderr, `${String(list.length)} advisories\n`);
    return EXIT.ok;
  } finally {
    await db.close();
  }
}
