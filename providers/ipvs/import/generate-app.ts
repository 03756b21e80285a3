/**
 * Writes a canonical Table as a readable lvsform app (TypeScript) that synthesizes back to the same table.
 *
 * Real servers are gathered into `RealServerPool`s: services whose destinations are the same (same addresses, the
 * same port relative to the service port, forwarding, weight and thresholds) share one pool, and each pool takes the
 * most common forwarding, weight and thresholds of its members as its defaults so that members list only what
 * differs. Everything the constructs default is left out (scheduler wlc, protocol TCP, weight 1, thresholds 0,
 * persistence 360 s, netmask /32 or /128, NAT). The output is deterministic: it depends on the table only.
 *
 * The generator imports nothing from `lib/`: it writes text that uses the library's public API.
 */
import type { SshSpec } from '../read/read-synth.ts';
import { type Destination, type Forwarding, type Service, type Table, defaultNetmask, normalizeTable, serviceFamily, serviceId } from '../model/model.ts';
import { SCHEDULERS } from '../model/limits.ts';
import type { ImportedSettings } from './import-settings.ts';
import type { ImportedPair } from '../read/keepalived/vrrp.ts';

/** How the generated app reaches its director. */
export interface GeneratedDirector {
  /** The director's name (and construct id). */
  readonly name: string;
  /** Reach it over SSH. */
  readonly ssh?: SshSpec;
  /** Reach it locally (`sh` on this machine). Used when `ssh` is not given. */
  readonly local?: boolean;
  /** Its settings (`vips`, `timeouts`, `sysctls`), from a live director (import-settings.ts). */
  readonly settings?: Pick<ImportedSettings, 'vips' | 'timeouts' | 'sysctls'>;
}

export interface GenerateAppOptions {
  /** The stack name (`new LvsStack(app, NAME)`). */
  readonly stack: string;
  readonly director: GeneratedDirector;
  /**
   * The module the constructs are imported from.
   * @default 'lvsform'
   */
  readonly importFrom?: string;
  /** Where the table came from, for the header comment (`keepalived.conf`, `ipvsadm-save file x`). */
  readonly source?: string;
  /** Lines written as comments under the header (e.g. what the import did not carry over). */
  readonly notes?: readonly string[];
  /**
   * The director pair the source describes (a keepalived `vrrp_instance`): the app declares a DirectorPair of the
   * imported director and a placeholder for the other, and its services on both.
   */
  readonly pair?: ImportedPair;
}

const STATIC_SCHEDULERS: Readonly<Record<string, string>> = {
  rr: 'ROUND_ROBIN',
  wrr: 'WEIGHTED_ROUND_ROBIN',
  lc: 'LEAST_CONNECTION',
  wlc: 'WEIGHTED_LEAST_CONNECTION',
  lblc: 'LOCALITY_BASED_LEAST_CONNECTION',
  lblcr: 'LOCALITY_BASED_LEAST_CONNECTION_WITH_REPLICATION',
  dh: 'DESTINATION_HASHING',
  sh: 'SOURCE_HASHING',
  sed: 'SHORTEST_EXPECTED_DELAY',
  nq: 'NEVER_QUEUE',
  fo: 'WEIGHTED_FAILOVER',
  ovf: 'WEIGHTED_OVERFLOW',
  mh: 'MAGLEV_HASHING',
};

const LINE_WIDTH = 110;

/** A TypeScript expression, plus the names it needs imported. */
interface Expr {
  readonly text: string;
  readonly uses: readonly string[];
}

export const lit = (value: string | number | boolean): string => (typeof value === 'string' ? quote(value) : String(value));

/** A single-quoted TypeScript string literal. */
export function quote(s: string): string {
  return `'${s
    .replace(/\\/g, '\\\\')
    .replace(/'/g, "\\'")
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/[\u0000-\u001f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}'`;
}

export function objectText(entries: readonly (readonly [string, string])[], indent: string): string {
  if (entries.length === 0) return '{}';
  const flat = `{ ${entries.map(([k, v]) => `${k}: ${v}`).join(', ')} }`;
  if (!flat.includes('\n') && flat.length + indent.length + 8 <= LINE_WIDTH) return flat;
  const inner = `${indent}  `;
  return `{\n${entries.map(([k, v]) => `${inner}${k}: ${v},`).join('\n')}\n${indent}}`;
}

