/**
 * Director settings: the host state beside the IPVS table that a director needs and lvsform may own: the VIPs as
 * addresses on an interface (or on a dummy interface of lvsform's own), the IPVS connection timeouts
 * (`ipvsadm --set`) and the `net.ipv4.vs.*` sysctls. Pure data: what the app asks for, what a director holds, the
 * changes between them and what the ownership record keeps of them.
 *
 * Unset means "not managed": a setting the app does not name is never read, changed or reset. A setting lvsform
 * changed is recorded with the value it found first (`prior`), and put back to it when the app stops naming it or the
 * stack is destroyed. An address is removed only if lvsform added it (the record says so).
 */

import {
  daemonText,
  type KeepalivedChange,
  keepalivedPath,
  type KeepalivedRecord,
  type LiveKeepalived,
  type SyncDaemon,
  type SyncDaemonSpec,
  type VrrpSpec,
} from './director-pair.ts';

/** Where the VIPs of a director's services go: an existing interface, or a dummy interface lvsform creates. */
export type VipPlacement = { readonly interface: string } | { readonly dummy: string };

/** `ipvsadm --set tcp tcpfin udp`, in seconds; each field the app leaves out is not managed. */
export interface IpvsTimeouts {
  readonly tcp?: number;
  readonly tcpfin?: number;
  readonly udp?: number;
}

/** The three timeouts as a director reports them (`ipvsadm -L --timeout`). */
export interface LiveTimeouts {
  readonly tcp: number;
  readonly tcpfin: number;
  readonly udp: number;
}

export const TIMEOUT_FIELDS = ['tcp', 'tcpfin', 'udp'] as const;

/** The timeouts a fresh boot gives IPVS (`ip_vs_proto_tcp.c`, `ip_vs_proto_udp.c`). */
export const KERNEL_TIMEOUTS: LiveTimeouts = { tcp: 900, tcpfin: 120, udp: 300 };
export type TimeoutField = (typeof TIMEOUT_FIELDS)[number];

/**
 * The `net.ipv4.vs.*` sysctls lvsform manages (Documentation/networking/ipvs-sysctl.rst), each with the kernel release
 * that has it and the value a fresh boot gives it (`kernelDefault`, what `import --director` leaves out) (their values are bounded in rules.ts, `IPVS_SYSCTL_MAX`). A director whose kernel lacks one (no `/proc/sys/net/ipv4/vs/<key>`) is
 * refused before any change.
 */
export const IPVS_SYSCTLS = {
  /** Keep netfilter connection tracking for IPVS connections (needed by iptables NAT or conntrack rules); 2.6.37. */
  conntrack: { since: '2.6.37', kernelDefault: '0' },
  /** Drop a connection whose real server was removed at its next packet, instead of letting it live on; 2.6. */
  expire_nodest_conn: { since: '2.6', kernelDefault: '0' },
  /** Expire a persistence template whose real server has weight 0, so persistent clients move on; 2.6. */
  expire_quiescent_template: { since: '2.6', kernelDefault: '0' },
  /** How a reused client port is scheduled (a bitmap, 0 disables the special handling); 4.2. */
  conn_reuse_mode: { since: '4.2', kernelDefault: '1' },
  /** Accept a connection from any TCP state (a director that takes over mid-connection); 3.12. */
  sloppy_tcp: { since: '3.12', kernelDefault: '0' },
  /** The same for SCTP; 3.12. */
  sloppy_sctp: { since: '3.12', kernelDefault: '0' },
  /** Schedule ICMP packets that do not belong to a connection; 4.3. */
  schedule_icmp: { since: '4.3', kernelDefault: '0' },
  /** Leave tunnelled packets to the stack instead of scheduling them; 4.3. */
  ignore_tunneled: { since: '4.3', kernelDefault: '0' },
} as const;

export type IpvsSysctl = keyof typeof IPVS_SYSCTLS;
export const IPVS_SYSCTL_NAMES = Object.keys(IPVS_SYSCTLS) as IpvsSysctl[];

/**
 * `conn_reuse_mode: 'auto'`, as kube-proxy sets it: 0 on kernels 4.2 to 5.8, where the default 1 drops the SYN of a
 * reused client port until the old connection expires (kubernetes #81775, #93297); left as the kernel has it from 5.9
 * on, where that was fixed.
 */
export const CONN_REUSE_AUTO = 'auto';
export type SysctlValue = number | typeof CONN_REUSE_AUTO;

/** What the app asks for, as the synthesized JSON carries it. Absent parts are not managed. */
export interface DirectorSettingsSpec {
  readonly vips?: VipPlacement;
  readonly timeouts?: IpvsTimeouts;
  readonly sysctls?: Readonly<Partial<Record<IpvsSysctl, SysctlValue>>>;
  /** The connection sync daemons of a pair member (model/director-pair.ts). */
  readonly syncDaemon?: SyncDaemonSpec;
  /** A pair member's VRRP instance, written for keepalived (model/director-pair.ts). */
  readonly vrrp?: VrrpSpec;
}

