import { z } from 'zod';

/**
 * Safe patching in a policy (issue #15 items 3–6): hooks before and after a host's update, health
 * gates it must pass before its ring counts it done, rollback of its transaction when the update
 * or a gate fails, and restarting the services that still use replaced files.
 *
 * A policy never carries a command or a URL: it names entries of the operator's hook allow-list
 * (the file `BULWARK_HOOKS_FILE` names, read by the process that executes runs — see
 * services/hook-allow.ts), so nothing written through the API or found in a feed is ever run.
 */
const entryName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'the name of an entry of the hook allow-list (lower-case letters, digits, ".", "_", "-")');

export const Hook = z.union([
  z
    .strictObject({
      command: entryName.describe("The name of a command in the hook allow-list's `commands`, run on the host as an argv (never through a shell)."),
    })
    .describe('Runs an allow-listed command on the host.'),
  z
    .strictObject({
      http: entryName.describe("The name of an HTTP call in the hook allow-list's `http` (e.g. draining the host from a load balancer), made by Bulwark."),
    })
    .describe('Makes an allow-listed HTTP call from Bulwark; any status other than 2xx fails the hook.'),
]);
export type Hook = z.infer<typeof Hook>;

const within = z
  .number()
  .int()
  .min(0)
  .max(3600)
  .default(0)
  .describe('Seconds the gate may take to pass: it is checked again every 2 seconds until then (0: checked once).');

export const Gate = z.union([
  z
    .strictObject({
      systemd: z
        .string()
        .regex(/^[A-Za-z0-9:_.@\\-]{1,255}\.(service|socket|target|timer|mount)$/, 'a systemd unit name such as nginx.service')
        .describe('A systemd unit that must be active (`systemctl is-active`), such as nginx.service.'),
      withinSeconds: within,
    })
    .describe('A systemd unit on the host must be active.'),
  z
    .strictObject({
      tcp: z.number().int().min(1).max(65535).describe("A TCP port that must accept a connection on the host's address, from Bulwark."),
      withinSeconds: within,
    })
    .describe("A TCP port on the host's address must be open."),
  z
    .strictObject({
      http: entryName.describe('The name of an HTTP call in the hook allow-list that must answer 2xx (its URL may name the host as {host}).'),
      withinSeconds: within,
    })
    .describe('An allow-listed HTTP URL must answer 2xx.'),
  z
    .strictObject({
      command: entryName.describe('The name of a command in the hook allow-list that must exit 0 on the host.'),
      withinSeconds: within,
    })
    .describe('An allow-listed command must succeed on the host.'),
]);
export type Gate = z.infer<typeof Gate>;

export const Hooks = z
  .strictObject({
    pre: z
      .array(Hook)
      .max(20)
      .default([])
      .describe('Hooks run on each host before its update, in order; one failing skips the host (its packages are not touched).'),
    snapshot: Hook.optional().describe('A hook run just before the update (an LVM or btrfs snapshot command, or a cloud snapshot through an HTTP call).'),
    post: z.array(Hook).max(20).default([]).describe('Hooks run on each host after its update, restarts, reboot and gates all passed, in order.'),
  })
  .default({ pre: [], post: [] })
  .describe('Pre- and post-patch hooks, each one a journaled step of the host.');

export const Safety = {
  hooks: Hooks,
  gates: z.array(Gate).max(20).default([]).describe('Health gates checked after the update (and reboot): a host failing one failed, like a failed update.'),
  rollback: z
    .enum(['never', 'on-failure'])
    .default('never')
    .describe(
      "`on-failure`: when the update, a restart, the reboot, a gate or a post hook fails, the host's transaction is undone with its package manager's history (apt: the previous versions installed exactly), then verified by a re-scan.",
    ),
  restart: z
    .enum(['none', 'services'])
    .default('none')
    .describe(
      '`services`: after the update, the services whose processes still map files the update replaced are restarted (exactly those), and with `reboot: when-required` a reboot the plan did not foresee is made when the same facts call for one (pid 1 still maps replaced files, or a kernel was updated).',
    ),
};
