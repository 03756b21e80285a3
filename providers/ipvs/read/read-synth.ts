/**
 * Reads the synthesized stack (`cdk.tf.json`) into one desired table per director, validating it with zod so that a
 * hand-edited file fails with the file name and the JSON path of the bad value (LvsError `LVS_SYNTH_INVALID`).
 * Addresses come out canonical (ipaddr.js), defaults explicit, everything sorted: the same model the live readers
 * produce, so the diff compares like with like.
 */
import { FLAG_BITS, INT_MAX, SAFE_NAME } from '../model/limits.ts';
import { constructPathProblem, IPVS_SYSCTL_MAX, MODULE_NAME, schedulerFlagProblem, serviceProblems, settingsProblems, sshProblems } from '../model/rules.ts';
import type { DirectorSettingsSpec, IpvsSysctl, SysctlValue } from '../model/director-settings.ts';
import type { VrrpSpec } from '../model/director-pair.ts';
import { z } from 'zod';
import { LvsError } from '../model/errors.ts';
import { describeValue } from '../model/describe-value.ts';
import type { HostSetupSpec } from '../model/host-setup.ts';
import { canonicalAddress, canonicalDottedMask } from '../model/canonical.ts';
import {
  type Family,
  type Forwarding,
  type SchedFlag,
  type Service,
  type TunnelChecksum,
  type TunnelType,
  type ServiceKey,
  type Table,
  defaultNetmask,
  destinationId,
  familyOf,
  normalizeTable,
  serviceFamily,
  serviceId,
} from '../model/model.ts';
import type { SshTarget } from '../model/host-target.ts';
import { RUNTIME_FIELDS, type RuntimeField, type RuntimeManaged } from '../model/runtime-managed.ts';
import { closest } from '../model/closest.ts';
import { prepFor, type RealServerHostSpec, type RealServerPrep } from '../model/real-server.ts';
import { realServerHostProblems } from '../model/rules.ts';

/** How a director is reached over SSH: the transport's own type. */
export type SshSpec = SshTarget;

export interface DirectorSpec {
  readonly name: string;
  readonly transport: 'ssh' | 'local';
  readonly ssh?: SshSpec;
  /** Host set-up that survives a reboot (see providers/ipvs/model/host-setup.ts); absent when the app asked for none. */
  readonly setup?: HostSetupSpec;
  readonly table: Table;
  /** serviceId → construct path (`web/lb1/http`). */
  readonly paths: Map<string, string>;
  /** Real-server fields left to a health checker (`runtime_managed`); absent when no real server has any. */
  readonly runtime?: RuntimeManaged;
  /** Director settings (VIPs, timeouts, sysctls); absent when the app manages none. */
  readonly settings?: DirectorSettingsSpec;
}

/** A real-server host as read: how it is reached, its props, and what the stack's services need of it. */
export interface RealServerHostRead {
  readonly name: string;
  readonly transport: 'ssh' | 'local';
  readonly ssh?: SshSpec;
  readonly spec: RealServerHostSpec;
  readonly prep: RealServerPrep;
}

/** One stack's synthesized document (cdk.tf.json) as read: its name, the directors and real-server hosts it declares. */
export interface StackDocument {
  readonly stack: string;
  readonly directors: DirectorSpec[];
  readonly realServers: RealServerHostRead[];
}

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const text = z.string().min(1).max(4096);
/** cdktf writes `"//": { "metadata": … }` into resources; tolerate it and nothing else unknown. */
const meta = { '//': z.unknown().optional() };

const sshSchema = z
  .object({
    host: text.optional(),
    port: int(1, 65535).optional(),
    user: text.optional(),
    identity_file: text.optional(),
    known_hosts_file: text.optional(),
    config_file: text.optional(),
    alias: text.optional(),
    sudo: z.boolean().optional(),
    plan_user: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/, 'a login name')
      .optional(),
  })
  .strict();

