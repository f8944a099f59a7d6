import type { Command } from 'commander';
import { deliveries, loadNotifyFile, retryDeadLetter } from '../../services/notify.js';
import { openStore } from '../../services/store.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { actorOf, writeAll } from '../io.js';
import { describe, enumOption, positiveInt } from '../options.js';
import { formatTable } from '../table.js';

/** `bulwark notify check | deliveries | retry` (issue #18 item 4); `bulwark serve --notify FILE` sends. */
export function register(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const group = describe(
    program.command('notify'),
    'notifications: check rules, list deliveries and dead letters, retry one',
    'bulwark notify check /etc/bulwark/bulwark.yaml',
    'bulwark notify deliveries --state dead',
  );
  describe(group.command('check'), 'validate the `notify:` key of a YAML file (errors name the line)', 'bulwark notify check notify.yaml')
    .argument('<file>', 'the YAML file')
    .action(async (file: string) => {
      const r = loadNotifyFile(file);
      await writeAll(io.stdout, `${file}: ${String(r.channels.length)} channels, ${String(r.rules.length)} rules\n`);
      ctx.exit = EXIT.ok;
    });
  describe(group.command('deliveries'), 'deliveries newest first: pending, sent, or dead (out of attempts)', 'bulwark notify deliveries --state dead --json')
    .addOption(enumOption('--state <state>', 'only this state', ['pending', 'sent', 'dead'] as const))
    .option('--json', 'print JSON')
    .action(async (o: { state?: 'pending' | 'sent' | 'dead'; json?: boolean }) => {
      const db = await openStore({ dbPath: ctx.dbPath(), env: io.env });
      try {
        const list = await deliveries(db, o.state);
        await writeAll(
          io.stdout,
          o.json === true
            ? JSON.stringify(list, null, 2) + '\n'
            : formatTable(
                ['ID', 'CHANNEL', 'STATE', 'ATTEMPTS', 'EVENT', 'LAST ERROR'],
                list.map((d) => [String(d.pk), d.channel, d.state, String(d.attempts), d.key, d.lastError ?? '-']),
              ),
        );
        ctx.exit = EXIT.ok;
      } finally {
        await db.close();
      }
    });
  describe(group.command('retry'), 'put a dead letter back in the queue', 'bulwark notify retry 42')
    .argument('<id>', 'the delivery id', positiveInt('delivery id'))
    .action(async (id: number) => {
      const db = await openStore({ dbPath: ctx.dbPath(), env: io.env });
      try {
        await retryDeadLetter(db, id, actorOf(io));
        await writeAll(io.stdout, `delivery ${String(id)} queued again\n`);
        ctx.exit = EXIT.ok;
      } finally {
        await db.close();
      }
    });
}
