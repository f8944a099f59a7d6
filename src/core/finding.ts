import type { Severity } from './advisory.js';

/**
 * A finding: target x advisory x package (DESIGN.md "finding").
 * - `open`: installed version is affected and a fix exists;
 * - `no-fix`: affected, no fix published yet (or the vendor will not fix);
 * - `fixed`: was open, now closed by an update (closedAt set);
 * - `accepted`: an operator accepted the risk (with a reason).
 */
export type FindingStatus = 'open' | 'no-fix' | 'fixed' | 'accepted';

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
  deadline: string | null;
}
