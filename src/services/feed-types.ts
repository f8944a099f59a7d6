import type { CatalogSource } from '../feeds/catalog.js';
import type { FeedWarning } from '../feeds/types.js';
import { FeedLocation } from '../lib/location.js';
import type { FeedState } from '../storage/index.js';
import type { Actor } from './audit.js';
import type { Clock } from './store.js';
import type { FeedFreshness } from './freshness.js';

// What feeds and their syncs are: limits, a source as shown, a sync's report and options.

/** Limits for one feed; a document or archive past them is refused with a clear error. */
export interface FeedLimits {
  /** Most bytes downloaded (compressed). */
  maxDownloadBytes: number;
  /** Most bytes of one document after decompression. */
  maxDocumentBytes: number;
  /** Most bytes of a whole archive after decompression. */
  maxTotalBytes: number;
}

export const DEFAULT_LIMITS: FeedLimits = {
  maxDownloadBytes: 4 * 1024 ** 3,
  maxDocumentBytes: 512 * 1024 ** 2,
  maxTotalBytes: 64 * 1024 ** 3,
};

export { FeedLocation, redactLocation } from '../lib/location.js';

/** A feed's last sync as shown: its location redacted by construction, its summary's too. */
export type FeedSourceState = Omit<FeedState, 'location'> & { location: FeedLocation };

/** A feed source as the operator sees it: the catalog merged with the stored additions and overrides. */
export interface FeedSource {
  id: string;
  format: string;
  location: FeedLocation;
  release: string | null;
  description: string;
  origin: 'catalog' | 'configured' | 'catalog, overridden';
  /** Who chose the location: the operator (catalog, CLI) or an admin token (API). */
  addedVia: 'cli' | 'api';
  resolve?: CatalogSource['resolve'];
  state: FeedSourceState | null;
  /** Set when the last sync was refused: nothing of it was stored (`state` is the last good sync). */
  refused?: Omit<FeedRefusal, 'fingerprint'>;
  /** How current the feed is: its newest date inside, last sync and attempt, staleness (issue #16). */
  freshness: FeedFreshness;
}

export interface SyncReport {
  source: string;
  location: FeedLocation;
  /**
   * synced: parsed and stored; unchanged: same bytes and parser as last time; not-modified: HTTP
   * 304; refused: the feed is wrong for the source or would withdraw too much (see error; nothing
   * was stored); failed: see error.
   */
  status: 'synced' | 'unchanged' | 'not-modified' | 'refused' | 'failed';
  documents: number;
  advisories: number;
  /** Records that repeated an advisory id of the same feed: identical ones are dropped, different ones merged. */
  duplicates: number;
  added: number;
  changed: number;
  unchanged: number;
  restored: number;
  withdrawn: number;
  /** Records skipped or corrected by the parser (see `warningSamples`). */
  warnings: number;
  warningSamples: FeedWarning[];
  seconds: number;
  /** Targets re-evaluated because an advisory naming one of their packages changed. */
  rescanned?: number;
  /** What the feed's documents said they are about (checked against the source before storing). */
  identity?: { distributions: string[]; releases: string[] };
  /** Why it failed, with the location's access keys scrubbed. */
  error?: string;
  /** An exploitation signal feed (KEV, EPSS): its catalog version or model, and its newest date. */
  signal?: { kind: 'kev' | 'epss'; version: string; newestAt: string };
}

export interface SyncOptions {
  /** Read this local file instead of the source's location (offline use, mirrors). */
  file?: string;
  /** Parse and store even when the feed is unchanged. */
  force?: boolean;
  clock?: Clock;
  limits?: FeedLimits;
  /** Called every few hundred advisories during long syncs. */
  onProgress?: (p: { source: string; advisories: number; documents: number }) => void;
  /** Where downloads go (default: a temporary directory, removed afterwards). */
  workDir?: string;
  /** Download time limits: the whole transfer (default 10 min) and the longest silence (default 60 s). */
  timeouts?: { totalMs?: number; idleMs?: number };
  /** Re-scan the targets holding a package that a changed advisory names (default: yes). */
  rescan?: boolean;
  /**
   * Store a sync that withdraws more than `maxWithdrawShare` of the source's advisories, or whose
   * records were mostly skipped (`--allow-withdraw`). A feed with no usable record is refused anyway.
   */
  allowWithdraw?: boolean;
  /** Default 0.2 (DEFAULT_MAX_WITHDRAW_SHARE). */
  maxWithdrawShare?: number;
  /**
   * Withdrawals after this instant count against the share too (default: WITHDRAW_WINDOW_MS
   * before the sync; a sync the operator allowed to withdraw starts a new window).
   */
  withdrawWindowStart?: string;
  /** Who asked for the sync, for the audit log (`cli:alice`, `token:…`, `scheduler`; default: Bulwark itself). */
  actor?: Actor;
}

/** How long a refused feed's same bytes are refused unread before they are weighed again. */
export const REFUSAL_REREAD_MS = 24 * 3600_000;

/** A source's last sync when it was refused: when first, why, and the fingerprint of the bytes. */
export interface FeedRefusal {
  at: string;
  reason: string;
  error: string;
  fingerprint: string | null;
}