/** The schedulers of the kernel's tree (the construct library's KERNEL_SCHEDULERS); others import as Scheduler.custom. */
const KERNEL_TREE = SCHEDULERS;

function schedulerExpr(name: string, flags: readonly string[]): Expr | undefined {
  if (flags.length === 0) {
    if (name === 'wlc') return undefined;
    const constant = STATIC_SCHEDULERS[name];
    return { text: constant ? `Scheduler.${constant}` : `Scheduler.${KERNEL_TREE.includes(name) ? 'of' : 'custom'}(${quote(name)})`, uses: ['Scheduler'] };
  }
  if ((name === 'sh' || name === 'mh') && !flags.includes('flag-3')) {
    const opts: [string, string][] = [];
    if (flags.includes('flag-1')) opts.push(['fallback', 'true']);
    if (flags.includes('flag-2')) opts.push(['port', 'true']);
    return { text: `Scheduler.${name === 'sh' ? 'sourceHash' : 'maglevHash'}(${objectText(opts, '')})`, uses: ['Scheduler'] };
  }
  const named = flags.map((f) => ((name === 'sh' || name === 'mh') && f !== 'flag-3' ? `${name}-${f === 'flag-1' ? 'fallback' : 'port'}` : f));
  return {
    text: `Scheduler.${KERNEL_TREE.includes(name) ? 'of' : 'custom'}(${quote(name)}, { flags: [${named.map(quote).join(', ')}] })`,
    uses: ['Scheduler'],
  };
}

function forwardingKey(f: Forwarding): string {
  if (f.method !== 'tunnel') return f.method;
  return `tunnel ${f.type} ${f.port ?? 0} ${f.type === 'ipip' ? '' : (f.checksum ?? 'nocsum')}`;
}

function forwardingExpr(f: Forwarding): Expr {
  if (f.method === 'masq') return { text: 'Forwarding.NAT', uses: ['Forwarding'] };
  if (f.method === 'droute') return { text: 'Forwarding.DIRECT_ROUTING', uses: ['Forwarding'] };
  if (f.type === 'ipip') return { text: 'Forwarding.tunnel()', uses: ['Forwarding'] };
  const opts: [string, string][] = [['type', f.type === 'gue' ? 'TunnelType.GUE' : 'TunnelType.GRE']];
  const uses = ['Forwarding', 'TunnelType'];
  if (f.type === 'gue') opts.push(['port', String(f.port ?? 0)]);
  const checksum = f.checksum ?? 'nocsum';
  if (checksum !== 'nocsum') {
    opts.push(['checksum', checksum === 'csum' ? 'TunnelChecksum.CHECKSUM' : 'TunnelChecksum.REMOTE_CHECKSUM']);
    uses.push('TunnelChecksum');
  }
  return { text: `Forwarding.tunnel(${objectText(opts, '')})`, uses };
}

/** A destination as a pool member sees it: its port relative to the service port. */
interface MemberSpec {
  readonly address: string;
  /** undefined = the service's port. */
  readonly port: number | undefined;
  readonly forwarding: Forwarding;
  readonly weight: number;
  readonly upper: number;
  readonly lower: number;
}

function servicePort(s: Service): number {
  return s.key.kind === 'addr' ? s.key.port : 0;
}

function memberOf(s: Service, d: Destination): MemberSpec {
  return {
    address: d.address,
    port: d.port === servicePort(s) ? undefined : d.port,
    forwarding: d.forwarding,
    weight: d.weight,
    upper: d.upperThreshold,
    lower: d.lowerThreshold,
  };
}

function memberKey(m: MemberSpec): string {
  return `${m.address}|${m.port ?? '-'}|${forwardingKey(m.forwarding)}|${m.weight}|${m.upper}|${m.lower}`;
}

/** The most frequent value (first seen on ties, members being in canonical order). */
function mode<T>(values: readonly T[], key: (v: T) => string): T {
  const counts = new Map<string, { value: T; n: number }>();
  for (const v of values) {
    const k = key(v);
    const c = counts.get(k);
    if (c) c.n++;
    else counts.set(k, { value: v, n: 1 });
  }
  let best: { value: T; n: number } | undefined;
  for (const c of counts.values()) if (best === undefined || c.n > best.n) best = c;
  return best!.value;
}