/** One address as `ip -o addr show` lists it. */
export interface LiveAddress {
  readonly address: string;
  readonly prefix: number;
  readonly device: string;
  /** An IPv4 address's label when it is not the device's name (`client0:lvs`, the label lvsform gives its VIPs). */
  readonly label?: string;
}

/** What a director holds of the settings asked about. A part not asked about is absent. */
export interface LiveSettings {
  /** The running kernel (`/proc/sys/kernel/osrelease`). */
  readonly kernel: string;
  /** Every address on every interface, when addresses were asked about. */
  readonly addresses?: readonly LiveAddress[];
  /** Of the interfaces asked about, those that exist. */
  readonly links?: readonly string[];
  /** `ipvsadm -L --timeout`, when asked. */
  readonly timeouts?: LiveTimeouts;
  /** Of the sysctls asked about, the value of those the kernel has (a missing key is absent). */
  readonly sysctls?: Readonly<Record<string, string>>;
  /** Whether `arping` (iputils) is on PATH: it tells the neighbours of an added IPv4 address. */
  readonly arping?: boolean;
  /** Whether `perl` is on PATH: it sends the unsolicited neighbour advertisement of an added IPv6 address. */
  readonly perl?: boolean;
  /** The running connection sync daemons (`ipvsadm -L --daemon`), when asked. */
  readonly daemons?: readonly SyncDaemon[];
  /** keepalived's file at the path asked about, its main file and its state, when asked. */
  readonly keepalived?: LiveKeepalived;
}

/** An owned address: lvsform added it, and removes it when no service of the stack needs it. */
export interface OwnedAddress {
  readonly address: string;
  readonly prefix: number;
  readonly device: string;
}

/** What the ownership record keeps of the settings (absent parts: nothing owned). */
export interface SettingsRecord {
  readonly addresses?: readonly OwnedAddress[];
  /** Dummy interfaces lvsform created. */
  readonly links?: readonly string[];
  /** sysctl → the value found before lvsform first set it, and the value it set. */
  readonly sysctls?: Readonly<Record<string, { readonly prior: string; readonly value: string }>>;
  /** The managed timeouts: those found before lvsform first set them, and those it set. */
  readonly timeouts?: { readonly prior: IpvsTimeouts; readonly value: IpvsTimeouts };
  /** The sync daemons lvsform started (a daemon already running is not lvsform's, and is never stopped). */
  readonly daemons?: readonly SyncDaemon[];
  /** The keepalived file lvsform wrote. */
  readonly keepalived?: KeepalivedRecord;
}

/** How an added address is announced to the neighbours (see `SettingChange`). */
export type AddressAnnounce = 'arping' | 'na';

/** One change of a director setting, shown in the plan and carried out in the batch's round trip. */
export type SettingChange =
  | { readonly kind: 'link'; readonly action: 'create' | 'delete'; readonly name: string }
  | {
      readonly kind: 'address';
      readonly action: 'create' | 'delete';
      readonly address: string;
      readonly prefix: number;
      readonly device: string;
      /**
       * How the neighbours learn an added address: `arping` (IPv4: one gratuitous ARP), `na` (IPv6: one unsolicited
       * neighbour advertisement, sent by perl), or nothing (the tool is missing).
       */
      readonly announce?: AddressAnnounce;
    }
  | {
      readonly kind: 'sysctl';
      readonly action: 'update';
      /** The key under net.ipv4.vs (`conntrack`). */
      readonly name: string;
      readonly before: string;
      readonly after: string;
      /** Put back to the value found before lvsform set it. */
      readonly restore?: boolean;
    }
  | {
      readonly kind: 'timeouts';
      readonly action: 'update';
      readonly before: LiveTimeouts;
      readonly after: LiveTimeouts;
      readonly restore?: boolean;
    }
  | ({ readonly kind: 'daemon'; readonly action: 'create' | 'delete' } & SyncDaemon)
  | KeepalivedChange;

/**
 * Links and added addresses, sysctls, timeouts and sync daemons go before the batch; removed addresses and links after
 * it, and the keepalived file too: written once the table and the addresses are in place (a new VRRP master serves at
 * once), removed once the services are gone.
 */
export function settingPhase(c: SettingChange): 'before' | 'after' {
  if (c.kind === 'keepalived') return 'after';
  return (c.kind === 'address' || c.kind === 'link') && c.action === 'delete' ? 'after' : 'before';
}

/** The prefix of a host address: /32 for IPv4, /128 for IPv6. */
export function hostPrefix(address: string): 32 | 128 {
  return address.includes(':') ? 128 : 32;
}

/** The device a VIP placement names. */
export function vipDevice(vips: VipPlacement): string {
  return 'interface' in vips ? vips.interface : vips.dummy;
}

