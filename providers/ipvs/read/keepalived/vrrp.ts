/**
 * The director-pair part of a keepalived configuration, for `import --keepalived`: one `vrrp_instance` (its interface,
 * `virtual_router_id`, priority, state, `advert_int`, `garp_master_delay`, `nopreempt`, `preempt_delay`, PASS
 * authentication, addresses) and the connection sync daemon (`lvs_sync_daemon IF [INSTANCE] [id N]` in `global_defs`,
 * or the older `lvs_sync_daemon_interface` in the instance; the sync id defaults to the instance's
 * `virtual_router_id`, as keepalived's does), and unicast VRRP (`unicast_src_ip` with one `unicast_peer`: the pair's
 * two directors). What lvsform's DirectorPair cannot carry (a second instance, more unicast peers than one, scripts,
 * notify hooks, …) is reported line by line, and so is what keepalived itself would ignore
 * (`nopreempt` or `preempt_delay` with state MASTER, `preempt_delay` with `nopreempt`).
 */
import { canonicalAddress } from '../../model/canonical.ts';
import { IPVS_WORDS } from './keywords.ts';
import { shown, type Stmt } from './structure.ts';

/** A pair read from keepalived, in the DirectorPair's terms. */
export interface ImportedPair {
  readonly interface: string;
  readonly virtualRouterId: number;
  readonly priority: number;
  readonly state: 'MASTER' | 'BACKUP';
  readonly advertInterval?: number;
  readonly authPass?: string;
  readonly garpMasterDelay?: number;
  readonly nopreempt?: true;
  readonly preemptDelay?: number;
  /** Every address the instance moves (`virtual_ipaddress` and `virtual_ipaddress_excluded`). */
  readonly addresses: readonly { readonly address: string; readonly prefix: number; readonly device?: string }[];
  readonly sync?: { readonly interface: string; readonly syncId: number };
  /** Unicast VRRP: this director's address (`unicast_src_ip`) and its one peer's (`unicast_peer`). */
  readonly unicast?: { readonly source: string; readonly peer: string };
}

/** What the instance may say that the pair carries; anything else is reported. */
const CARRIED = new Set([
  'state',
  'interface',
  'virtual_router_id',
  'priority',
  'advert_int',
  'authentication',
  'virtual_ipaddress',
  'virtual_ipaddress_excluded',
  'lvs_sync_daemon_interface',
  'garp_master_delay',
  'nopreempt',
  'preempt',
  'preempt_delay',
  'unicast_src_ip',
  'unicast_peer',
]);

type Warn = (line: number, message: string) => void;

function addressOf(s: Stmt, dev: string): { address: string; prefix: number; device?: string } | undefined {
  const [word, ...rest] = s.words;
  const [ip, len] = (word ?? '').split('/');
  const address = canonicalAddress(ip ?? '');
  if (address === undefined) return undefined;
  const prefix = len === undefined ? (address.includes(':') ? 128 : 32) : Number(len);
  const at = rest.indexOf('dev');
  const device = at >= 0 ? rest[at + 1] : undefined;
  return { address, prefix, ...(device !== undefined && device !== dev ? { device } : {}) };
}

/**
 * The pair of the configuration's one `vrrp_instance`, or undefined (with a warning for each instance) when there is
 * none or more than one. `globals` are the `global_defs` blocks (for `lvs_sync_daemon`); `vips` the addresses of the
 * imported services (the pair moves each as a host address).
 */
