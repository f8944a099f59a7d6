import { z } from 'zod';

/**
 * The schema of the operator's hook allow-list (services/hook-allow.ts reads and applies it): the
 * file `BULWARK_HOOKS_FILE` names, or the `hooks:` section of the configuration file
 * (config/schema.ts checks that section with this same schema, with the file's line numbers).
 */
const entryName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/);

export const hookAllowListSchema = z.strictObject({
  commands: z
    .record(
      entryName,
      z.strictObject({
        argv: z
          .array(z.string().min(1).max(4096))
          .min(1)
          .max(256)
          .refine((a) => !(a[0] ?? '').startsWith('-'), 'the first word is the program, not an option'),
        timeoutSeconds: z.number().int().min(1).max(86_400).default(300),
      }),
    )
    .default({}),
  http: z
    .record(
      entryName,
      z.strictObject({
        url: z.string().regex(/^https?:\/\/[^\s]+$/, 'an http:// or https:// URL'),
        method: z.enum(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD']).default('GET'),
        headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,100}$/), z.string().max(4096)).default({}),
        body: z.string().max(65_536).optional(),
        timeoutSeconds: z.number().int().min(1).max(3600).default(30),
      }),
    )
    .default({}),
});
export type HookAllowList = z.infer<typeof hookAllowListSchema>;