/** `+ address 198.51.100.10/32 on eth0`, `~ sysctl net.ipv4.vs.conntrack 0 -> 1`: the change as one plan line. */
export function settingText(c: SettingChange): { sign: '+' | '~' | '-'; text: string } {
  const sign = c.action === 'create' ? '+' : c.action === 'delete' ? '-' : '~';
  if (c.kind === 'link') return { sign, text: `link ${c.name}  (dummy, NOARP: the VIPs an upstream router routes here)` };
  if (c.kind === 'address') {
    const how =
      c.action === 'delete'
        ? 'after the services that use it'
        : c.announce === 'arping'
          ? 'gratuitous ARP: arping -U'
          : c.announce === 'na'
            ? 'unsolicited neighbour advertisement: perl'
            : '';
    return { sign, text: `address ${c.address}/${c.prefix} on ${c.device}${how ? `  (${how})` : ''}` };
  }
  if (c.kind === 'sysctl') return { sign, text: `sysctl net.ipv4.vs.${c.name} ${c.before} -> ${c.after}${c.restore ? '  (restored)' : ''}` };
  if (c.kind === 'daemon') {
    const how = c.action === 'create' ? `ipvsadm --start-daemon ${c.role}` : `ipvsadm --stop-daemon ${c.role}`;
    return { sign, text: `${daemonText(c)}  (${how})` };
  }
  if (c.kind === 'keepalived') {
    const main = c.main === 'write' ? ', and the keepalived.conf that includes it' : c.main === 'delete' ? ", and lvsform's keepalived.conf" : '';
    const then = c.action === 'delete' ? 'keepalived reloaded' : 'checked with keepalived -t, keepalived reloaded';
    return { sign, text: `keepalived file ${c.path}${main}  (${then})` };
  }
  const parts = TIMEOUT_FIELDS.filter((f) => c.before[f] !== c.after[f]).map((f) => `${f} ${c.before[f]} -> ${c.after[f]}`);
  return { sign, text: `timeouts ${parts.join(', ')}${c.restore ? '  (restored)' : ''}` };
}

/** True when a record holds no settings. */
export function emptySettingsRecord(r: SettingsRecord | undefined): boolean {
  return (
    r === undefined ||
    ((r.addresses?.length ?? 0) === 0 &&
      (r.links?.length ?? 0) === 0 &&
      Object.keys(r.sysctls ?? {}).length === 0 &&
      r.timeouts === undefined &&
      (r.daemons?.length ?? 0) === 0 &&
      r.keepalived === undefined)
  );
}

/** True when the app manages any setting. */
export function managesSettings(spec: DirectorSettingsSpec | undefined): boolean {
  return (
    spec !== undefined &&
    (spec.vips !== undefined ||
      spec.timeouts !== undefined ||
      Object.keys(spec.sysctls ?? {}).length > 0 ||
      spec.syncDaemon !== undefined ||
      spec.vrrp !== undefined)
  );
}

/** What a settings read asks the director: the parts the app manages, or the record says lvsform changed. */
export interface SettingsQuery {
  readonly addresses: boolean;
  /** Interfaces whose existence matters: the VIPs' interface, lvsform's dummy interfaces. */
  readonly links: readonly string[];
  readonly timeouts: boolean;
  readonly sysctls: readonly string[];
  /** Read the running sync daemons. */
  readonly daemons?: boolean;
  /** Read this keepalived file, the main file and keepalived's state. */
  readonly keepalived?: string;
}

/** True when the query reads nothing. */
export function emptyQuery(q: SettingsQuery): boolean {
  return !q.addresses && q.links.length === 0 && !q.timeouts && q.sysctls.length === 0 && !q.daemons && q.keepalived === undefined;
}

/** True when `a` reads everything `b` reads. */
export function queryCovers(a: SettingsQuery, b: SettingsQuery): boolean {
  return (
    (a.addresses || !b.addresses) &&
    (a.timeouts || !b.timeouts) &&
    (a.daemons === true || !b.daemons) &&
    (b.keepalived === undefined || a.keepalived === b.keepalived) &&
    b.links.every((l) => a.links.includes(l)) &&
    b.sysctls.every((k) => a.sysctls.includes(k))
  );
}

/** The read a plan needs: what the app manages (`spec`) and what the record says lvsform changed. */
export function settingsQueryFor(spec: DirectorSettingsSpec | undefined, record: SettingsRecord | undefined): SettingsQuery {
  const links = new Set<string>(record?.links ?? []);
  if (spec?.vips) links.add(vipDevice(spec.vips));
  const sysctls = new Set<string>([...Object.keys(spec?.sysctls ?? {}), ...Object.keys(record?.sysctls ?? {})]);
  return {
    addresses: spec?.vips !== undefined || (record?.addresses?.length ?? 0) > 0,
    links: [...links].sort(),
    timeouts: spec?.timeouts !== undefined || record?.timeouts !== undefined,
    sysctls: IPVS_SYSCTL_NAMES.filter((k) => sysctls.has(k)),
    ...(spec?.syncDaemon !== undefined || (record?.daemons?.length ?? 0) > 0 ? { daemons: true } : {}),
    ...(spec?.vrrp !== undefined
      ? { keepalived: keepalivedPath(spec.vrrp.instance) }
      : record?.keepalived !== undefined
        ? { keepalived: record.keepalived.path }
        : {}),
  };
}

/** `lvs:` labels an IPv4 address lvsform added (`client0:lvs`), when the device name leaves room (15 characters). */
export function addressLabel(device: string): string | undefined {
  const label = `${device}:lvs`;
  return label.length <= 15 ? label : undefined;
}