const directorSchema = z
  .object({
    ...meta,
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'a director name: letters, digits, . _ - (up to 63)'),
    format_version: z.literal(1, { errorMap: () => ({ message: 'format_version must be 1: synthesize again with this lvsform' }) }),
    transport: z.enum(['ssh', 'local']),
    ssh: sshSchema.optional(),
    setup: z
      .object({
        install_ipvsadm: z.boolean().default(true),
        install_keepalived: z.boolean().optional(),
        load_modules: z.boolean().default(true),
        ip_forward: z.boolean().default(true),
        save_rules: z.boolean().default(true),
      })
      .strict()
      .optional(),
    vips: z.object({ interface: text.optional(), dummy: text.optional() }).strict().optional(),
    timeouts: z.object({ tcp: z.number().optional(), tcp_fin: z.number().optional(), udp: z.number().optional() }).strict().optional(),
    sysctls: z
      .object(Object.fromEntries(Object.keys(IPVS_SYSCTL_MAX).map((k) => [k, z.union([z.number(), z.literal('auto')]).optional()])))
      .strict()
      .optional(),
    sync_daemon: z
      .object({ interface: text, sync_id: z.number(), roles: z.array(z.enum(['master', 'backup'])) })
      .strict()
      .optional(),
    vrrp: z
      .object({
        instance: text,
        interface: text,
        virtual_router_id: z.number(),
        priority: z.number(),
        state: z.enum(['MASTER', 'BACKUP']),
        advert_int: z.number(),
        auth_pass: text.optional(),
        garp_master_delay: z.number().optional(),
        nopreempt: z.boolean().optional(),
        preempt_delay: z.number().optional(),
        addresses: z.array(z.object({ address: text, prefix: z.number(), interface: text.optional() }).strict()),
        unicast_src_ip: text.optional(),
        unicast_peer: z.array(text).optional(),
      })
      .strict()
      .optional(),
    depends_on: z.array(z.string()).optional(),
  })
  .strict();

const realServerHostSchema = z
  .object({
    ...meta,
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'a host name: letters, digits, . _ - (up to 63)'),
    format_version: z.literal(1, { errorMap: () => ({ message: 'format_version must be 1: synthesize again with this lvsform' }) }),
    construct_path: text,
    transport: z.enum(['ssh', 'local']),
    ssh: sshSchema.optional(),
    addresses: z.array(text).min(1),
    interface: text.optional(),
    nat: z
      .object({ gateways: z.array(text), manage: z.boolean().default(false), clients: z.array(text).optional() })
      .strict()
      .optional(),
    depends_on: z.array(z.string()).optional(),
  })
  .strict();

const realServerSchema = z
  .object({
    address: text,
    port: int(0, 65535).optional(),
    forwarding: z.enum(['masq', 'droute', 'tunnel']),
    tunnel_type: z.enum(['ipip', 'gue', 'gre']).optional(),
    tunnel_port: int(1, 65535).optional(),
    tunnel_checksum: z.enum(['nocsum', 'csum', 'remcsum']).optional(),
    weight: int(0, INT_MAX).default(1),
    upper_threshold: int(0, INT_MAX).default(0),
    lower_threshold: int(0, INT_MAX).default(0),
    pool: z.string().optional(),
    runtime_managed: z
      .array(z.enum(RUNTIME_FIELDS))
      .min(1)
      .refine((a) => new Set(a).size === a.length, 'each field once')
      .optional(),
  })
  .strict();

/** Scheduler flag names and the bit each sets (model/limits.ts). */
const FLAG_NAMES: Readonly<Record<string, SchedFlag>> = FLAG_BITS;

const serviceSchema = z
  .object({
    ...meta,
    director: text,
    construct_path: text,
    protocol: z.enum(['tcp', 'udp', 'sctp']).optional(),
    address: text.optional(),
    port: int(0, 65535).optional(),
    firewall_mark: int(1, 2 ** 32 - 1).optional(),
    family: z.enum(['inet', 'inet6']).optional(),
    scheduler: z.string().regex(MODULE_NAME, 'a scheduler name such as rr, wlc, sh').default('wlc'),
    scheduler_flags: z.array(z.enum(Object.keys(FLAG_NAMES) as [string, ...string[]])).default([]),
    persistence: z
      .object({ timeout: int(1, INT_MAX), netmask: z.union([z.string(), z.number()]).optional() })
      .strict()
      .optional(),
    persistence_engine: z.string().regex(MODULE_NAME, 'a persistence engine name such as sip').optional(),
    one_packet: z.boolean().default(false),
    real_server: z.array(realServerSchema).default([]),
    depends_on: z.array(z.string()).optional(),
  })
  .strict();

