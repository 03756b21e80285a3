/**
 * A director of a pair (or group): the two director settings a pair adds to a director's own (VIPs, timeouts,
 * sysctls), as pure data.
 *
 * - **The connection sync daemon** (`ipvsadm --start-daemon master|backup --mcast-interface IF --syncid N`): the kernel
 *   thread that sends this director's connection table to the others (master) and takes theirs in (backup), so that a
 *   director taking over the VIPs already knows the established connections. A kernel runs one of each role at once
 *   (since 2.6.x, `ip_vs_sync.c`): a pair member runs both, so whichever holds the VIPs sends and the others receive,
 *   and nothing has to follow VRRP's state. Read with `ipvsadm -L --daemon`.
 * - **keepalived's VRRP configuration**: `vrrp_instance` blocks only (the VIPs, priority, `virtual_router_id`,
 *   authentication); no `virtual_server`, since the table is lvsform's. lvsform writes it into a file of its own,
 *   `/etc/keepalived/lvsform-<instance>.conf`, and keepalived reads it through `/etc/keepalived/keepalived.conf`: lvsform
 *   writes that file (one `include` line, marked as lvsform's) only when it is absent, and otherwise the operator's file
 *   must include lvsform's (the plan warns and `doctor` fails until it does).
 *
 * As with the other settings, what lvsform did not start or write is never stopped or removed.
 */

import { createHash } from 'node:crypto';

export const SYNC_ROLES = ['master', 'backup'] as const;
export type SyncRole = (typeof SYNC_ROLES)[number];

/** One running sync daemon, as `ipvsadm -L --daemon` lists it. */
export interface SyncDaemon {
  readonly role: SyncRole;
  /** The multicast interface (`--mcast-interface`). */
  readonly interface: string;
  /** `--syncid`, 0..255 (0 accepts every sync id). */
  readonly syncId: number;
}

/** What the app asks for: the roles to run, on one interface with one sync id. */
export interface SyncDaemonSpec {
  readonly interface: string;
  readonly syncId: number;
  readonly roles: readonly SyncRole[];
}

/** The daemons a spec asks for, one per role. */
export function syncDaemonsOf(spec: SyncDaemonSpec | undefined): SyncDaemon[] {
  return (spec?.roles ?? []).map((role) => ({ role, interface: spec!.interface, syncId: spec!.syncId }));
}

export function sameDaemon(a: SyncDaemon, b: SyncDaemon): boolean {
  return a.role === b.role && a.interface === b.interface && a.syncId === b.syncId;
}

/** `master sync daemon (mcast=eth1, syncid=51)`. */
export function daemonText(d: SyncDaemon): string {
  return `${d.role} sync daemon (mcast=${d.interface}, syncid=${d.syncId})`;
}

/** One address VRRP moves: `198.51.100.20/32 dev eth1`. */
export interface VrrpAddress {
  readonly address: string;
  readonly prefix: number;
  /** The interface it goes on; the instance's own when absent. */
  readonly device?: string;
}

/** One director's `vrrp_instance`, as the app declares it (the synthesized JSON's `vrrp`). */
export interface VrrpSpec {
  /** The instance's name, also the file's: `/etc/keepalived/lvsform-<instance>.conf`. */
  readonly instance: string;
  readonly interface: string;
  readonly virtualRouterId: number;
  /** 1..254: the highest holds the VIPs. */
  readonly priority: number;
  readonly state: 'MASTER' | 'BACKUP';
  /** Seconds between advertisements. */
  readonly advertInterval: number;
  /** `auth_type PASS` with this password (up to 8 characters), when given. */
  readonly authPass?: string;
  /** Seconds after becoming master before the second round of gratuitous ARPs. */
  readonly garpMasterDelay?: number;
  /**
   * `nopreempt`: a director that comes up (back) while another holds the VIPs leaves them there, whatever its
   * priority. Every member then starts as BACKUP (keepalived ignores it on one that starts as MASTER).
   */
  readonly nopreempt?: true;
  /** `preempt_delay`: seconds a director of higher priority waits before taking the VIPs from a lower one. */
  readonly preemptDelay?: number;
  /** The pair's VIPs and the other addresses that move with them (a NAT inside gateway). */
  readonly addresses: readonly VrrpAddress[];
  /**
   * Unicast VRRP, for networks without multicast: the director's own address on the VRRP interface
   * (`unicast_src_ip`) and the other directors' (`unicast_peer`), to which it sends its advertisements.
   */
  readonly unicast?: { readonly source: string; readonly peers: readonly string[] };
}

