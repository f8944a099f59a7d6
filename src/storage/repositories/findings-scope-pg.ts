import { sql, type Kysely, type RawBuilder } from 'kysely';
import { severityRank } from '../../core/advisory.js';
import { BulwarkError } from '../../core/errors.js';
import { kx, type Db } from '../database.js';
import type { Database } from '../schema.js';
import type { FindingInput, InstalledBuild } from './findings.js';

// A feed sync's re-scan on PostgreSQL as set operations (issue #14). The targets a sync touches
// fall into a few "signatures": the same in-scope builds (links to the builds the changed
// advisories name), running kernel, streams, channels and live patches give the same findings,
// whatever the host. The signatures and each target's one are computed in SQL from the inverted
// index (temporary tables on one connection); the service judges each signature once (the same
// code as a host's scan), and the findings are written for every member target at once,
// a bounded range of targets per transaction: UPDATE … FROM for findings still found, INSERT …
// SELECT for new ones, UPDATE … FROM for those no longer found (closed as writeFindingSets
// closes them). Nothing is read or written per host in JavaScript.

/** A set of targets that the scope sees alike. */
export interface ScopeSignature {
  sig: number;
  /** The in-scope builds (package row ids) its targets hold, ascending. */
  buildPks: number[];
  runningKernel: string | null;
  moduleStreams: string | null;
  channels: string | null;
  livePatches: string | null;
}

/** A finding of a signature (the advisory's row id resolved), in the order the judge found it. */
export interface SignatureFinding extends FindingInput {
  sig: number;
  advisoryPk: number;
}

export interface ScopeSession {
  /**
   * The targets of `release` (with an inventory) holding one of `candidatePks` or having a
   * finding on one of `advisoryPks`, grouped by signature over `buildPks`. Returns the
   * signatures and how many targets there are.
   */
  signatures(p: { release: string; buildPks: readonly number[]; candidatePks: readonly number[]; advisoryPks: readonly number[] }): Promise<{
    signatures: ScopeSignature[];
    targets: number;
  }>;
  /**
   * What each signature's targets are found to have, and the builds judged (deduplicated by the
   * caller); the targets' stored findings on `advisoryPks` are read alongside (through the
   * findings' advisory index: only the scope's rows).
   */
  putFindings(findings: readonly SignatureFinding[], builds: readonly (InstalledBuild & { sig: number })[], advisoryPks: readonly number[]): Promise<void>;
  /** Writes the findings of targets [from, to) in name order, in one transaction. */
  writeRange(from: number, to: number, now: string): Promise<void>;
}

/** Runs `fn` with a scope session on one PostgreSQL connection; its temporary tables go with it. */
export async function withScopeSession<T>(db: Db, fn: (s: ScopeSession) => Promise<T>): Promise<T> {
  if (db.dialect !== 'postgres') throw new BulwarkError('internal', 'scope sessions are PostgreSQL only');
  return kx(db)
    .connection()
    .execute(async (c) => {
      // Short statements over temporary tables: no JIT compile (a second or more each), sorts
      // and hashes of a few hundred thousand rows in memory. Reset before the connection goes back.
      await sql`set jit = off`.execute(c);
      await sql`set work_mem = '64MB'`.execute(c);
      try {
        return await fn(session(c));
      } finally {
        await sql`drop table if exists rs_t, rs_sig, rs_member, rs_cur, rs_present, rs_old`.execute(c);
        await sql`reset jit`.execute(c);
        await sql`reset work_mem`.execute(c);
      }
    });
}

const CHUNK = 20_000;

/** Whether the stored finding (table or alias `t`) keeps an operator's acceptance that has not expired at `now`. */
const acceptanceStands = (t: 'f' | 'findings', now: string): RawBuilder<unknown> =>
  sql`(${sql.raw(t)}.status = 'accepted' or (${sql.raw(t)}.status = 'withdrawn' and ${sql.raw(t)}.closed_from = 'accepted'))
    and (${sql.raw(t)}.accepted_until is null or ${sql.raw(t)}.accepted_until > ${now}::timestamptz)`;

