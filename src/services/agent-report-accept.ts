import { createHash } from 'node:crypto';
import { BulwarkError } from '../core/errors.js';
import { releaseFamily } from '../distros/registry.js';
import { parseAgentReport } from '../inventory/agent-report.js';
import {
  agentAddress,
  forgetReport,
  reportDeltaCounts,
  planReportDelta,
  rememberDelta,
  rememberedSha256,
  rememberReport,
  rememberState,
  storeDelta,
} from './agent-report-delta.js';
import { deltaFromStore, planFromStore } from './agent-report-store.js';
import { getTarget, inventoryFingerprint, setAgentBootId, setInventoryFingerprint, setReportedHost, transaction, type AgentRow } from '../storage/index.js';
import type { NonceClaim } from './agent-nonce.js';
import { scanChanged } from './scan.js';
import { saveInventoryWithSources } from './source-names.js';
import { systemClock, type Clock, type Db } from './store.js';

/**
 * Stores an agent's inventory report and matches it; returns a one-line summary for the agent.
 * `nonce`, the request's (the route's), is stored in the report's transaction (agent-nonce.ts).
 * `o.sha256` is the text's SHA-256 when the caller has it (the route: the signature's, of the
 * same bytes), so a report is hashed once.
 */
export async function acceptAgentReport(
  db: Db,
  agent: AgentRow,
  text: string,
  nonce: NonceClaim | null = null,
  clock: Clock = systemClock,
  o: { sha256?: string } = {},
): Promise<string> {
  const fingerprint = o.sha256 ?? createHash('sha256').update(text).digest('hex');
  const summary = (packages: number, scan: { active: number; counts: { opened: number; closed: number } }): string =>
    `ok ${String(packages)} packages, ${String(scan.active)} findings (${String(scan.counts.opened)} new, ${String(scan.counts.closed)} closed)\n`;
  // A report that differs from the host's last in a few package lines: only those are parsed,
  // stored and matched again (agent-report-delta.ts), when the host still holds that last report.
  // Tried first when the server remembers another report of the host: the report's transaction
  // checks that the host holds it (its fingerprint, which is then not this report's), so the
  // host's row is not read before it as well (issue #14). Otherwise nothing was written, and the
  // report goes the way below.
  const rememberedAs = rememberedSha256(db, agent.targetId);
  const tried = rememberedAs !== null && rememberedAs !== fingerprint;
  const delta = tried ? planReportDelta(db, agent.targetId, text, fingerprint) : null;
  if (delta !== null) {
    const done = await storeDelta(db, agent, delta.report, () => Promise.resolve(delta), fingerprint, nonce, clock);
    if (done !== null) {
      rememberDelta(db, agent.targetId, delta);
      reportDeltaCounts.delta++;
      return summary(delta.count, done.scan);
    }
  }
  // Most reports repeat the last one byte for byte: nothing to store or match again (feed syncs
  // re-match the hosts their changes touch). A host is matched afresh at least once a day, for
  // what time alone changes (a release reaching its end of support).
  const last = await inventoryFingerprint(db, agent.targetId);
  const nowMs = clock().getTime();
  if (last?.sha256 === fingerprint && last.at !== null && nowMs - Date.parse(last.at) < 86_400_000) {
    await nonce?.store(db);
    return 'ok unchanged\n';
  }
  const where = `report of agent ${agent.id} (host ${agent.hostname})`;
  // No difference from a remembered report (none remembered, this very report, or one the
  // difference cannot take): the difference from what the store holds (agent-report-store.ts).
  // A difference planned above whose host no longer held its base goes the whole way below.
  if (delta === null && last !== null && last.sha256 !== null) {
    const plan = await planFromStore(text, fingerprint, last, where);
    const done = plan === null ? null : await storeDelta(db, agent, plan.report, (tx) => deltaFromStore(tx, agent.targetId, plan), fingerprint, nonce, clock);
    if (plan !== null && done !== null) {
      rememberState(db, agent.targetId, plan.state);
      reportDeltaCounts.stored++;
      return summary(done.delta.count, done.scan);
    }
  }
  forgetReport(db, agent.targetId);
  reportDeltaCounts.whole++;
  const r = await parseAgentReport(text, where);
  // A reboot step waits for a report from another boot; one found begun after a crash asks when
  // the host booted. Rare (once a boot), so its nonce is stored first, on its own: a replay changes nothing.
  if (r.bootId !== null && (r.bootId !== agent.bootId || r.bootedAt !== agent.bootedAt)) {
    await nonce?.store(db);
    await setAgentBootId(db, agent.id, r.bootId, r.bootedAt);
  }
  if (r.release === null || releaseFamily(r.release) === null)
    throw new BulwarkError('input.invalid', `report of agent ${agent.id}: cannot tell the release from its os-release`);
  const release = r.release;
  const now = clock().toISOString();
  // One transaction: the inventory, its matching and the fingerprint are stored together, or
  // none of them (a report whose matching fails leaves nothing, and is matched when resent).
  const { scan, digest } = await transaction(db, async (tx) => {
    await nonce?.store(tx);
    const t = await getTarget(tx, agent.targetId);
    if (t === null) throw new BulwarkError('storage.not-found', `agent ${agent.id} has no host`);
    await setReportedHost(tx, t.id, { arch: r.arch, address: agentAddress(agent, r, release), image: r.image });
    const s = await saveInventoryWithSources(
      tx,
      {
        targetId: t.id,
        collectedAt: now,
        release,
        arch: r.arch,
        runningKernel: r.runningKernel,
        rebootRequired: r.rebootRequired,
        packages: r.packages,
        streams: r.streams,
        livePatches: r.livePatches,
      },
      now,
      { digest: true },
    );
    // The release and kernel before this report; other streams or channels (Ubuntu Pro
    // enabled, say) change what every package's fixes mean.
    const streamsChanged = JSON.stringify(t.streams) !== JSON.stringify(r.streams);
    const saved = { ...s, ...(streamsChanged ? { changedNames: [] } : {}), before: { release: t.release, runningKernel: t.runningKernel } };
    // Only what changed is matched again: a report that changed three packages re-matches three.
    const matched = await scanChanged(tx, agent.targetId, saved, { release, runningKernel: r.runningKernel }, clock);
    // Only a report that was stored and matched is recognised when it comes again.
    await setInventoryFingerprint(tx, agent.targetId, fingerprint, now, s.digest ?? null);
    return { scan: matched, digest: s.digest };
  });
  rememberReport(db, agent.targetId, text, fingerprint, r, digest);
  return summary(r.packages.length, scan);
}
