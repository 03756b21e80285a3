/**
 * The whole shape of a saved plan, checked before `show` renders it or `apply` carries it out. The digest proves a
 * file was not damaged, not that its writer was lvsform (anyone can re-sign an edited plan), so every field the
 * renderers and the apply read is checked here: a malformed plan is refused with the JSON path of the first problem
 * (LVS_PLAN_CORRUPT), never half-rendered or half-applied.
 *
 * Each schema is held to the type the planner writes (`sameShape` below, checked by the compiler): a field added to a
 * type and not here (as `ssh.sudo` once was) fails the build instead of every saved plan that carries it. Its bounds
 * are those of the readers that produce the value, so that whatever the planner can write reads back
 * (test/unit/properties/plan-roundtrip.property.test.ts).
 */
import { RUNTIME_FIELDS } from '../model/runtime-managed.ts';
import { INT_MAX, SAFE_NAME } from '../model/limits.ts';
import { z } from 'zod';
import { canonicalAddress } from '../model/canonical.ts';
import type { Destination, Service, ServiceKey, Table } from '../model/model.ts';
import type { HostTarget, SshTarget } from '../model/host-target.ts';
import type { SetupItem } from '../model/host-setup.ts';
import type { Change } from '../model/change.ts';
import { IPVS_SYSCTL_NAMES, type SettingChange, type SettingsRecord } from '../model/director-settings.ts';
import { MAX_IPVS_TIMEOUT } from '../model/rules.ts';
import type { DirectorPlan, DrainItem, Plan, TargetedScope } from './plan.ts';
import { REAL_SERVER_SYSCTL, TUNNEL_DEVICE_NAMES, type RealServerChange, type RealServerRecordPrep, type RouteCheck } from '../model/real-server.ts';
import type { RealServerPlan } from './real-server.ts';

/** A type with `readonly` dropped at every depth, so that a schema's inferred type and an interface compare by shape. */
type Plain<T> = T extends readonly (infer U)[] ? Plain<U>[] : T extends object ? { -readonly [K in keyof T]: Plain<T[K]> } : T;
/** `true` only when A and B have the same keys (optional ones included) with the same value types, at every depth. */
type Same<A, B> = (<T>() => T extends Plain<A> ? 1 : 2) extends <T>() => T extends Plain<B> ? 1 : 2 ? true : false;
/** Compiles only when the schema's type is exactly the type `T` (pass `true`); see the module comment. */
function sameShape<T>() {
  return <S extends z.ZodTypeAny>(schema: S, _same: Same<z.infer<S>, T>): S => schema;
}

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const name = z.string().regex(SAFE_NAME, 'a name (letters, digits, . _ -)');
const address = z.string().refine((a) => canonicalAddress(a) !== undefined, 'an IPv4 or IPv6 address');
const text = z.string().max(1_000_000);
/** Scheduler and persistence engine names as every reader admits them (read-synth.ts, parse-save.ts). */
const kernelName = /^[a-z][a-z0-9_]{0,15}$/;
/** An ssh setting as the synthesized-JSON reader admits it (read-synth.ts). */
const sshText = z.string().min(1).max(4096);

const serviceKey = sameShape<ServiceKey>()(
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('addr'), protocol: z.enum(['tcp', 'udp', 'sctp']), address, port: int(0, 65535) }).strict(),
    z.object({ kind: z.literal('fwmark'), mark: int(1, 2 ** 32 - 1), family: z.enum(['inet', 'inet6']) }).strict(),
  ]),
  true,
);

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

const destination = sameShape<Destination>()(
  z.object({ address, port: int(0, 65535), forwarding, weight: int(0, INT_MAX), upperThreshold: int(0, INT_MAX), lowerThreshold: int(0, INT_MAX) }).strict(),
  true,
);

const service = sameShape<Service>()(
  z
    .object({
      key: serviceKey,
      config: z
        .object({
          scheduler: z.string().regex(kernelName, 'a scheduler name'),
          schedFlags: z.array(z.enum(['flag-1', 'flag-2', 'flag-3'])),
          persistence: z
            .object({ timeout: int(1, INT_MAX), netmask: z.string().max(64) })
            .strict()
            .optional(),
          persistenceEngine: z.string().regex(kernelName, 'a persistence engine name').optional(),
          onePacket: z.boolean(),
        })
        .strict(),
      destinations: z.array(destination),
    })
    .strict(),
  true,
);

const table = sameShape<Table>()(z.object({ services: z.array(service) }).strict(), true);

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

