import { BulwarkError } from '../core/errors.js';
import { recordNonce, setAgentSeen, type Executor } from '../storage/index.js';

/**
 * A verified agent request's nonce, not yet stored (issue #14). The report route stores it inside
 * the report's own transaction, so a report costs one commit instead of two: a replay is still
 * refused, because the nonce's insert is the transaction's own check (a second request with the
 * same nonce finds it there, or, racing on PostgreSQL, waits for the first to commit and then finds
 * it) and a refused insert throws, rolling back everything the replay did. A report whose
 * transaction fails leaves no nonce: nothing of it was stored, so the same bytes sent again are
 * stored once, as if the first had never come. Any path that does nothing else stores it alone
 * (`store(db)`); the app stores it after the handler when no path did.
 */
export class NonceClaim {
  /** Stored by a transaction that went on to commit, or on its own: storing again is a no-op. */
  private stored = false;

  constructor(
    readonly agentId: string,
    private readonly nonce: string,
    private readonly at: string,
    /** Old nonces dropped first (at most once a minute per process): a request that old is refused by its timestamp anyway. */
    private readonly forgetBefore: string | null,
    /** The agent's last-seen time is due (written at most once a minute per agent). */
    private readonly seenDue: boolean,
  ) {}

  /** Stores the nonce in `on` (a transaction or the database); throws auth.required when this agent used it before. */
  async store(on: Executor): Promise<void> {
    if (this.stored) return;
    if (!(await recordNonce(on, this.agentId, this.nonce, this.at, this.forgetBefore)))
      throw new BulwarkError('auth.required', 'this request was seen before (replay)');
    if (this.seenDue) await setAgentSeen(on, this.agentId, this.at);
    // A transaction that throws after this takes the request down with it, so nothing reads `stored` again.
    this.stored = true;
  }
}
