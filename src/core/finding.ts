import type { Severity } from './advisory.js';

/**
 * A finding: target x advisory x package (DESIGN.md "finding").
 * - `open`: installed version is affected and a fix exists;
 * - `no-fix`: affected, no fix published yet (or the vendor will not fix);
 * - `fixed`: was open, now closed by an update (closedAt set);
 * - `accepted`: an operator accepted the risk (with a reason);
 * - `withdrawn`: closed because the feed withdrew its advisory (closedAt set), not because the
 *   host was patched; the advisory coming back reopens it;
 * - `mitigated`: affected on disk, but the running kernel carries a loaded live patch that fixes
 *   every CVE of the advisory (issue #15); still active (not closed), not planned, and its
 *   `reason` names the live patch: the kernel update and its reboot remain the fix.
 */
export type FindingStatus = 'open' | 'no-fix' | 'mitigated' | 'fixed' | 'accepted' | 'withdrawn';

/** Every finding status, in the order lists show them. */
export const FINDING_STATUSES: readonly FindingStatus[] = ['open', 'no-fix', 'mitigated', 'accepted', 'fixed', 'withdrawn'];

/** Statuses of a closed finding (closedAt set). */
export const CLOSED_STATUSES: readonly FindingStatus[] = ['fixed', 'withdrawn'];

export interface Finding {
  targetId: string;
  advisorySource: string;
  advisoryId: string;
  /** The installed package (binary name). */
  package: string;
  installed: string;
  fixed: string | null;
  severity: Severity;
  status: FindingStatus;
  /** Why the verdict differs from a literal reading of the feed, when it does. */
  reason: string | null;
  firstSeen: string;
  lastSeen: string;
  closedAt: string | null;
  /**
   * An `accepted` finding's acceptance (`bulwark findings accept`): who (an audit actor label,
   * `cli:alice`), when, and until when (null: until revoked); all null otherwise. Its reason is
   * in `reason`. (A finding's deadline is not stored: plans and compliance reports compute it
   * from the policies and profiles in force.)
   */
  acceptedBy: string | null;
  acceptedAt: string | null;
  acceptedUntil: string | null;
}
