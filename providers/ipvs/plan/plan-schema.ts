/**
 * The whole shape of a saved plan, checked before `show` renders it or `apply` carries it out. The digest proves a
 * file was not damaged, not that its writer was lvsform (anyone can re-sign an edited plan), so every field the
 * renderers and the apply read is checked here: a malformed plan is refused with the JSON path of the first problem
 * (LVS_PLAN_CORRUPT), never half-rendered or half-applied.
 */
import { RUNTIME_FIELDS } from '../model/runtime-managed.ts';
import { INT_MAX, SAFE_NAME } from '../model/limits.ts';
import { z } from 'zod';
import { canonicalAddress } from '../model/canonical.ts';

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const name = z.string().regex(SAFE_NAME, 'a name (letters, digits, . _ -)');
const address = z.string().refine((a) => canonicalAddress(a) !== undefined, 'an IPv4 or IPv6 address');
const text = z.string().max(1_000_000);

const serviceKey = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('addr'), protocol: z.enum(['tcp', 'udp', 'sctp']), address, port: int(0, 65535) }).strict(),
  z.object({ kind: z.literal('fwmark'), mark: int(1, 2 ** 32 - 1), family: z.enum(['inet', 'inet6']) }).strict(),
]);

const forwarding = z.discriminatedUnion('method', [
  z.object({ method: z.literal('masq') }).strict(),
  z.object({ method: z.literal('droute') }).strict(),
  z
    .object({
      method: z.literal('tunnel'),
      type: z.enum(['ipip', 'gue', 'gre']),
      port: int(1, 65535).optional(),
      checksum: z.enum(['nocsum', 'csum', 'remcsum']).optional(),
    })
    .strict(),
]);

const destination = z
  .object({ address, port: int(0, 65535), forwarding, weight: int(0, INT_MAX), upperThreshold: int(0, INT_MAX), lowerThreshold: int(0, INT_MAX) })
  .strict();

const service = z
  .object({
    key: serviceKey,
    config: z
      .object({
        scheduler: z.string().regex(/^[a-z0-9_]{1,15}$/, 'a scheduler name'),
        schedFlags: z.array(z.enum(['flag-1', 'flag-2', 'flag-3'])),
        persistence: z
          .object({ timeout: int(1, INT_MAX), netmask: z.string().max(64) })
          .strict()
          .optional(),
        persistenceEngine: z
          .string()
          .regex(/^[a-z0-9_]{1,15}$/, 'a persistence engine name')
          .optional(),
        onePacket: z.boolean(),
      })
      .strict(),
    destinations: z.array(destination),
  })
  .strict();

const table = z.object({ services: z.array(service) }).strict();

const changeBase = {
  action: z.enum(['create', 'update', 'delete']),
  serviceId: text,
  serviceKey,
  changedFields: z.array(text).optional(),
  replace: z.literal(true).optional(),
};

/** A change has what its action needs: `after` to create, `before` to delete, both to update. */
function sides<T extends { action: string; before?: unknown; after?: unknown }>(c: T, ctx: z.RefinementCtx): void {
  if (c.action !== 'delete' && c.after === undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['after'], message: `a ${c.action} needs "after"` });
  if (c.action !== 'create' && c.before === undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['before'], message: `a ${c.action} needs "before"` });
}

const change = z
  .discriminatedUnion('kind', [
    z.object({ ...changeBase, kind: z.literal('service'), before: service.optional(), after: service.optional() }).strict(),
    z.object({ ...changeBase, kind: z.literal('destination'), destinationId: text, before: destination.optional(), after: destination.optional() }).strict(),
  ])
  .superRefine(sides);

const sshTarget = z
  .object({
    host: z.string().min(1).max(255).optional(),
    port: int(1, 65535).optional(),
    user: z.string().min(1).max(64).optional(),
    identityFile: z.string().min(1).max(4096).optional(),
    knownHostsFile: z.string().min(1).max(4096).optional(),
    configFile: z.string().min(1).max(4096).optional(),
    alias: z.string().min(1).max(255).optional(),
    sudo: z.boolean().optional(),
    planUser: z.string().min(1).max(64).optional(),
  })
  .strict();

const error = z.object({ code: z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'an error code'), message: text, hint: text.optional() }).strict();

const setupItem = z
  .object({
    kind: z.enum(['package', 'module', 'file', 'sysctl', 'boot-service', 'rules']),
    action: z.enum(['create', 'update', 'delete']),
    name: text,
    before: text.optional(),
    after: text.optional(),
    detail: text.optional(),
    via: text.optional(),
    mode: z
      .string()
      .regex(/^[0-7]{3,4}$/, 'an octal file mode')
      .optional(),
    validate: z.literal('visudo').optional(),
  })
  .strict();

const directorPlan = z
  .object({
    director: name,
    target: z.object({ name, transport: z.enum(['ssh', 'local']), ssh: sshTarget.optional() }).strict(),
    fingerprint: z.string().max(256),
    changes: z.array(change),
    drift: z.array(text),
    unmanaged: z.array(text),
    conflicts: z.array(text),
    adopted: z.array(text),
    batch: text,
    desired: table,
    paths: z.record(z.string(), z.string()),
    drain: z.array(z.object({ serviceId: text, serviceKey, destinationId: text, destination }).strict()),
    drainTimeout: int(0, 86400),
    targeted: z
      .object({ targets: z.array(text), matched: int(0, INT_MAX), total: int(0, INT_MAX), untouched: z.array(text) })
      .strict()
      .optional(),
    hostSetup: z.array(setupItem).optional(),
    refresh: z.object({ trusted: z.boolean(), reason: text.optional() }).strict().optional(),
    runtime: z.record(text, z.record(text, z.array(z.enum(RUNTIME_FIELDS)).min(1))).optional(),
    error: error.optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.target.name !== d.director)
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['target', 'name'], message: `the target of director ${d.director} is named ${d.target.name}` });
  });

/** The plan object of a plan file (`plan` beside `kind`, `format_version` and `digest`). */
export const planSchema = z
  .object({
    formatVersion: z.literal(1),
    stack: z.string().regex(SAFE_NAME, 'a stack name (letters, digits, . _ -)'),
    createdAt: z.string().max(64),
    mode: z.enum(['apply', 'destroy', 'refresh-only']),
    directors: z.array(directorPlan),
  })
  .strict();