const change = sameShape<Change>()(
  z
    .discriminatedUnion('kind', [
      z.object({ ...changeBase, kind: z.literal('service'), before: service.optional(), after: service.optional() }).strict(),
      z.object({ ...changeBase, kind: z.literal('destination'), destinationId: text, before: destination.optional(), after: destination.optional() }).strict(),
    ])
    .superRefine(sides),
  true,
);

const sshTarget = sameShape<SshTarget>()(
  z
    .object({
      host: sshText.optional(),
      port: int(1, 65535).optional(),
      user: sshText.optional(),
      identityFile: sshText.optional(),
      knownHostsFile: sshText.optional(),
      configFile: sshText.optional(),
      alias: sshText.optional(),
      sudo: z.boolean().optional(),
      planUser: sshText.optional(),
    })
    .strict(),
  true,
);

const target = sameShape<HostTarget>()(
  z
    .object({
      name,
      transport: z.enum(['ssh', 'local']),
      ssh: sshTarget.optional(),
      readOnly: z.boolean().optional(),
      role: z.literal('real-server').optional(),
    })
    .strict(),
  true,
);

const error = z.object({ code: z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'an error code'), message: text, hint: text.optional() }).strict();

const setupItem = sameShape<SetupItem>()(
  z
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
    .strict(),
  true,
);

const ifname = z.string().regex(/^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,15}$/, 'an interface name');
const sysctlKey = z.string().refine((k) => (IPVS_SYSCTL_NAMES as readonly string[]).includes(k), 'a net.ipv4.vs sysctl lvsform manages');
const sysctlValue = z.string().regex(/^[0-9]{1,10}$/, 'a sysctl value');
const timeoutValue = int(0, MAX_IPVS_TIMEOUT);
const liveTimeouts = z.object({ tcp: timeoutValue, tcpfin: timeoutValue, udp: timeoutValue }).strict();
const someTimeouts = z.object({ tcp: timeoutValue.optional(), tcpfin: timeoutValue.optional(), udp: timeoutValue.optional() }).strict();
const syncDaemon = { role: z.enum(['master', 'backup']), interface: ifname, syncId: int(0, 255) };
const keepalivedFile = z.string().regex(/^\/etc\/keepalived\/lvsform-[A-Za-z0-9_.-]{1,64}\.conf$/, "a keepalived file of lvsform's");

const settingChange = sameShape<SettingChange>()(
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('link'), action: z.enum(['create', 'delete']), name: ifname }).strict(),
    z
      .object({
        kind: z.literal('address'),
        action: z.enum(['create', 'delete']),
        address,
        prefix: int(0, 128),
        device: ifname,
        announce: z.enum(['arping', 'na']).optional(),
      })
      .strict(),
    z
      .object({
        kind: z.literal('sysctl'),
        action: z.literal('update'),
        name: sysctlKey,
        before: sysctlValue,
        after: sysctlValue,
        restore: z.boolean().optional(),
      })
      .strict(),
    z.object({ kind: z.literal('timeouts'), action: z.literal('update'), before: liveTimeouts, after: liveTimeouts, restore: z.boolean().optional() }).strict(),
    z.object({ kind: z.literal('daemon'), action: z.enum(['create', 'delete']), ...syncDaemon }).strict(),
    z
      .object({
        kind: z.literal('keepalived'),
        action: z.enum(['create', 'update', 'delete']),
        path: keepalivedFile,
        content: z.string().max(1_000_000).optional(),
        main: z.enum(['write', 'delete']).optional(),
      })
      .strict(),
  ]),
  true,
);

const settingsRecord = sameShape<SettingsRecord>()(
  z
    .object({
      addresses: z.array(z.object({ address, prefix: int(0, 128), device: ifname }).strict()).optional(),
      links: z.array(ifname).optional(),
      sysctls: z.record(sysctlKey, z.object({ prior: sysctlValue, value: sysctlValue }).strict()).optional(),
      timeouts: z.object({ prior: someTimeouts, value: someTimeouts }).strict().optional(),
      daemons: z.array(z.object(syncDaemon).strict()).optional(),
      keepalived: z
        .object({ path: keepalivedFile, main: z.boolean(), digest: z.string().regex(/^[0-9a-f]{64}$/) })
        .strict()
        .optional(),
    })
    .strict(),
  true,
);

const drainItem = sameShape<DrainItem>()(z.object({ serviceId: text, serviceKey, destinationId: text, destination }).strict(), true);

const targeted = sameShape<TargetedScope>()(
  z.object({ targets: z.array(text), matched: int(0, INT_MAX), total: int(0, INT_MAX), untouched: z.array(text) }).strict(),
  true,
);

