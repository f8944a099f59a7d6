import { BulwarkError } from '../../core/errors.js';
import { listUsers, removeUser, setUser } from '../../services/sessions.js';
import { openStore } from '../../services/store.js';
import type { Role } from '../../services/tokens.js';
import { actorOf, writeAll, type CliIo } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { describe, enumOption } from '../options.js';

interface Common {
  io: CliIo;
  dbPath: string | undefined;
}

/** The first line of standard input (a password is never an argument: it would show in `ps`). */
async function readLine(io: CliIo): Promise<string> {
  let text = '';
  for await (const chunk of io.stdin) {
    text += (chunk as Buffer).toString();
    if (text.includes('\n') || text.length > 4096) break;
  }
  return text.split('\n')[0]?.replace(/\r$/, '') ?? '';
}

/** `bulwark users set NAME --role R` (password on standard input), `users list`, `users disable NAME`. */
export async function usersSetCommand(o: Common & { name: string; role: Role }): Promise<ExitCode> {
  const password = await readLine(o.io);
  if (password === '')
    throw new BulwarkError('usage', 'give the password on standard input, e.g. `printf %s "$PASSWORD" | bulwark users set alice --role operator`');
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    await setUser(db, { name: o.name, role: o.role, password, actor: actorOf(o.io) });
    await writeAll(o.io.stdout, `user ${o.name}: ${o.role}\n`);
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

export async function usersListCommand(o: Common & { json: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const list = await listUsers(db);
    await writeAll(
      o.io.stdout,
      o.json
        ? JSON.stringify(list, null, 2) + '\n'
        : formatTable(
            ['USER', 'ROLE', 'CREATED', 'DISABLED'],
            list.map((u) => [u.name, u.role, u.createdAt, u.disabledAt ?? '-']),
          ),
    );
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

export async function usersDisableCommand(o: Common & { name: string }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    await removeUser(db, o.name, actorOf(o.io));
    await writeAll(o.io.stdout, `user ${o.name} disabled; their sessions ended\n`);
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark users set | list | disable`. */
export function register(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const usersCmd = describe(
    program.command('users'),
    'people who log in to the dashboard (passwords hashed with scrypt)',
    'bulwark users set alice --role operator < password.txt',
    'bulwark users list',
  );
  describe(
    usersCmd.command('set'),
    'add a user or change their role and password (the password is read from standard input)',
    'printf \'%s\' "$PASSWORD" | bulwark users set alice --role operator',
  )
    .argument('<name>', 'the user name')
    .addOption(enumOption('--role <role>', 'what they may do', ['viewer', 'operator', 'admin'], { mandatory: true }))
    .action(async (name: string, o: { role: 'viewer' | 'operator' | 'admin' }) => {
      ctx.exit = await usersSetCommand({ io, dbPath: ctx.dbPath(), name, role: o.role });
    });
  describe(usersCmd.command('list'), 'list users, their roles and whether they are disabled', 'bulwark users list --json')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      ctx.exit = await usersListCommand({ io, dbPath: ctx.dbPath(), json: o.json === true });
    });
  describe(usersCmd.command('disable'), 'disable a user: their sessions end and they cannot log in', 'bulwark users disable alice')
    .argument('<name>', 'the user name')
    .action(async (name: string) => {
      ctx.exit = await usersDisableCommand({ io, dbPath: ctx.dbPath(), name });
    });
}