/** The synthesized JSON's name of each SSH target field, for the path of a problem. */
const SSH_JSON_NAMES: Readonly<Record<string, string>> = {
  identityFile: 'identity_file',
  knownHostsFile: 'known_hosts_file',
  configFile: 'config_file',
};

const KNOWN_RESOURCES = ['lvsform_director', 'lvsform_virtual_service', 'lvsform_real_server_host'] as const;

/** The synthesized stack (`cdk.tf.json`) as lvsform reads it; also the source of docs/schemas/cdk.tf.schema.json. */
export const synthSchema = z
  .object({
    '//': z
      .object({
        metadata: z
          .object({ stackName: z.string().regex(SAFE_NAME, 'a stack name: letters, digits, . _ - (up to 63), as it names a file on each director') })
          .passthrough(),
      })
      .passthrough(),
    resource: z
      .object({
        lvsform_director: z.record(directorSchema).default({}),
        lvsform_virtual_service: z.record(serviceSchema).default({}),
        lvsform_real_server_host: z.record(realServerHostSchema).default({}),
      })
      .catchall(z.unknown())
      .superRefine((r, ctx) => {
        // A resource type lvsform does not know would otherwise be read as "no services", and a plan would then
        // destroy every owned service: refuse it.
        for (const type of Object.keys(r)) {
          if ((KNOWN_RESOURCES as readonly string[]).includes(type)) continue;
          const near = closest(type, KNOWN_RESOURCES);
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: [type],
            message: `unknown resource type "${type}"${near ? ` (did you mean "${near}"?)` : ''}; lvsform reads only ${KNOWN_RESOURCES.join(', ')}`,
          });
        }
      })
      .default({}),
  })
  .catchall(z.unknown())
  .superRefine((doc, ctx) => {
    // cdktf writes these top-level blocks; anything else is not lvsform's and would be ignored silently.
    const known = ['//', 'resource', 'terraform', 'provider', 'data', 'variable', 'output', 'locals', 'module'];
    for (const key of Object.keys(doc)) {
      if (!known.includes(key)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [key], message: `unknown top-level block "${key}"` });
    }
  });

function jsonPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(p)) out += out === '' ? p : `.${p}`;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out === '' ? '(top level)' : out;
}

const HAND_EDIT_HINT = 'Run `lvsform synth` again rather than editing the synthesized JSON by hand.';

function invalid(source: string, path: readonly (string | number)[], message: string, hint = HAND_EDIT_HINT): never {
  throw new LvsError('LVS_SYNTH_INVALID', `${source}: ${jsonPath(path)}: ${message}`, { hint });
}

