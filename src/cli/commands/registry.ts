import type { CommandGroupModule } from '../context.js';

/**
 * The command groups of `bulwark`: the top-level commands each defines, and its module, imported
 * only when one of its commands runs (or for the full --help), so `bulwark --version` and
 * `bulwark vercmp` load neither the database drivers nor the API, the dashboard or image code.
 * A new group is one file in this folder exporting `register(program, ctx)` and one line here
 * (registry.test.ts checks that each module defines exactly the commands listed).
 */
export interface CommandGroup {
  readonly id: string;
  readonly commands: readonly string[];
  load(): Promise<CommandGroupModule>;
}

export const COMMAND_GROUPS: readonly CommandGroup[] = [
  { id: 'vercmp', commands: ['vercmp'], load: () => import('./vercmp.js') },
  { id: 'demo', commands: ['demo'], load: () => import('./demo.js') },
  { id: 'feeds', commands: ['feeds', 'advisories'], load: () => import('./feeds.js') },
  { id: 'hosts', commands: ['hosts'], load: () => import('./hosts.js') },
  { id: 'scan', commands: ['scan'], load: () => import('./scan.js') },
  { id: 'findings', commands: ['findings', 'report'], load: () => import('./findings.js') },
  { id: 'policy', commands: ['policy', 'plan', 'approve', 'hold', 'unhold', 'unapprove', 'decisions'], load: () => import('./policy.js') },
  { id: 'run', commands: ['run'], load: () => import('./run.js') },
  { id: 'scheduler', commands: ['scheduler'], load: () => import('./scheduler.js') },
  { id: 'serve', commands: ['serve', 'tokens'], load: () => import('./serve.js') },
  { id: 'repo', commands: ['repo'], load: () => import('./repo.js') },
  { id: 'view', commands: ['view'], load: () => import('./view.js') },
  { id: 'image', commands: ['image'], load: () => import('./image.js') },
  { id: 'users', commands: ['users'], load: () => import('./users.js') },
  { id: 'agents', commands: ['agents'], load: () => import('./agents.js') },
  { id: 'audit', commands: ['audit'], load: () => import('./audit.js') },
  { id: 'service', commands: ['config', 'doctor', 'install-service', 'backup', 'restore'], load: () => import('./service.js') },
  { id: 'compliance', commands: ['compliance'], load: () => import('./compliance.js') },
  { id: 'notify', commands: ['notify'], load: () => import('./notify.js') },
];

/** Global options that take a value: their value is not a command name. */
const VALUE_OPTIONS = new Set(['--db', '--config']);

/**
 * The groups `argv` needs: the one of its command (`help CMD` counts), none for a bare
 * --version, all of them otherwise (the full --help, an unknown command and its suggestion).
 */
export function groupsFor(argv: readonly string[]): readonly CommandGroup[] {
  let word: string | undefined;
  let afterHelp = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--') break;
    if (VALUE_OPTIONS.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    if (a === 'help' && !afterHelp) {
      afterHelp = true;
      continue;
    }
    word = a;
    break;
  }
  if (word === undefined && !afterHelp && argv.some((a) => a === '--version' || a === '-V')) return [];
  const group = word === undefined ? undefined : COMMAND_GROUPS.find((g) => g.commands.includes(word));
  return group === undefined ? COMMAND_GROUPS : [group];
}