export function readPair(instances: readonly Stmt[], globals: readonly Stmt[], vips: ReadonlySet<string>, warn: Warn): ImportedPair | undefined {
  const sync = globals.flatMap((g) => (g.block ?? []).filter((c) => c.words[0] === 'lvs_sync_daemon'));
  if (instances.length !== 1) {
    for (const s of instances) {
      warn(
        s.line,
        `vrrp_instance ${shown(s.words[1] ?? '')} is not imported: a DirectorPair carries one VRRP instance, and this configuration has ${instances.length}; VRRP stays keepalived's`,
      );
    }
    for (const c of sync) warn(c.line, `lvs_sync_daemon ${shown(c.words.slice(1).join(' '))} is not imported: no pair was imported`);
    return undefined;
  }
  const s = instances[0]!;
  const name = s.words[1] ?? '';
  const block = s.block ?? [];
  const one = (key: string) => block.find((c) => c.words[0] === key);
  const iface = one('interface')?.words[1];
  const vrid = Number(one('virtual_router_id')?.words[1]);
  if (iface === undefined || !Number.isInteger(vrid)) {
    warn(s.line, `vrrp_instance ${shown(name)} is not imported: it names no interface or virtual_router_id`);
    return undefined;
  }
  // A virtual_server here (a brace out of place) is said by the reader of the whole configuration.
  for (const c of block)
    if (!CARRIED.has(c.words[0]!) && !IPVS_WORDS.has(c.words[0]!))
      warn(c.line, `${c.words[0]} in vrrp_instance ${shown(name)} is not imported: a DirectorPair has no such setting`);
  const addresses: { address: string; prefix: number; device?: string }[] = [];
  for (const key of ['virtual_ipaddress', 'virtual_ipaddress_excluded']) {
    for (const a of one(key)?.block ?? []) {
      const parsed = addressOf(a, iface);
      if (parsed === undefined) {
        warn(a.line, `${shown(a.words.join(' '))} in ${key} is not imported: not an address lvsform reads`);
        continue;
      }
      addresses.push(parsed);
      // A service VIP moves with the pair as a host address, whatever prefix keepalived gave it.
      const host = parsed.address.includes(':') ? 128 : 32;
      if (vips.has(parsed.address) && parsed.prefix !== host) {
        warn(a.line, `${parsed.address}/${parsed.prefix} of the vrrp_instance is a service VIP: the pair moves it as ${parsed.address}/${host}`);
      }
    }
  }
  const auth = one('authentication')?.block ?? [];
  const authType = auth.find((c) => c.words[0] === 'auth_type')?.words[1];
  const authPass = auth.find((c) => c.words[0] === 'auth_pass')?.words[1];
  if (authType !== undefined && authType !== 'PASS')
    warn(one('authentication')!.line, `auth_type ${shown(authType)} is not imported: lvsform writes PASS only`);
  const priority = Number(one('priority')?.words[1] ?? 100);
  const advert = one('advert_int')?.words[1];
  const state = one('state')?.words[1] === 'MASTER' ? 'MASTER' : 'BACKUP';
  const garp = wholeSeconds(one('garp_master_delay'), 0, 255, name, warn);
  const delay = wholeSeconds(one('preempt_delay'), 1, 1000, name, warn);
  // keepalived itself drops both with an initial state MASTER, and preempt_delay with nopreempt: so does the import.
  const nopreempt = one('nopreempt');
  if (nopreempt && state === 'MASTER')
    warn(nopreempt.line, `nopreempt in vrrp_instance ${shown(name)} is not imported: keepalived ignores it with state MASTER`);
  const carriesNopreempt = nopreempt !== undefined && state === 'BACKUP';
  if (delay !== undefined && (state === 'MASTER' || carriesNopreempt)) {
    warn(
      one('preempt_delay')!.line,
      `preempt_delay in vrrp_instance ${shown(name)} is not imported: keepalived ignores it ${state === 'MASTER' ? 'with state MASTER' : 'with nopreempt'}`,
    );
  }
  let syncd: ImportedPair['sync'];
  const g = sync[0];
  if (g !== undefined) {
    const at = g.words.indexOf('id');
    syncd = { interface: g.words[1]!, syncId: at >= 0 ? Number(g.words[at + 1]) : vrid };
  } else {
    const legacy = one('lvs_sync_daemon_interface')?.words[1];
    if (legacy !== undefined) syncd = { interface: legacy, syncId: vrid };
  }
  const unicast = readUnicast(one('unicast_src_ip'), one('unicast_peer'), iface, name, warn);
  return {
    interface: iface,
    virtualRouterId: vrid,
    priority: Number.isInteger(priority) ? priority : 100,
    state,
    ...(advert !== undefined && Number.isInteger(Number(advert)) ? { advertInterval: Number(advert) } : {}),
    ...(authType === 'PASS' && authPass !== undefined ? { authPass } : {}),
    ...(garp !== undefined ? { garpMasterDelay: garp } : {}),
    ...(carriesNopreempt ? { nopreempt: true as const } : {}),
    ...(delay !== undefined && state === 'BACKUP' && !carriesNopreempt ? { preemptDelay: delay } : {}),
    addresses,
    ...(syncd ? { sync: syncd } : {}),
    ...(unicast ? { unicast } : {}),
  };
}

/**
 * Unicast VRRP: `unicast_src_ip` and a `unicast_peer` block of one address, as the pair's `unicastPeers` (this
 * director's, then its peer's). Anything else is reported: no source (keepalived then takes the interface's first
 * address, which the import cannot know), more peers than the pair's one other director, options after an address.
 */
function readUnicast(src: Stmt | undefined, peers: Stmt | undefined, iface: string, instance: string, warn: Warn): ImportedPair['unicast'] {
  if (peers === undefined) {
    if (src !== undefined) warn(src.line, `unicast_src_ip in vrrp_instance ${shown(instance)} is not imported: it names no unicast_peer`);
    return undefined;
  }
  const at = `unicast_peer of vrrp_instance ${shown(instance)} is not imported`;
  const source = canonicalAddress(src?.words[1] ?? '');
  if (src === undefined || source === undefined) {
    warn(
      (src ?? peers).line,
      src === undefined
        ? `${at}: it has no unicast_src_ip (keepalived takes the first address of ${iface}); give the pair vrrp.unicastPeers with this director's address`
        : `${at}: unicast_src_ip ${shown(src.words[1] ?? '')} is not an address`,
    );
    return undefined;
  }
  const entries = peers.block ?? [];
  if (entries.length !== 1) {
    warn(peers.line, `${at}: it lists ${entries.length} peers, and the imported pair has two directors; add the others and give vrrp.unicastPeers`);
    return undefined;
  }
  const peer = canonicalAddress(entries[0]!.words[0] ?? '');
  if (peer === undefined || entries[0]!.words.length > 1) {
    warn(entries[0]!.line, `${at}: ${shown(entries[0]!.words.join(' '))} is not one address (lvsform writes addresses without options)`);
    return undefined;
  }
  return { source, peer };
}

/** A statement's whole seconds in min..max, or undefined with a warning naming its line (keepalived takes decimals). */
function wholeSeconds(c: Stmt | undefined, min: number, max: number, instance: string, warn: Warn): number | undefined {
  if (c === undefined) return undefined;
  const n = Number(c.words[1]);
  if (Number.isInteger(n) && n >= min && n <= max) return n;
  if (n === 0 && min === 1) return undefined; // preempt_delay 0 is keepalived's default: no delay
  warn(c.line, `${c.words[0]} ${shown(c.words[1] ?? '')} in vrrp_instance ${shown(instance)} is not imported: lvsform takes whole seconds ${min}..${max}`);
  return undefined;
}
