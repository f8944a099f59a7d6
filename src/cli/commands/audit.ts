import { auditLog } from '../../services/audit.js';
import { openStore } from '../../services/store.js';
import type { CliIo } from '../io.js';
import { writeAll } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';

/** `bulwark audit [--subject S] [--limit N] [--json]`: the append-only audit log, newest first. */
export async function auditCommand(o: { io: CliIo; dbPath: string | undefined; subject: string | undefined; limit: number; json: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const entries = await auditLog(db, { limit: o.limit, ...(o.subject !== undefined ? { subject: o.subject } : {}) });
    if (o.json) await writeAll(o.io.stdout, JSON.stringify(entries, null, 2) + '\n');
    else await writeAll(o.io.stdout, formatTable(['AT', 'ACTOR', 'ACTION', 'SUBJECT', 'DETAIL'], entries.map((e) => [e.at, e.actor, e.action, e.subject, JSON.stringify(e.detail)])));
    return EXIT.ok;
  } finally {
    await db.close();
  }
}