/** The value at `path` in `root`, for messages that show what was found. */
function found(root: unknown, path: readonly PropertyKey[]): string {
  let v: unknown = root;
  for (const p of path) {
    if (typeof v !== 'object' || v === null) return '';
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  if (v === undefined || (typeof v === 'object' && v !== null)) return '';
  return `; got ${describeValue(v)}`;
}

/**
 * Validates synthesized JSON and returns the stack name and, per director, its desired table and the construct path
 * of each service.
 * @throws LvsError `LVS_SYNTH_INVALID` naming `source` and the JSON path of the first problem.
 */
export function readSynth(json: unknown, source: string, options: { hint?: string } = {}): StackDocument {
  const parsed = synthSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === z.ZodIssueCode.unrecognized_keys) {
      const shape = knownKeysAt(issue.path);
      const near = issue.keys.map((k) => closest(k, shape)).find((k) => k !== undefined);
      invalid(source, issue.path, `${issue.message}${near ? ` (did you mean '${near}'?)` : ''}`, options.hint);
    }
    invalid(source, issue.path, `${issue.message}${found(json, issue.path)}`, options.hint);
  }
  const doc = parsed.data;
  const directors = new Map<
    string,
    {
      spec: Omit<DirectorSpec, 'table' | 'paths' | 'runtime'>;
      services: Map<string, Service>;
      paths: Map<string, string>;
      runtime: Record<string, Record<string, readonly RuntimeField[]>>;
    }
  >();

  for (const [logicalId, d] of Object.entries(doc.resource.lvsform_director)) {
    const at = ['resource', 'lvsform_director', logicalId];
    if (directors.has(d.name)) invalid(source, [...at, 'name'], `director name ${JSON.stringify(d.name)} is used twice`);
    const ssh = readSsh(source, at, d, 'director');
    const setup: HostSetupSpec | undefined =
      d.setup === undefined
        ? undefined
        : {
            installIpvsadm: d.setup.install_ipvsadm,
            ...(d.setup.install_keepalived === undefined ? {} : { installKeepalived: d.setup.install_keepalived }),
            loadModules: d.setup.load_modules,
            ipForward: d.setup.ip_forward,
            saveRules: d.setup.save_rules,
          };
    const settings = readSettings(source, at, d);
    directors.set(d.name, {
      spec: {
        name: d.name,
        transport: d.transport,
        ...(ssh === undefined ? {} : { ssh }),
        ...(setup === undefined ? {} : { setup }),
        ...(settings === undefined ? {} : { settings }),
      },
      services: new Map(),
      paths: new Map(),
      runtime: {},
    });
  }

  for (const [logicalId, s] of Object.entries(doc.resource.lvsform_virtual_service)) {
    const at = ['resource', 'lvsform_virtual_service', logicalId];
    const director = directors.get(s.director);
    if (director === undefined) invalid(source, [...at, 'director'], `no lvsform_director is named ${JSON.stringify(s.director)}`);
    const svc = readService(source, at, s);
    const sid = serviceId(svc.key);
    const first = director.paths.get(sid);
    if (first !== undefined) invalid(source, at, `service ${sid} on director ${s.director} is also declared by ${first}`);
    director.services.set(sid, svc);
    director.paths.set(sid, s.construct_path);
    const runtime = runtimeOf(s, svc);
    if (runtime !== undefined) director.runtime[sid] = runtime;
  }

  const read = [...directors.values()]
    .map((d) => ({
      ...d.spec,
      table: normalizeTable({ services: [...d.services.values()] }),
      paths: d.paths,
      ...(Object.keys(d.runtime).length > 0 ? { runtime: d.runtime } : {}),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { stack: doc['//'].metadata.stackName, directors: read, realServers: readRealServerHosts(source, doc.resource.lvsform_real_server_host, read) };
}

/** How a host (a director or a real server) is reached, checked by the one rule set. */
function readSsh(
  source: string,
  at: string[],
  d: { transport: 'ssh' | 'local'; ssh?: z.infer<typeof sshSchema> | undefined },
  what: string,
): SshSpec | undefined {
  if (d.transport === 'local' && d.ssh !== undefined) invalid(source, [...at, 'ssh'], `a local ${what} takes no ssh settings`);
  const ssh: SshSpec | undefined =
    d.ssh === undefined
      ? undefined
      : {
          ...(d.ssh.host === undefined ? {} : { host: d.ssh.host }),
          ...(d.ssh.port === undefined ? {} : { port: d.ssh.port }),
          ...(d.ssh.user === undefined ? {} : { user: d.ssh.user }),
          ...(d.ssh.identity_file === undefined ? {} : { identityFile: d.ssh.identity_file }),
          ...(d.ssh.known_hosts_file === undefined ? {} : { knownHostsFile: d.ssh.known_hosts_file }),
          ...(d.ssh.config_file === undefined ? {} : { configFile: d.ssh.config_file }),
          ...(d.ssh.alias === undefined ? {} : { alias: d.ssh.alias }),
          ...(d.ssh.sudo ? { sudo: true } : {}),
          ...(d.ssh.plan_user === undefined ? {} : { planUser: d.ssh.plan_user }),
        };
  if (d.transport === 'ssh' && ssh?.host === undefined && ssh?.alias === undefined) {
    invalid(source, [...at, 'ssh'], `an ssh ${what} needs ssh.host or ssh.alias`);
  }
  const sshProblem = ssh === undefined ? undefined : sshProblems(ssh)[0];
  if (sshProblem) invalid(source, [...at, 'ssh', ...(sshProblem.path ? [SSH_JSON_NAMES[sshProblem.path] ?? sshProblem.path] : [])], sshProblem.message);
  return ssh;
}

/**
 * The real-server hosts, each with what the stack's services need of it. An address two hosts claim, or a name a
 * director or another host has, is refused (the constructs refuse the same at synth).
 */
function readRealServerHosts(
  source: string,
  hosts: Record<string, z.infer<typeof realServerHostSchema>>,
  directors: readonly { readonly name: string; readonly table: Table }[],
): RealServerHostRead[] {
  const names = new Set(directors.map((d) => d.name));
  const claimed = new Map<string, string>();
  const out: RealServerHostRead[] = [];
  for (const [logicalId, h] of Object.entries(hosts)) {
    const at = ['resource', 'lvsform_real_server_host', logicalId];
    if (names.has(h.name)) invalid(source, [...at, 'name'], `host name ${JSON.stringify(h.name)} is used twice (directors and real servers share names)`);
    names.add(h.name);
    refuseBadPath(source, [...at, 'construct_path'], h.construct_path);
    const ssh = readSsh(source, at, h, 'real server');
    const addresses = h.addresses.map((a, i) => address(source, [...at, 'addresses', i], a));
    const gateways = h.nat?.gateways.map((a, i) => address(source, [...at, 'nat', 'gateways', i], a));
    const nat = h.nat && gateways ? { gateways, manage: h.nat.manage, ...(h.nat.clients ? { clients: h.nat.clients } : {}) } : undefined;
    const problem = realServerHostProblems({ addresses, interface: h.interface, nat })[0];
    if (problem) invalid(source, [...at, ...rulePath(problem.path)], problem.message);
    addresses.forEach((a, i) => {
      const first = claimed.get(a);
      if (first !== undefined) invalid(source, [...at, 'addresses', i], `address ${a} is also claimed by ${first}; an address is one machine's`);
      claimed.set(a, h.construct_path);
    });
    const spec: RealServerHostSpec = {
      name: h.name,
      addresses,
      path: h.construct_path,
      ...(h.interface === undefined ? {} : { interface: h.interface }),
      ...(nat ? { nat } : {}),
    };
    out.push({ name: h.name, transport: h.transport, ...(ssh ? { ssh } : {}), spec, prep: prepFor(addresses, directors) });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The keys the schema knows for the object at `path` (for "did you mean"). */
function knownKeysAt(path: readonly (string | number)[]): string[] {
  const last = path.filter((p) => typeof p === 'string').slice(-1)[0];
  const inResource = path[1];
  if (path.includes('real_server')) return Object.keys(realServerSchema.shape);
  if (last === 'persistence') return ['timeout', 'netmask'];
  if (last === 'ssh') return Object.keys(sshSchema.shape);
  if (last === 'setup') return ['install_ipvsadm', 'install_keepalived', 'load_modules', 'ip_forward', 'save_rules'];
  if (last === 'vips') return ['interface', 'dummy'];
  if (last === 'timeouts') return ['tcp', 'tcp_fin', 'udp'];
  if (last === 'sysctls') return Object.keys(IPVS_SYSCTL_MAX);
  if (last === 'nat') return ['gateways', 'manage'];
  if (last === 'sync_daemon') return ['interface', 'sync_id', 'roles'];
  if (last === 'vrrp') return Object.keys(directorSchema.shape.vrrp.unwrap().shape);
  if (inResource === 'lvsform_director') return Object.keys(directorSchema.shape);
  if (inResource === 'lvsform_real_server_host') return Object.keys(realServerHostSchema.shape);
  if (inResource === 'lvsform_virtual_service') return Object.keys(serviceSchema.shape);
  return [];
}

type ServiceJson = z.infer<typeof serviceSchema>;

/** A director's settings (`vips`, `timeouts`, `sysctls`) through the one rule set; undefined when it has none. */
function readSettings(source: string, at: string[], d: z.infer<typeof directorSchema>): DirectorSettingsSpec | undefined {
  if (d.vips === undefined && d.timeouts === undefined && d.sysctls === undefined && d.sync_daemon === undefined && d.vrrp === undefined) return undefined;
  const problem = settingsProblems({ vips: d.vips, timeouts: d.timeouts, sysctls: d.sysctls, sync_daemon: d.sync_daemon, vrrp: d.vrrp })[0];
  if (problem) invalid(source, [...at, ...rulePath(problem.path)], problem.message);
  const sysctls: Partial<Record<IpvsSysctl, SysctlValue>> = {};
  for (const [k, v] of Object.entries(d.sysctls ?? {})) if (v !== undefined) sysctls[k as IpvsSysctl] = v as SysctlValue;
  const t = d.timeouts;
  return {
    ...(d.vips === undefined ? {} : { vips: d.vips.interface !== undefined ? { interface: d.vips.interface } : { dummy: d.vips.dummy! } }),
    ...(t === undefined
      ? {}
      : {
          timeouts: {
            ...(t.tcp === undefined ? {} : { tcp: t.tcp }),
            ...(t.tcp_fin === undefined ? {} : { tcpfin: t.tcp_fin }),
            ...(t.udp === undefined ? {} : { udp: t.udp }),
          },
        }),
    ...(Object.keys(sysctls).length > 0 ? { sysctls } : {}),
    ...(d.sync_daemon === undefined ? {} : { syncDaemon: { interface: d.sync_daemon.interface, syncId: d.sync_daemon.sync_id, roles: d.sync_daemon.roles } }),
    ...(d.vrrp === undefined ? {} : { vrrp: readVrrp(d.vrrp) }),
  };
}

/** A pair member's VRRP instance (checked by the rules) in the model's names, its addresses canonical. */
function readVrrp(v: NonNullable<z.infer<typeof directorSchema>['vrrp']>): VrrpSpec {
  return {
    instance: v.instance,
    interface: v.interface,
    virtualRouterId: v.virtual_router_id,
    priority: v.priority,
    state: v.state,
    advertInterval: v.advert_int,
    ...(v.auth_pass === undefined ? {} : { authPass: v.auth_pass }),
    ...(v.garp_master_delay === undefined ? {} : { garpMasterDelay: v.garp_master_delay }),
    ...(v.nopreempt === true ? { nopreempt: true as const } : {}),
    ...(v.preempt_delay === undefined ? {} : { preemptDelay: v.preempt_delay }),
    addresses: v.addresses.map((a) => ({
      address: canonicalAddress(a.address) ?? a.address,
      prefix: a.prefix,
      ...(a.interface === undefined ? {} : { device: a.interface }),
    })),
    ...(v.unicast_src_ip === undefined || v.unicast_peer === undefined
      ? {}
      : {
          unicast: {
            source: canonicalAddress(v.unicast_src_ip) ?? v.unicast_src_ip,
            peers: v.unicast_peer.map((p) => canonicalAddress(p) ?? p),
          },
        }),
  };
}

/** destinationId → the run-time managed fields, for the real servers of a service that have any (sorted). */
function runtimeOf(s: ServiceJson, svc: Service): Record<string, readonly RuntimeField[]> | undefined {
  const out: Record<string, readonly RuntimeField[]> = {};
  s.real_server.forEach((r, i) => {
    if (r.runtime_managed !== undefined) out[destinationId(svc.destinations[i]!)] = [...r.runtime_managed].sort();
  });
  return Object.keys(out).length > 0 ? out : undefined;
}

function address(source: string, path: (string | number)[], value: string): string {
  return canonicalAddress(value) ?? invalid(source, path, `${JSON.stringify(value.slice(0, 80))} is not an IPv4 or IPv6 address`);
}

function readService(source: string, at: string[], s: ServiceJson): Service {
  let key: ServiceKey;
  if (s.firewall_mark !== undefined) {
    for (const k of ['protocol', 'address', 'port'] as const) {
      if (s[k] !== undefined) invalid(source, [...at, k], 'a firewall-mark service has no protocol, address or port');
    }
    key = { kind: 'fwmark', mark: s.firewall_mark, family: s.family ?? 'inet' };
  } else {
    if (s.address === undefined) invalid(source, [...at, 'address'], 'a service needs address, port and protocol, or firewall_mark');
    if (s.port === undefined) invalid(source, [...at, 'port'], 'a service with an address needs a port');
    if (s.protocol === undefined) invalid(source, [...at, 'protocol'], 'a service with an address needs a protocol (tcp, udp, sctp)');
    const addr = address(source, [...at, 'address'], s.address);
    if (s.family !== undefined && s.family !== familyOf(addr)) invalid(source, [...at, 'family'], `family ${s.family} does not match the address ${addr}`);
    key = { kind: 'addr', protocol: s.protocol, address: addr, port: s.port };
  }
  const family: Family = serviceFamily(key);
  refuseBadPath(source, [...at, 'construct_path'], s.construct_path);

  const flags = new Set<SchedFlag>();
  s.scheduler_flags.forEach((name, i) => {
    const bad = schedulerFlagProblem(s.scheduler, name);
    if (bad) invalid(source, [...at, 'scheduler_flags', i], bad);
    flags.add(FLAG_NAMES[name]!);
  });

  let persistence: { timeout: number; netmask: string } | undefined;
  if (s.persistence !== undefined) {
    const raw = s.persistence.netmask;
    let netmask = defaultNetmask(family);
    if (raw !== undefined) {
      const path = [...at, 'persistence', 'netmask'];
      if (family === 'inet6') {
        const n = typeof raw === 'number' ? raw : /^[0-9]{1,3}$/.test(raw) ? Number(raw) : NaN;
        if (!Number.isInteger(n) || n < 1 || n > 128) invalid(source, path, `an IPv6 netmask is a prefix length 1-128; got ${JSON.stringify(raw)}`);
        netmask = String(n);
      } else {
        netmask =
          (typeof raw === 'string' ? canonicalDottedMask(raw) : undefined) ??
          invalid(source, path, `an IPv4 netmask is dotted (255.255.255.0); got ${JSON.stringify(raw)}`);
      }
    }
    persistence = { timeout: s.persistence.timeout, netmask };
  }

  // The real servers as written (tunnel options included), for the rules; the model's canonical forwarding after.
  const written = s.real_server.map((r, i) => {
    refuseBadPath(source, [...at, 'real_server', i, 'pool'], r.pool);
    const addr = address(source, [...at, 'real_server', i, 'address'], r.address);
    return {
      address: addr,
      port: r.port ?? (key.kind === 'addr' ? key.port : 0),
      forwarding: {
        method: r.forwarding,
        ...(r.tunnel_type === undefined ? {} : { type: r.tunnel_type }),
        ...(r.tunnel_port === undefined ? {} : { port: r.tunnel_port }),
        ...(r.tunnel_checksum === undefined ? {} : { checksum: r.tunnel_checksum }),
      },
      weight: r.weight,
      upperThreshold: r.upper_threshold,
      lowerThreshold: r.lower_threshold,
    };
  });
  const config = {
    scheduler: s.scheduler,
    schedFlags: [...flags].sort(),
    ...(persistence === undefined ? {} : { persistence }),
    ...(s.persistence_engine === undefined ? {} : { persistenceEngine: s.persistence_engine }),
    onePacket: s.one_packet,
  };
  const problem = serviceProblems({ key, config, destinations: written })[0];
  if (problem) invalid(source, [...at, ...rulePath(problem.path)], problem.message);

  return { key, config, destinations: written.map((d) => ({ ...d, forwarding: canonicalForwarding(d.forwarding) })) };
}

/** The model's forwarding of a real server the rules accepted: tunnel defaults filled in, nothing a type does not take. */
function canonicalForwarding(f: { method: 'masq' | 'droute' | 'tunnel'; type?: TunnelType; port?: number; checksum?: TunnelChecksum }): Forwarding {
  if (f.method !== 'tunnel') return { method: f.method };
  const type = f.type ?? 'ipip';
  if (type === 'ipip') return { method: 'tunnel', type };
  if (type === 'gue') return { method: 'tunnel', type, port: f.port!, checksum: f.checksum ?? 'nocsum' };
  return { method: 'tunnel', type, checksum: f.checksum ?? 'nocsum' };
}

/** `real_server[2].port` as path parts. */
function rulePath(path: string): (string | number)[] {
  if (path === '') return [];
  return path.split('.').flatMap((part) => {
    const m = /^([^[]*)\[(\d+)\]$/.exec(part);
    return m ? [m[1]!, Number(m[2])] : [part];
  });
}

function refuseBadPath(source: string, path: (string | number)[], value: string | undefined): void {
  if (value === undefined) return;
  const bad = constructPathProblem(value);
  if (bad) invalid(source, path, bad);
}