export const KEEPALIVED_MAIN = '/etc/keepalived/keepalived.conf';
/** The first line of every file lvsform writes for keepalived: what tells lvsform's file from the operator's. */
export const KEEPALIVED_MARK = '# Written by lvsform: keepalived reads the VRRP instances of lvsform-*.conf from here.';
/** The include line of lvsform's main file, and what an operator's own keepalived.conf must hold. */
export const KEEPALIVED_INCLUDE = 'include /etc/keepalived/lvsform-*.conf';

export function keepalivedPath(instance: string): string {
  return `/etc/keepalived/lvsform-${instance}.conf`;
}

/** What the main file is to lvsform: missing, lvsform's own, the operator's with lvsform's include, or without. */
export type KeepalivedMain = 'absent' | 'lvsform' | 'includes' | 'foreign';

/** What a director holds of keepalived, read when the app (or the record) names a keepalived file. */
export interface LiveKeepalived {
  /** The sha256 of the file (`sha256sum`), absent when there is no such file. */
  readonly digest?: string;
  /** The other lvsform files keepalived.conf's include reads (`lvsform-*.conf`), which keep lvsform's main file. */
  readonly others: number;
  readonly main: KeepalivedMain;
  /** Whether `keepalived` is on PATH. */
  readonly installed: boolean;
  /** Whether keepalived runs (its unit active, or the process of /run/keepalived.pid alive). */
  readonly running: boolean;
}

/** What the ownership record keeps: the file lvsform wrote, and whether it wrote the main file too. */
export interface KeepalivedRecord {
  readonly path: string;
  readonly main: boolean;
  /** The sha256 of the text written: a file that differs was changed outside lvsform (drift). */
  readonly digest: string;
}

/** The sha256 a director's `sha256sum` prints for a file of this text. */
export function keepalivedDigest(content: string): string {
  return createHash('sha256').update(content, 'utf8').digest('hex');
}

/** The keepalived file's change: written (created or replaced, then keepalived reloaded) or removed. */
export interface KeepalivedChange {
  readonly kind: 'keepalived';
  readonly action: 'create' | 'update' | 'delete';
  readonly path: string;
  /** The text written (create, update). */
  readonly content?: string;
  /** Write the main file (it is absent), or remove it (it is lvsform's and no other lvsform file is left). */
  readonly main?: 'write' | 'delete';
}

/** The directors of each VRRP instance the app declares, by instance name, in the app's order. */
export interface PairMembers {
  readonly instance: string;
  readonly directors: readonly string[];
}

export function pairsOf(directors: readonly { readonly name: string; readonly settings?: { readonly vrrp?: VrrpSpec } }[]): PairMembers[] {
  const by = new Map<string, string[]>();
  for (const d of directors) {
    const instance = d.settings?.vrrp?.instance;
    if (instance !== undefined) by.set(instance, [...(by.get(instance) ?? []), d.name]);
  }
  return [...by].map(([instance, names]) => ({ instance, directors: names }));
}

/**
 * What an apply of a pair left when some of its directors failed and others did not: the pair serves from those
 * applied (VRRP moves the VIPs to the highest priority that is up), and the next apply converges the rest. One line
 * per such pair; none when every director of a pair ended alike.
 */
export function partialPairNotes(pairs: readonly PairMembers[], failed: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const p of pairs) {
    const down = p.directors.filter((d) => failed.has(d));
    const up = p.directors.filter((d) => !failed.has(d));
    if (down.length === 0 || up.length === 0) continue;
    out.push(
      `director pair ${p.instance}: applied on ${up.join(', ')}; not on ${down.join(', ')}, which keep${down.length === 1 ? 's' : ''} what ${down.length === 1 ? 'it' : 'they'} had. VRRP serves the VIPs from the directors that are up; run \`lvsform apply\` again once ${down.join(', ')} ${down.length === 1 ? 'is' : 'are'} back to converge the pair.`,
    );
  }
  return out;
}