function session(c: Kysely<Database>): ScopeSession {
  return {
    async signatures(p) {
      await sql`drop table if exists rs_t, rs_sig, rs_member, rs_cur, rs_present, rs_old`.execute(c);
      // Each touched target with its in-scope builds, found through the links' (package_pk, target_id) index.
      await sql`create temp table rs_t as
        with h as (
          select target_id, array_agg(package_pk order by package_pk) as pks, bool_or(package_pk = any(${p.candidatePks}::bigint[])) as cand
          from target_packages where package_pk = any(${p.buildPks}::bigint[]) group by target_id
        ), f as (select distinct target_id from findings where advisory_pk = any(${p.advisoryPks}::bigint[]))
        select t.id as target_id, t.name, coalesce(h.pks, '{}'::bigint[]) as pks, t.running_kernel, t.module_streams, t.channels, t.live_patches,
          coalesce(h.pks, '{}'::bigint[])::text || '|' || coalesce(quote_literal(t.running_kernel), 'N') || '|' || coalesce(quote_literal(t.module_streams), 'N')
            || '|' || coalesce(quote_literal(t.channels), 'N') || '|' || coalesce(quote_literal(t.live_patches), 'N') as k
        from targets t left join h on h.target_id = t.id
        where t.release_id = ${p.release} and t.inventory_at is not null and (coalesce(h.cand, false) or t.id in (select target_id from f))`.execute(c);
      await sql`create temp table rs_sig as
        select (row_number() over (order by k))::int as sig, k, pks, running_kernel, module_streams, channels, live_patches
        from (select distinct on (k) k, pks, running_kernel, module_streams, channels, live_patches from rs_t order by k) x`.execute(c);
      // The JS path's order: targets by name; new findings get their row ids in that order.
      await sql`create temp table rs_member as
        select t.target_id, s.sig, (row_number() over (order by t.name))::int - 1 as ord from rs_t t join rs_sig s on s.k = t.k`.execute(c);
      await sql`create index on rs_member (ord)`.execute(c);
      await sql`analyze rs_member`.execute(c);
      const rows = await sql<{
        sig: number;
        pks: (string | number)[];
        running_kernel: string | null;
        module_streams: string | null;
        channels: string | null;
        live_patches: string | null;
      }>`select sig, pks, running_kernel, module_streams, channels, live_patches from rs_sig order by sig`.execute(c);
      const n = await sql<{ n: string }>`select count(*) as n from rs_member`.execute(c);
      return {
        signatures: rows.rows.map((r) => ({
          sig: r.sig,
          buildPks: r.pks.map(Number),
          runningKernel: r.running_kernel,
          moduleStreams: r.module_streams,
          channels: r.channels,
          livePatches: r.live_patches,
        })),
        targets: Number(n.rows[0]?.n ?? 0),
      };
    },
    async putFindings(findings, builds, advisoryPks) {
      await sql`create temp table rs_cur (sig int, ord int, advisory_pk bigint, package text, arch text, installed text, fixed text,
        severity text, severity_rank int, status text, reason text, source_package text)`.execute(c);
      await sql`create temp table rs_present (sig int, package text, arch text, installed text)`.execute(c);
      for (let i = 0; i < findings.length; i += CHUNK) {
        const part = findings.slice(i, i + CHUNK);
        const col = <K>(f: (x: SignatureFinding, j: number) => K): K[] => part.map((x, j) => f(x, i + j));
        await sql`insert into rs_cur select * from unnest(${col((x) => x.sig)}::int[], ${col((_, j) => j)}::int[], ${col((x) => x.advisoryPk)}::bigint[],
          ${col((x) => x.package)}::text[], ${col((x) => x.arch)}::text[], ${col((x) => x.installed)}::text[], ${col((x) => x.fixed)}::text[],
          ${col((x) => x.severity)}::text[], ${col((x) => severityRank(x.severity))}::int[], ${col((x) => x.status)}::text[],
          ${col((x) => x.reason ?? null)}::text[], ${col((x) => x.sourcePackage ?? x.package)}::text[])`.execute(c);
      }
      for (let i = 0; i < builds.length; i += CHUNK) {
        const part = builds.slice(i, i + CHUNK);
        await sql`insert into rs_present select * from unnest(${part.map((b) => b.sig)}::int[], ${part.map((b) => b.package)}::text[],
          ${part.map((b) => b.arch)}::text[], ${part.map((b) => b.installed)}::text[])`.execute(c);
      }
      await sql`create index on rs_cur (sig)`.execute(c);
      await sql`create index on rs_present (sig, package, arch, installed)`.execute(c);
      await sql`analyze rs_cur`.execute(c);
      await sql`analyze rs_present`.execute(c);
      await sql`create temp table rs_old as
        select o.pk, m.target_id, m.sig, m.ord, o.advisory_pk, o.package, o.arch, o.installed
        from findings o join rs_member m on m.target_id = o.target_id where o.advisory_pk = any(${advisoryPks}::bigint[])`.execute(c);
      await sql`create index on rs_old (ord)`.execute(c);
      await sql`analyze rs_old`.execute(c);
    },
    async writeRange(from, to, now) {
      await sql`begin`.execute(c);
      try {
        // Still found: refreshed (writeFindingSets' upsert and last_seen_at refresh give these
        // same values). An acceptance that has not expired stands, with its reason. In the table's
        // order (pk): the rows, and their entries in the indexes that end in pk, are then reached
        // page after page, not at random (a 100,000-host store is larger than memory).
        await sql`update findings f set installed = c.installed, fixed = c.fixed, severity = c.severity, severity_rank = c.severity_rank,
            status = case when ${acceptanceStands('f', now)} then 'accepted' else c.status end,
            reason = case when ${acceptanceStands('f', now)} then f.reason else c.reason end,
            last_seen_at = ${now}::timestamptz, closed_at = null, closed_from = null, source_package = c.source_package
          from (select o.pk, c.installed, c.fixed, c.severity, c.severity_rank, c.status, c.reason, c.source_package
            from rs_old o join rs_cur c on c.sig = o.sig and c.advisory_pk = o.advisory_pk and c.package = o.package and c.arch = o.arch
            where o.ord >= ${from} and o.ord < ${to} order by o.pk) c
          where f.pk = c.pk`.execute(c);
        // No longer found: `fixed` when the advisory stands with a fix (a release's end of support
        // needs none) and the build it was found on is gone, else `withdrawn` (the feed changed).
        await sql`update findings f set
            status = case when x.fixed then 'fixed' else 'withdrawn' end,
            closed_from = case when x.fixed then f.closed_from else f.status end,
            closed_at = ${now}::timestamptz
          from (
            select o.pk, (a.pk is not null and a.withdrawn_at is null
                and (o.package = '(release)' or exists (select 1 from fixes x where x.advisory_pk = o.advisory_pk))
                and not exists (select 1 from rs_present p where p.sig = o.sig and p.package = o.package and p.arch = o.arch and p.installed = o.installed)) as fixed
            from rs_old o left join advisories a on a.pk = o.advisory_pk
            where o.ord >= ${from} and o.ord < ${to}
              and not exists (select 1 from rs_cur c where c.sig = o.sig and c.advisory_pk = o.advisory_pk and c.package = o.package and c.arch = o.arch)
            order by o.pk
          ) x
          where f.pk = x.pk and ((not x.fixed and f.status not in ('fixed', 'withdrawn')) or (x.fixed and f.status <> 'fixed'))`.execute(c);
        // Found now and not stored: inserted in the JS path's order (target name, then the judge's).
        // A scan of the same host committed meanwhile may have stored one of them: then it is
        // refreshed as the still-found update above would (writeFindingSets' upsert), not refused
        // by the identity key.
        await sql`insert into findings (target_id, advisory_pk, package, arch, installed, fixed, severity, severity_rank, status, reason,
            first_seen_at, last_seen_at, closed_at, closed_from, source_package)
          select m.target_id, c.advisory_pk, c.package, c.arch, c.installed, c.fixed, c.severity, c.severity_rank, c.status, c.reason,
            ${now}::timestamptz, ${now}::timestamptz, null, null, c.source_package
          from rs_member m join rs_cur c on c.sig = m.sig
          where m.ord >= ${from} and m.ord < ${to}
            and not exists (select 1 from rs_old o where o.target_id = m.target_id and o.advisory_pk = c.advisory_pk and o.package = c.package and o.arch = c.arch)
          order by m.ord, c.ord
          on conflict (target_id, advisory_pk, package, arch) do update set installed = excluded.installed, fixed = excluded.fixed,
            severity = excluded.severity, severity_rank = excluded.severity_rank,
            status = case when ${acceptanceStands('findings', now)} then 'accepted' else excluded.status end,
            reason = case when ${acceptanceStands('findings', now)} then findings.reason else excluded.reason end,
            last_seen_at = excluded.last_seen_at, closed_at = null, closed_from = null, source_package = excluded.source_package`.execute(c);
        await sql`commit`.execute(c);
      } catch (err) {
        await sql`rollback`.execute(c);
        throw err;
      }
    },
  };
}