interface Pool {
  readonly members: readonly MemberSpec[];
  readonly services: Service[];
  id: string;
  variable: string;
}

/** `198.51.100.10` → `198-51-100-10`, `2001:db8::10` → `2001-db8--10`. */
function idPart(address: string): string {
  return address.replace(/[.:]/g, '-');
}

function serviceConstructId(s: Service): string {
  const k = s.key;
  return k.kind === 'fwmark' ? `fwmark-${k.mark}${k.family === 'inet6' ? '-inet6' : ''}` : `${k.protocol}-${idPart(k.address)}-${k.port}`;
}

function uniqueIds(wanted: readonly string[]): string[] {
  const used = new Set<string>();
  return wanted.map((w) => {
    let id = w;
    for (let i = 2; used.has(id); i++) id = `${w}-${i}`;
    used.add(id);
    return id;
  });
}

function poolIdFor(pool: Pool): string {
  const services = pool.services;
  if (services.length === 1) return `${serviceConstructId(services[0]!)}-reals`;
  const addresses = new Set(services.map((s) => (s.key.kind === 'addr' ? s.key.address : undefined)));
  if (addresses.size === 1 && !addresses.has(undefined)) return `${idPart([...addresses][0]!)}-reals`;
  const marks = services.every((s) => s.key.kind === 'fwmark');
  if (marks) return `fwmark-${services.map((s) => (s.key.kind === 'fwmark' ? s.key.mark : 0)).join('-')}-reals`;
  return 'shared-reals';
}

function poolText(pool: Pool, uses: Set<string>): string {
  const members = pool.members;
  const fwd = mode(members, (m) => forwardingKey(m.forwarding)).forwarding;
  const weight = mode(members, (m) => String(m.weight)).weight;
  const thresholds = mode(members, (m) => `${m.upper}/${m.lower}`);
  const props: [string, string][] = [];
  if (fwd.method !== 'masq') {
    const e = forwardingExpr(fwd);
    e.uses.forEach((u) => uses.add(u));
    props.push(['forwarding', e.text]);
  }
  if (weight !== 1) props.push(['weight', String(weight)]);
  if (thresholds.upper !== 0) props.push(['upperThreshold', String(thresholds.upper)]);
  if (thresholds.lower !== 0) props.push(['lowerThreshold', String(thresholds.lower)]);
  const memberTexts = members.map((m) => {
    const p: [string, string][] = [['address', quote(m.address)]];
    if (m.port !== undefined) p.push(['port', String(m.port)]);
    if (forwardingKey(m.forwarding) !== forwardingKey(fwd)) {
      const e = forwardingExpr(m.forwarding);
      e.uses.forEach((u) => uses.add(u));
      p.push(['forwarding', e.text]);
    }
    if (m.weight !== weight) p.push(['weight', String(m.weight)]);
    if (m.upper !== thresholds.upper || m.lower !== thresholds.lower) {
      p.push(['upperThreshold', String(m.upper)], ['lowerThreshold', String(m.lower)]);
    }
    return objectText(p, '    ');
  });
  props.push(['members', `[\n${memberTexts.map((t) => `    ${t},`).join('\n')}\n  ]`]);
  const ids = pool.services.map((s) => serviceId(s.key));
  const served = ids.length > 4 ? `${ids.slice(0, 3).join(', ')} and ${ids.length - 3} more` : ids.join(', ');
  return `// Serves ${served}.\nconst ${pool.variable} = new RealServerPool(stack, ${quote(pool.id)}, {\n${props.map(([k, v]) => `  ${k}: ${v},`).join('\n')}\n});\n`;
}