const directorPlan = z
  .object({
    director: name,
    target,
    fingerprint: z.string().max(256),
    changes: z.array(change),
    drift: z.array(text),
    unmanaged: z.array(text),
    conflicts: z.array(text),
    owners: z.record(text, name).optional(),
    adopted: z.array(text),
    batch: text,
    desired: table,
    paths: z.record(z.string(), z.string()),
    drain: z.array(drainItem),
    drainTimeout: int(0, 86400),
    targeted: targeted.optional(),
    hostSetup: z.array(setupItem).optional(),
    refresh: z.object({ trusted: z.boolean(), reason: text.optional() }).strict().optional(),
    runtime: z.record(text, z.record(text, z.array(z.enum(RUNTIME_FIELDS)).min(1))).optional(),
    settings: z.array(settingChange).optional(),
    settingsDrift: z.array(text).optional(),
    settingsNotes: z.array(text).optional(),
    settingsRecord: settingsRecord.optional(),
    error: error.optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.target.name !== d.director)
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['target', 'name'], message: `the target of director ${d.director} is named ${d.target.name}` });
  });

sameShape<DirectorPlan>()(directorPlan, true);

const family = z.enum(['inet', 'inet6']);
const tunnelDevice = z.enum(TUNNEL_DEVICE_NAMES as [(typeof TUNNEL_DEVICE_NAMES)[number], ...(typeof TUNNEL_DEVICE_NAMES)[number][]]);
const rsSysctl = z.string().regex(REAL_SERVER_SYSCTL, 'a net.ipv4.conf ARP or rp_filter sysctl');
const gatewayOrNone = z.union([z.literal(''), address]);
const priorValue = z.object({ prior: sysctlValue, value: sysctlValue }).strict();
const priorRoute = z.object({ prior: gatewayOrNone, value: gatewayOrNone }).strict();

const realServerChange = sameShape<RealServerChange>()(
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('address'), action: z.enum(['create', 'delete']), address, prefix: int(0, 128), device: ifname }).strict(),
    z.object({ kind: z.literal('tunnel'), action: z.enum(['create', 'delete']), device: tunnelDevice }).strict(),
    z.object({ kind: z.literal('fou'), action: z.enum(['create', 'delete']), port: int(1, 65535), family }).strict(),
    z
      .object({
        kind: z.literal('sysctl'),
        action: z.literal('update'),
        name: rsSysctl,
        before: sysctlValue,
        after: sysctlValue,
        restore: z.boolean().optional(),
      })
      .strict(),
    z
      .object({ kind: z.literal('route'), action: z.literal('update'), family, before: gatewayOrNone, after: gatewayOrNone, restore: z.boolean().optional() })
      .strict(),
  ]),
  true,
);

const realServerRecord = sameShape<RealServerRecordPrep>()(
  z
    .object({
      addresses: z.array(z.object({ address, prefix: int(0, 128), device: ifname }).strict()).optional(),
      tunnels: z.array(ifname).optional(),
      fou: z.array(z.object({ port: int(1, 65535), family }).strict()).optional(),
      sysctls: z.record(rsSysctl, priorValue).optional(),
      routes: z.object({ inet: priorRoute.optional(), inet6: priorRoute.optional() }).strict().optional(),
    })
    .strict(),
  true,
);

const routeCheck = sameShape<RouteCheck>()(
  z.object({ family, gateway: address.optional(), expected: address.optional(), ok: z.boolean().optional(), bypass: z.array(text).optional() }).strict(),
  true,
);

const realServerPlan = sameShape<RealServerPlan>()(
  z
    .object({
      host: name,
      target,
      changes: z.array(realServerChange),
      drift: z.array(text),
      notes: z.array(text),
      checks: z.array(routeCheck),
      backing: z.array(z.object({ director: name, service: text, member: address, method: text }).strict()),
      record: realServerRecord.optional(),
      fingerprint: z
        .string()
        .regex(/^[0-9a-f]{64}$/, 'a sha256 in hex')
        .optional(),
      setup: z.array(setupItem).optional(),
      error: error.optional(),
    })
    .strict(),
  true,
);

/** The plan object of a plan file (`plan` beside `kind`, `format_version` and `digest`). */
export const planSchema = sameShape<Plan>()(
  z
    .object({
      formatVersion: z.literal(1),
      stack: z.string().regex(SAFE_NAME, 'a stack name (letters, digits, . _ -)'),
      createdAt: z.string().max(64),
      mode: z.enum(['apply', 'destroy', 'refresh-only']),
      directors: z.array(directorPlan),
      realServers: z.array(realServerPlan).optional(),
    })
    .strict(),
  true,
);