function serviceText(s: Service, id: string, pool: Pool | undefined, uses: Set<string>): string {
  const k = s.key;
  const c = s.config;
  const props: [string, string][] = [];
  const notes: string[] = [];
  if (k.kind === 'addr') {
    if (k.protocol !== 'tcp') {
      props.push(['protocol', `Protocol.${k.protocol.toUpperCase()}`]);
      uses.add('Protocol');
    }
    props.push(['address', quote(k.address)], ['port', String(k.port)]);
  } else {
    props.push(['firewallMark', String(k.mark)]);
    if (k.family === 'inet6') {
      props.push(['family', 'AddressFamily.IPV6']);
      uses.add('AddressFamily');
    }
  }
  const sched = schedulerExpr(c.scheduler, c.schedFlags);
  if (sched) {
    props.push(['scheduler', sched.text]);
    sched.uses.forEach((u) => uses.add(u));
  }
  if (c.persistence) {
    const family = serviceFamily(k);
    const p: [string, string][] = [];
    if (c.persistence.timeout !== 360) p.push(['timeout', String(c.persistence.timeout)]);
    if (c.persistence.netmask !== defaultNetmask(family)) {
      p.push(family === 'inet6' ? ['prefixLength', c.persistence.netmask] : ['netmask', quote(c.persistence.netmask)]);
    }
    props.push(['persistence', objectText(p, '  ')]);
  }
  if (c.persistenceEngine !== undefined) {
    if (c.persistenceEngine === 'sip') {
      props.push(['persistenceEngine', 'PersistenceEngine.SIP']);
      uses.add('PersistenceEngine');
    } else {
      notes.push(`// NOTE: persistence engine ${JSON.stringify(c.persistenceEngine)} has no construct (only sip); not written.\n`);
    }
  }
  if (c.onePacket) props.push(['onePacket', 'true']);
  if (pool) props.push(['pools', `[${pool.variable}]`]);
  return `${notes.join('')}director.addVirtualService(${quote(id)}, ${objectText(props, '')});\n`;
}

/** `local: true`, or `ssh: { host, … }`: how a generated Director or RealServerHost is reached. */
export function reachProps(ssh: SshSpec | undefined): [string, string][] {
  if (ssh === undefined) return [['local', 'true']];
  const p: [string, string][] = [];
  for (const key of ['host', 'port', 'user', 'identityFile', 'knownHostsFile', 'configFile', 'alias'] as const) {
    const v = ssh[key];
    if (v !== undefined) p.push([key, lit(v)]);
  }
  if (ssh.sudo) p.push(['sudo', 'true']);
  return [['ssh', objectText(p, '  ')]];
}

function directorProps(d: GeneratedDirector): string {
  return objectText(directorEntries(d), '');
}

/** A Director's props as entries: how to reach it, and its settings. */
function directorEntries(d: GeneratedDirector): [string, string][] {
  const props: [string, string][] = reachProps(d.ssh);
  const settings = d.settings;
  if (settings?.vips) props.push(['vips', objectText([['interface', lit(settings.vips.interface)]], '  ')]);
  if (settings?.timeouts)
    props.push([
      'timeouts',
      objectText(
        Object.entries(settings.timeouts).map(([k, v]) => [k, lit(v)] as const),
        '  ',
      ),
    ]);
  if (settings?.sysctls)
    props.push([
      'sysctls',
      objectText(
        Object.entries(settings.sysctls).map(([k, v]) => [k, lit(v)] as const),
        '  ',
      ),
    ]);
  return props;
}

/** The DirectorPair's props: the imported director, the other one to fill in, VRRP and the sync daemon. */
function pairProps(d: GeneratedDirector, pair: ImportedPair, table: Table): string {
  const priority = Math.min(pair.priority, 254);
  const other = pair.state === 'MASTER' ? Math.max(1, priority - 50) : Math.min(254, priority + 50);
  const self = objectText([['id', quote(d.name)], ...directorEntries(d), ['priority', String(priority)]], '    ');
  const peer = `{ id: ${quote(`${d.name}-peer`)}, ssh: { host: 'peer.invalid' }, priority: ${other === priority ? priority - 1 : other} }`;
  const vips = new Set(table.services.flatMap((s) => (s.key.kind === 'addr' ? [s.key.address] : [])));
  const extra = pair.addresses
    .filter((a) => !vips.has(a.address))
    .map((a) =>
      objectText(
        [
          ['address', quote(a.address)],
          ...(a.prefix !== (a.address.includes(':') ? 128 : 32) ? [['prefixLength', String(a.prefix)] as const] : []),
          ...(a.device !== undefined ? [['interface', quote(a.device)] as const] : []),
        ],
        '    ',
      ),
    );
  const vrrp: [string, string][] = [
    ['interface', quote(pair.interface)],
    ['virtualRouterId', String(pair.virtualRouterId)],
    ...(pair.authPass !== undefined ? [['authPass', quote(pair.authPass)] as [string, string]] : []),
    ...(pair.advertInterval !== undefined && pair.advertInterval !== 1 ? [['advertInterval', String(pair.advertInterval)] as [string, string]] : []),
    ...(pair.garpMasterDelay !== undefined ? [['garpMasterDelay', String(pair.garpMasterDelay)] as [string, string]] : []),
    ...(pair.nopreempt ? [['nopreempt', 'true'] as [string, string]] : []),
    ...(pair.preemptDelay !== undefined ? [['preemptDelay', String(pair.preemptDelay)] as [string, string]] : []),
    ...(extra.length > 0 ? [['addresses', `[${extra.join(', ')}]`] as [string, string]] : []),
    ...(pair.unicast ? [['unicastPeers', `[${quote(pair.unicast.source)}, ${quote(pair.unicast.peer)}]`] as [string, string]] : []),
  ];
  const props: [string, string][] = [
    ['directors', `[\n    ${self},\n    // The other director of the pair: its address (the imported configuration describes one side).\n    ${peer},\n  ]`],
    ['vrrp', objectText(vrrp, '  ')],
    ...(pair.sync
      ? [
          [
            'sync',
            objectText(
              [
                ['interface', quote(pair.sync.interface)],
                ['syncId', String(pair.sync.syncId)],
              ],
              '  ',
            ),
          ] as [string, string],
        ]
      : []),
  ];
  return `{\n${props.map(([k, v]) => `  ${k}: ${v},`).join('\n')}\n}`;
}

export function comment(line: string): string {
  return `// ${line.replace(/[\r\n\u2028\u2029]+/g, ' ')}`.trimEnd();
}

/** The construct id `generateApp` gives each service of a table, by `serviceId` (for the ownership record of an import). */
export function generatedServiceIds(input: Table): Map<string, string> {
  const services = normalizeTable(input).services;
  const ids = uniqueIds(services.map(serviceConstructId));
  return new Map(services.map((s, i) => [serviceId(s.key), ids[i]!]));
}

/** The app as TypeScript source text. */
export function generateApp(input: Table, opts: GenerateAppOptions): string {
  const table = normalizeTable(input);
  const uses = new Set<string>(['App', opts.pair ? 'DirectorPair' : 'Director', 'LvsStack']);

  // Group services by the members they would list.
  const pools: Pool[] = [];
  const poolOf = new Map<string, Pool>();
  const servicePool = new Map<Service, Pool>();
  for (const s of table.services) {
    if (s.destinations.length === 0) continue;
    const members = s.destinations.map((d) => memberOf(s, d));
    const key = members.map(memberKey).join('\n');
    let pool = poolOf.get(key);
    if (pool === undefined) {
      pool = { members, services: [], id: '', variable: '' };
      poolOf.set(key, pool);
      pools.push(pool);
    }
    pool.services.push(s);
    servicePool.set(s, pool);
  }
  const poolIds = uniqueIds(pools.map(poolIdFor));
  pools.forEach((p, i) => {
    p.id = poolIds[i]!;
    p.variable = `pool${i + 1}`;
  });
  if (pools.length > 0) uses.add('RealServerPool');

  const serviceIds = uniqueIds(table.services.map(serviceConstructId));
  const poolBlocks = pools.map((p) => poolText(p, uses));
  const serviceBlocks = table.services.map((s, i) => serviceText(s, serviceIds[i]!, servicePool.get(s), uses));

  const from = opts.importFrom ?? 'lvsform';
  const header = [
    comment(`Imported by \`lvsform import\`${opts.source ? ` from ${opts.source}` : ''}. Review it, then run \`lvsform plan\`.`),
    ...(opts.notes ?? []).map(comment),
  ];
  const out = [
    header.join('\n'),
    `import { ${[...uses].sort().join(', ')} } from ${quote(from)};`,
    '',
    'const app = new App();',
    `const stack = new LvsStack(app, ${quote(opts.stack)});`,
    opts.pair
      ? `const director = new DirectorPair(stack, 'pair', ${pairProps(opts.director, opts.pair, table)});`
      : `const director = new Director(stack, ${quote(opts.director.name)}, ${directorProps(opts.director)});`,
    '',
    ...poolBlocks.map((b) => b),
    ...(serviceBlocks.length > 0 ? [serviceBlocks.join(''), ''] : []),
    'app.synth();',
    '',
  ];
  return out.join('\n');
}
