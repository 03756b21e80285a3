/**
 * An in-memory director behind the same `DirectorHost` seam as the real `sh` host, for fast tests of the engine's
 * orchestration (lock, read, fast path, set-up, batch, verification, drain, ownership record, status, doctor). It
 * answers every request kind and counts round trips, and keeps the kernel's rules the lab taught: `ipvsadm -R` carries
 * on past a rejected line and exits 0; a deleted real server goes to the kernel's dest trash and comes back from it
 * with its connections when it is added again; `ipvsadm -S -n` does not show thresholds, so a read without them sees 0;
 * /proc/net/ip_vs shows no thresholds, tunnel settings, scheduler flags or persistence engine. It is an addition to
 * the lab tests, never a replacement: the lab stays the judge.
 */
import { LvsError } from '../../../providers/ipvs/model/errors.ts';
import type { DirectorHost, ExchangeOptions } from '../../../providers/ipvs/host/director-host.ts';
import type { HostFacts, SetupItem } from '../../../providers/ipvs/model/host-setup.ts';
import { type Counters, type Destination, type Table, destinationId, normalizeTable, serviceId } from '../../../providers/ipvs/model/model.ts';
import { parseSave } from '../../../providers/ipvs/read/parse-save.ts';
import type { DesiredDirector } from '../../../providers/ipvs/model/desired-director.ts';
import type { ProcDigest, ProcService } from '../../../providers/ipvs/read/parse-proc.ts';
import { tableFingerprint } from '../../../providers/ipvs/model/live-state.ts';
import { foreignOwnership, parseRecord, serializeRecord, type OwnershipRecord } from '../../../providers/ipvs/model/record.ts';
import { renderServiceKey, renderTable } from '../../../providers/ipvs/model/render-restore.ts';
import type { BatchRecord, BatchReply, HostReply, HostRequest, RepliesOf } from '../../../providers/ipvs/host/requests/index.ts';
import type { SessionOptions } from '../../../providers/ipvs/host/transport.ts';
import { hostKind, type HostTarget } from '../../../providers/ipvs/model/host-target.ts';
import {
  settingPhase,
  type LiveAddress,
  type LiveSettings,
  type LiveTimeouts,
  type SettingChange,
  type SettingsQuery,
} from '../../../providers/ipvs/model/director-settings.ts';
import { checkSettingsApply, readBackQuery, SettingsFailedError } from '../../../providers/ipvs/host/settings-chunk.ts';
import {
  KEEPALIVED_INCLUDE,
  KEEPALIVED_MAIN,
  KEEPALIVED_MARK,
  keepalivedDigest,
  type LiveKeepalived,
  type SyncDaemon,
} from '../../../providers/ipvs/model/director-pair.ts';
import {
  type FouPort,
  type LiveRealServer,
  type LiveRoute,
  type PrefixRoute,
  type RealServerChange,
  realServerPhase,
} from '../../../providers/ipvs/model/real-server.ts';
import { parseRealServerRecord } from '../../../providers/ipvs/model/real-server-record.ts';
import { unfinishedRealServer } from '../../../providers/ipvs/plan/real-server.ts';
import type { DoctorSettingsFacts, DoctorSettingsQuery } from '../../../providers/ipvs/host/requests/doctor-facts.ts';

/** The kernel and files of one director, shared by every host opened on it (as two runs share a real director). */
export class FakeDirector {
  table: Table = { services: [] };
  /** `<stack>.json` files, as written. */
  readonly records = new Map<string, string>();
  /** `<stack>.table` files (what `--refresh=false` trusts), as written. */
  readonly tables = new Map<string, string>();
  /** Set: /var/lib/lvsform refuses writes (a read-only mount): records and tables are not written. */
  stateReadOnly = false;
  /** Other files (set-up's modules and sysctl files, the rules file), by path. */
  readonly files = new Map<string, string>();
  /** What `command -v` finds among apt-get, dnf, yum, systemctl, ipvsadm. */
  commands: string[] = ['apt-get', 'systemctl', 'ipvsadm'];
  osRelease: Record<string, string> = { ID: 'debian', VERSION_ID: '12' };
  /** Loaded modules (`/sys/module/<name>`). */
  readonly loadedModules = new Set<string>(['ip_vs']);
  /** Values under /proc/sys, by sysctl key. */
  readonly sysctls = new Map<string, string>([
    ['net.ipv4.ip_forward', '0'],
    ['net.ipv6.conf.all.forwarding', '0'],
  ]);
  kernel = '6.1.0-fake';
  /** `systemctl is-enabled ipvsadm.service`. */
  rhelServiceEnabled = 'disabled';
  /** A set-up step the host refuses: a message, or undefined to carry it out. */
  failSetup: (item: SetupItem) => string | undefined = () => undefined;
  /** Every set-up item carried out, in order. */
  readonly setupDone: SetupItem[] = [];
  /** Connections per `serviceId -> destinationId`. */
  readonly connections = new Map<string, number>();
  /** Every line fed to `ipvsadm -R`, in order, one array per batch. */
  readonly batches: string[][] = [];
  /** Lines the kernel refuses: a message, or undefined to accept. */
  reject: (line: string) => string | undefined = () => undefined;
  /** Called after each batch (e.g. connections ending while a run drains). */
  afterBatch: () => void = () => undefined;
  /** Called on every counter read, before it is answered. */
  onCounters: () => void = () => undefined;
  /** Set: the connection drops right after the next batch is applied. */
  dropAfterBatch = false;
  /**
   * Awaited before a round trip is answered, with its request kinds: holds one host's answer (a slow host) while
   * others go on, so that a test can see what waits for what.
   */
  beforeAnswer: (kinds: readonly string[]) => Promise<void> = async () => undefined;
  /** Holders of the lock: one exclusive, or any number of shared. */
  readonly holders = new Map<FakeDirectorHost, { exclusive: boolean; holder: string }>();
  /** The director settings (addresses, interfaces, timeouts, net.ipv4.vs sysctls), as the kernel keeps them. */
  readonly settings = {
    kernel: '6.1.0-fake',
    addresses: [] as LiveAddress[],
    links: ['eth0', 'lo'] as string[],
    timeouts: { tcp: 900, tcpfin: 120, udp: 300 } as LiveTimeouts,
    sysctls: { conntrack: '0', expire_nodest_conn: '0', expire_quiescent_template: '0', conn_reuse_mode: '1', sloppy_tcp: '0' } as Record<string, string>,
    /** The running connection sync daemons (`ipvsadm -L --daemon`). */
    daemons: [] as SyncDaemon[],
  };
  /**
   * keepalived: whether it is installed and runs, its files under /etc/keepalived by path (keepalived.conf among
   * them), how many reloads it took, and a text `keepalived -t` refuses (when set, a file holding it is refused).
   */
  readonly keepalived = { installed: true, running: false, files: new Map<string, string>(), reloads: 0, refuse: undefined as string | undefined };
  /** Deleted real servers kept with their connections, as the kernel's dest trash keeps them. */
  private readonly trash = new Map<string, number>();

  /** How many times `sync` ran. */
  syncs = 0;
  /** Every file as of the last `sync` (or of `settle()`): what a power failure leaves on the disk. */
  private durable: Map<string, string>[] | undefined;

  /** The file maps a power failure can set back: set-up files, keepalived's, the records and stored tables. */
  private fileMaps(): Map<string, string>[] {
    return [this.files, this.keepalived.files, this.records, this.tables, this.rs.records];
  }

  /** Writes a stack's record (undefined removes it); false when the state directory is read-only. */
  writeRecord(stack: string, record: OwnershipRecord | undefined): boolean {
    if (this.stateReadOnly) return false;
    if (record) this.records.set(stack, serializeRecord(record));
    else this.records.delete(stack);
    return true;
  }

  /** The record that rides with a batch (batch.ts): the expected one after a silent batch, else the pending one, if any. */
  writeAfterBatch(r: BatchRecord, silent: boolean): NonNullable<BatchReply['record']> {
    const chosen = silent ? r.expected : r.otherwise;
    if (chosen === null) return { wrote: 'none', confirmed: false, said: '' };
    const wrote = silent ? 'expected' : 'otherwise';
    return this.writeRecord(r.stack, chosen) ? { wrote, confirmed: true, said: '' } : { wrote, confirmed: false, said: 'the write after the batch failed' };
  }

  /** `sync`: every file written so far is on the disk. */
  sync(): void {
    this.durable = this.fileMaps().map((m) => new Map(m));
  }

  /**
   * A power failure: the files written since the last `sync` are lost, as ext4 loses what its page cache held (the
   * kernel's state is not modelled here; the tests that use this read files).
   */
  powerFail(): void {
    const durable = this.durable ?? this.fileMaps().map(() => new Map<string, string>());
    this.fileMaps().forEach((m, i) => {
      m.clear();
      for (const [k, v] of durable[i]!) m.set(k, v);
    });
  }

  constructor(table = '') {
    this.table = parseSave(table, 'fake table');
  }

  /** One line of `ipvsadm -R`: applied, or refused with the kernel's message (the batch carries on). */
  applyLine(line: string): string | undefined {
    const refused = this.reject(line);
    if (refused) return refused;
    const tokens = line.trim().split(/\s+/);
    const cmd = tokens[0]!;
    const at = tokens.indexOf('-r');
    const svcPart = (at < 0 ? tokens.slice(1) : tokens.slice(1, at)).filter((t) => t !== '-6' || tokens[1] === '-f');
    const keyOnly = parseSave(`-A ${svcPart.join(' ')}`, 'fake batch').services[0]!;
    const id = serviceId(keyOnly.key);
    const services = new Map(this.table.services.map((s) => [serviceId(s.key), s]));
    const svc = services.get(id);
    const destOf = (rest: readonly string[]): Destination =>
      parseSave(`-A ${svcPart.join(' ')}\n-a ${svcPart.join(' ')} ${rest.join(' ')}`, 'fake batch').services[0]!.destinations[0]!;
    switch (cmd) {
      case '-A': {
        if (svc) return 'Service already exists';
        const parsed = parseSave(line, 'fake batch').services[0]!;
        services.set(id, parsed);
        break;
      }
      case '-E': {
        if (!svc) return 'No such service';
        const parsed = parseSave(`-A ${line.trim().slice(3)}`, 'fake batch').services[0]!;
        services.set(id, { ...svc, config: parsed.config });
        break;
      }
      case '-D': {
        if (!svc) return 'No such service';
        services.delete(id);
        break;
      }
      case '-a':
      case '-e': {
        if (!svc) return 'No such service';
        const dest = destOf(tokens.slice(at));
        const did = destinationId(dest);
        const exists = svc.destinations.some((d) => destinationId(d) === did);
        if (cmd === '-a' && exists) return 'Destination already exists';
        if (cmd === '-e' && !exists) return 'No such destination';
        const key = `${id} -> ${did}`;
        if (cmd === '-a' && this.trash.has(key)) {
          this.connections.set(key, this.trash.get(key)!);
          this.trash.delete(key);
        }
        services.set(id, { ...svc, destinations: [...svc.destinations.filter((d) => destinationId(d) !== did), dest] });
        break;
      }
      case '-d': {
        if (!svc) return 'No such service';
        const dest = destOf([...tokens.slice(at), '-m']);
        const did = destinationId(dest);
        if (!svc.destinations.some((d) => destinationId(d) === did)) return 'No such destination';
        const key = `${id} -> ${did}`;
        const conns = this.connections.get(key) ?? 0;
        if (conns > 0) this.trash.set(key, conns);
        this.connections.delete(key);
        services.set(id, { ...svc, destinations: svc.destinations.filter((d) => destinationId(d) !== did) });
        break;
      }
      default:
        return `Unknown command ${cmd}`;
    }
    this.table = normalizeTable({ services: [...services.values()] });
    return undefined;
  }

  /** /proc/net/ip_vs, counter-free: no thresholds, tunnel settings, scheduler flags or persistence engine. */
  proc(): ProcDigest {
    const forward = { masq: 'Masq', droute: 'Route', tunnel: 'Tunnel' } as const;
    const services = this.table.services.map(
      (s): ProcService => ({
        id: s.key.kind === 'fwmark' ? `fwmark ${s.key.mark}` : serviceId(s.key),
        scheduler: s.config.scheduler,
        onePacket: s.config.onePacket,
        ...(s.config.persistence ? { persistence: { timeoutTicks: s.config.persistence.timeout * 100, netmask: s.config.persistence.netmask } } : {}),
        destinations: s.destinations
          .map((d) => ({ id: destinationId(d), forward: forward[d.forwarding.method], weight: d.weight }))
          .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
      }),
    );
    const keyed = services.map((s) => [JSON.stringify(s), s] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return { version: '1.2.1', services: keyed.map(([, s]) => s) };
  }

  /** `ipvsadm -L -n` (with `counts`: connection counters per real server), or `--stats`/`--rate` rows of zeros. */
  listing(columns: 'list' | 'stats' | 'rate'): string {
    const lines: string[] = [];
    for (const s of this.table.services) {
      const [flag, value] = renderServiceKey(s.key).split(' ');
      const head = flag === '-f' ? `FWM  ${value}` : `${flag === '-t' ? 'TCP' : flag === '-u' ? 'UDP' : 'SCTP'}  ${value}`;
      lines.push(columns === 'list' ? `${head} ${s.config.scheduler}` : `${head} 0 0 0 0 0`);
      for (const d of s.destinations) {
        const conns = this.connections.get(`${serviceId(s.key)} -> ${destinationId(d)}`) ?? 0;
        lines.push(columns === 'list' ? `  -> ${destinationId(d)} Masq ${d.weight} ${conns} 0` : `  -> ${destinationId(d)} 0 0 0 0 0`);
      }
    }
    return lines.join('\n');
  }

  /** The settings a query asks about, as the real read reports them. */
  readSettings(q: SettingsQuery): LiveSettings {
    const st = this.settings;
    return {
      kernel: st.kernel,
      ...(q.addresses ? { addresses: st.addresses.map((a) => ({ ...a })), arping: true, perl: true } : {}),
      ...(q.links.length > 0 ? { links: st.links.filter((l) => q.links.includes(l)) } : {}),
      ...(q.timeouts ? { timeouts: { ...st.timeouts } } : {}),
      ...(q.sysctls.length > 0 ? { sysctls: Object.fromEntries(Object.entries(st.sysctls).filter(([k]) => q.sysctls.includes(k))) } : {}),
      ...(q.daemons ? { daemons: st.daemons.map((d) => ({ ...d })) } : {}),
      ...(q.keepalived !== undefined ? { keepalived: this.readKeepalived(q.keepalived) } : {}),
    };
  }

  /** keepalived as the settings read reports it. */
  readKeepalived(path: string): LiveKeepalived {
    const k = this.keepalived;
    const file = k.files.get(path);
    const main = k.files.get(KEEPALIVED_MAIN);
    const others = [...k.files.keys()].filter((p) => p !== path && /^\/etc\/keepalived\/lvsform-.*\.conf$/.test(p)).length;
    return {
      ...(file === undefined ? {} : { digest: keepalivedDigest(file) }),
      main:
        main === undefined ? 'absent' : main.startsWith(`${KEEPALIVED_MARK}\n`) ? 'lvsform' : /^\s*include\s.*lvsform-/m.test(main) ? 'includes' : 'foreign',
      others,
      installed: k.installed,
      running: k.running,
    };
  }

  /** Addresses a `local` route sends here without being on an interface (an anycast range routed to the director). */
  readonly localRoutes = new Set<string>();

  /** The settings part of `doctor-facts`: the record, the settings read, and `ip route get` for each VIP. */
  doctorSettings(q: DoctorSettingsQuery, where: string): DoctorSettingsFacts {
    const text = this.records.get(q.stack);
    const local = (a: string) => this.settings.addresses.some((x) => x.address === a) || this.localRoutes.has(a);
    return {
      record: text === undefined ? undefined : parseRecord(text, q.stack, where)?.settings,
      live: this.readSettings(q.query),
      routes: new Map(q.vips.map((v) => [v, local(v) ? `local ${v} dev lo table local src ${v}` : `${v} via 203.0.113.1 dev eth0 src 203.0.113.2 uid 0`])),
    };
  }

  /** One setting change, as the kernel takes it. */
  applySetting(c: SettingChange): void {
    const st = this.settings;
    if (c.kind === 'link') st.links = c.action === 'create' ? [...st.links, c.name] : st.links.filter((l) => l !== c.name);
    else if (c.kind === 'address') {
      st.addresses =
        c.action === 'create'
          ? [...st.addresses, { address: c.address, prefix: c.prefix, device: c.device }]
          : st.addresses.filter((a) => !(a.address === c.address && a.device === c.device));
    } else if (c.kind === 'sysctl') st.sysctls[c.name] = c.after;
    else if (c.kind === 'timeouts') st.timeouts = { ...c.after };
    else if (c.kind === 'daemon') {
      // The kernel runs one daemon per role: a start while one runs fails ("Daemon has already run").
      if (c.action === 'delete') st.daemons = st.daemons.filter((d) => d.role !== c.role);
      else if (!st.daemons.some((d) => d.role === c.role)) st.daemons.push({ role: c.role, interface: c.interface, syncId: c.syncId });
    } else this.applyKeepalived(c);
  }

  /** lvsform's keepalived file written (unless `keepalived -t` refuses it) or removed, and keepalived reloaded. */
  private applyKeepalived(c: Extract<SettingChange, { kind: 'keepalived' }>): void {
    const k = this.keepalived;
    if (c.action === 'delete') {
      k.files.delete(c.path);
      if (k.running) k.reloads += 1;
      if (c.main === 'delete' && k.files.get(KEEPALIVED_MAIN)?.startsWith(KEEPALIVED_MARK)) k.files.delete(KEEPALIVED_MAIN);
      return;
    }
    if (k.refuse !== undefined && (c.content ?? '').includes(k.refuse)) return;
    k.files.set(c.path, c.content ?? '');
    if (c.main === 'write' && !k.files.has(KEEPALIVED_MAIN)) k.files.set(KEEPALIVED_MAIN, `${KEEPALIVED_MARK}\n${KEEPALIVED_INCLUDE}\n`);
    if (k.running) k.reloads += 1;
    else k.running = true;
  }

  /**
   * The same machine as a real server: addresses (shared with the director settings' list), tunnel devices (created
   * when their module loads, as the kernel's fallback devices are), fou ports, per-device ARP and rp_filter sysctls,
   * default routes and the main table's other routes, and the real-server records. A module in `missingModules` fails
   * to load.
   */
  readonly rs = {
    links: [] as string[],
    up: [] as string[],
    sysctls: {
      'net.ipv4.conf.all.arp_ignore': '0',
      'net.ipv4.conf.all.arp_announce': '0',
      'net.ipv4.conf.all.rp_filter': '0',
      'net.ipv4.conf.default.rp_filter': '1',
      'net.ipv4.conf.eth0.arp_ignore': '0',
      'net.ipv4.conf.eth0.arp_announce': '0',
      'net.ipv4.conf.eth0.rp_filter': '1',
    } as Record<string, string>,
    fou: [] as FouPort[],
    routes: [{ family: 'inet', gateway: '192.0.2.254', device: 'eth0' }] as LiveRoute[],
    prefixRoutes: [{ family: 'inet', prefix: '192.0.2.0/24', device: 'eth0' }] as PrefixRoute[],
    records: new Map<string, string>(),
    missingModules: new Set<string>(),
  };

  readRealServer(): LiveRealServer {
    return {
      kernel: this.kernel,
      addresses: this.settings.addresses.map((a) => ({ ...a })),
      links: [...this.rs.links],
      up: [...this.rs.up],
      sysctls: { ...this.rs.sysctls },
      fou: this.rs.fou.map((f) => ({ ...f })),
      routes: this.rs.routes.map((r) => ({ ...r })),
      prefixRoutes: this.rs.prefixRoutes.map((r) => ({ ...r })),
    };
  }

  applyRealServer(c: RealServerChange): void {
    const rs = this.rs;
    const modules: Record<string, string> = { tunl0: 'ipip', sit0: 'sit', ip6tnl0: 'ip6_tunnel', gre0: 'ip_gre', ip6gre0: 'ip6_gre' };
    if (c.kind === 'tunnel') {
      if (c.action === 'create') {
        if (rs.missingModules.has(modules[c.device]!)) return;
        if (!rs.links.includes(c.device)) {
          rs.links.push(c.device);
          rs.sysctls[`net.ipv4.conf.${c.device}.rp_filter`] = rs.sysctls['net.ipv4.conf.default.rp_filter'] ?? '0';
          rs.sysctls[`net.ipv4.conf.${c.device}.arp_ignore`] = '0';
          rs.sysctls[`net.ipv4.conf.${c.device}.arp_announce`] = '0';
        }
        if (!rs.up.includes(c.device)) rs.up.push(c.device);
      } else rs.up = rs.up.filter((d) => d !== c.device);
    } else if (c.kind === 'fou') {
      if (c.action === 'create') {
        if (rs.missingModules.has(c.family === 'inet6' ? 'fou6' : 'fou')) return;
        rs.fou.push({ port: c.port, family: c.family });
      } else rs.fou = rs.fou.filter((f) => !(f.port === c.port && f.family === c.family));
    } else if (c.kind === 'address') {
      this.applySetting({ kind: 'address', action: c.action, address: c.address, prefix: c.prefix, device: c.device });
    } else if (c.kind === 'sysctl') {
      if (rs.sysctls[c.name] !== undefined) rs.sysctls[c.name] = c.after;
    } else {
      rs.routes = rs.routes.filter((r) => r.family !== c.family);
      if (c.after !== '') rs.routes.push({ family: c.family, gateway: c.after, device: 'eth0' });
    }
  }

  /** What `ipvsadm -S -n` shows: every threshold reads 0. */
  saved(): Table {
    const zero = (d: Destination): Destination => ({ ...d, upperThreshold: 0, lowerThreshold: 0 });
    return { services: this.table.services.map((s) => ({ ...s, destinations: s.destinations.map(zero) })) };
  }
}

/** One open session on a `FakeDirector`. `roundTrips` counts the exchanges (one each); `sent` lists their kinds. */
export class FakeDirectorHost implements DirectorHost {
  roundTrips = 0;
  /** The kinds of each round trip's requests, in order. */
  readonly sent: string[][] = [];
  private lockOk = false;
  private closed = false;

  constructor(
    readonly target: HostTarget,
    readonly director: FakeDirector,
    private readonly opts: SessionOptions = {},
  ) {}

  private lost(): LvsError {
    return new LvsError('LVS_CONNECTION_LOST', `director ${this.target.name}: the connection ended in the middle of a step`);
  }

  async exchange<const R extends readonly HostRequest[]>(requests: R, opts: ExchangeOptions = {}): Promise<RepliesOf<R>> {
    if (this.closed) throw this.lost();
    // The host's shell answers with the first round trip, as the real session's first line does.
    if (this.roundTrips++ === 0) this.opts.onConnected?.();
    this.sent.push(requests.map((r) => r.kind));
    opts.onSent?.();
    await this.director.beforeAnswer(requests.map((r) => r.kind));
    const replies: HostReply[] = [];
    for (const req of requests) {
      if (this.closed) throw this.lost();
      // Under the lock: what follows a refused lock (or runs without one) does not run, and its answer is missing.
      if (opts.underLock && req.kind !== 'lock' && !this.lockOk) {
        throw new LvsError('LVS_HOST_OUTPUT', `director ${this.target.name}: the ${req.kind} ended early (not under the lock)`);
      }
      replies.push(this.answer(req));
    }
    opts.onAnswer?.();
    return replies as RepliesOf<R>;
  }

  /** One request's answer, as the real host's script and parser give it. */
  private answer(req: HostRequest): HostReply {
    const d = this.director;
    const where = this.target.name;
    switch (req.kind) {
      case 'lock': {
        const others = [...d.holders].filter(([h]) => h !== this).map(([, v]) => v);
        if (others.some((h) => h.exclusive) || (req.exclusive && others.length > 0)) {
          throw new LvsError('LVS_LOCKED', `${hostKind(this.target)} ${where} is locked by ${others[0]!.holder}`, { hint: 'Wait for that run to finish.' });
        }
        d.holders.set(this, { exclusive: req.exclusive, holder: req.holder });
        this.lockOk = true;
        return { kind: 'lock' };
      }
      case 'unlock':
        d.holders.delete(this);
        this.lockOk = false;
        return { kind: 'unlock' };
      case 'force-unlock':
        return d.holders.size === 0 ? { kind: 'force-unlock', found: 'none' } : { kind: 'force-unlock', found: 'held' };
      case 'capabilities':
        return {
          kind: 'capabilities',
          kernel: d.kernel,
          ipvsadm: undefined,
          modules: new Map(req.modules.map((m) => [m, d.loadedModules.has(m) ? ('loaded' as const) : ('available' as const)])),
        };
      case 'read-table': {
        if (!d.commands.includes('ipvsadm')) throw new LvsError('LVS_NO_IPVSADM', `director ${where}: ipvsadm is not installed`);
        const table = req.thresholds ? normalizeTable(d.table) : d.saved();
        const base = { table, fingerprint: tableFingerprint(table), record: undefined, ipvsadmVersion: 'ipvsadm v1.31 (fake)' };
        // The fake host has gzip and base64, as its proc and fast-read answers say.
        if (!req.record) return { kind: 'read-table', live: base, gzip: true };
        const text = d.records.get(req.stack);
        const record = text === undefined ? undefined : parseRecord(text, req.stack, where);
        // Every other stack's record travels with the read, as the real read's `other <stack>` sections do.
        const others = foreignOwnership(
          [...d.records].filter(([name]) => name !== req.stack),
          where,
        );
        return { kind: 'read-table', live: { ...base, record, others: others.services, otherSettings: others.settings }, gzip: true };
      }
      case 'fast-read':
        return {
          kind: 'fast-read',
          ended: true,
          record: d.records.get(req.stack),
          table: d.tables.get(req.stack),
          proc: d.proc(),
          gzip: true,
          ...((o) => ({ others: o.services, otherSettings: o.settings }))(
            foreignOwnership(
              [...d.records].filter(([name]) => name !== req.stack),
              where,
            ),
          ),
        };
      case 'proc':
        return {
          kind: 'proc',
          ended: true,
          proc: d.proc(),
          listings: req.listings.map((key) => {
            const s = d.table.services.find((x) => serviceId(x.key) === serviceId(key));
            if (!s) return { found: false, scheduler: '', schedFlags: [], onePacket: false, thresholds: new Map() };
            const p = s.config.persistence;
            return {
              found: true,
              scheduler: s.config.scheduler,
              schedFlags: s.config.schedFlags,
              ...(p ? { persistence: p.timeout, netmask: p.netmask } : {}),
              ...(s.config.persistenceEngine ? { persistenceEngine: s.config.persistenceEngine } : {}),
              onePacket: s.config.onePacket,
              thresholds: new Map(
                s.destinations.map((x) => [`${serviceId(s.key)} -> ${destinationId(x)}`, { upper: x.upperThreshold, lower: x.lowerThreshold }]),
              ),
            };
          }),
          gzip: true,
        };
      case 'facts': {
        const facts: HostFacts = {
          osRelease: d.osRelease,
          commands: [...d.commands, ...(d.keepalived.installed ? ['keepalived'] : [])],
          loadedModules: req.query.modules.filter((m) => d.loadedModules.has(m)),
          files: Object.fromEntries(req.query.files.map((f) => [f, d.files.get(f) ?? null])),
          sysctls: Object.fromEntries(req.query.sysctls.map((k) => [k, d.sysctls.get(k) ?? null])),
          rhelServiceEnabled: d.commands.includes('systemctl') ? d.rhelServiceEnabled : null,
        };
        return { kind: 'facts', ...facts };
      }
      case 'settings-read':
        return { kind: 'settings-read', settings: d.readSettings(req.query) };
      case 'settings-apply': {
        const mine = req.changes.filter((c) => settingPhase(c) === req.phase);
        for (const c of mine) d.applySetting(c);
        // The read-back is judged as the real parser judges it: a change it does not show fails the phase.
        const after = d.readSettings(readBackQuery(mine));
        try {
          return { kind: 'settings-apply', after: checkSettingsApply(this.target, mine, { failed: [], log: '', after }) };
        } catch (e) {
          if (e instanceof SettingsFailedError) return { kind: 'settings-apply', after: e.after, error: e };
          throw e;
        }
      }
      case 'setup': {
        const failed: string[] = [];
        for (const item of req.items) {
          const refused = d.failSetup(item);
          if (refused) {
            failed.push(`${item.kind} ${item.name} 1`);
            continue;
          }
          d.setupDone.push(item);
          if (item.kind === 'package' && item.name === 'keepalived') d.keepalived.installed = true;
          else if (item.kind === 'package') d.commands.push('ipvsadm');
          else if (item.kind === 'module') d.loadedModules.add(item.name);
          else if (item.kind === 'sysctl') d.sysctls.set(item.name, item.after ?? '1');
          else if (item.kind === 'file' && item.action === 'delete') d.files.delete(item.name);
          else if (item.kind === 'file') d.files.set(item.name, item.after ?? '');
          else if (item.kind === 'boot-service' && item.via === 'debian') d.files.set(item.name, 'AUTO="true"\n');
          else if (item.kind === 'boot-service' && item.via === 'systemd') {
            const wants = `/etc/systemd/system/multi-user.target.wants/${item.name}`;
            if (item.action === 'delete') d.files.delete(wants);
            else d.files.set(wants, `/etc/systemd/system/${item.name}`);
          } else if (item.kind === 'boot-service') d.rhelServiceEnabled = 'enabled';
        }
        return { kind: 'setup', failed, log: failed.length > 0 ? 'refused by the fake' : '' };
      }
      case 'save-rules':
        d.files.set(req.item.name, renderTable(d.saved()));
        return { kind: 'save-rules', outcome: 'written', said: '' };
      case 'batch': {
        const lines = req.batch.split('\n').filter((l) => l.trim() !== '');
        d.batches.push(lines);
        const said = lines.map((l) => d.applyLine(l)).filter((m): m is string => m !== undefined);
        d.afterBatch();
        // The record that rides with the batch is chosen and written on the host, before anything is printed: a
        // connection lost after the batch does not stop it (batch.ts).
        const record = req.record && d.writeAfterBatch(req.record, said.length === 0);
        if (d.dropAfterBatch) {
          d.dropAfterBatch = false;
          this.kill();
          throw this.lost();
        }
        return { kind: 'batch', said: said.join('\n'), status: 0, ...(record ? { record } : {}) };
      }
      case 'counters': {
        d.onCounters();
        const counters = new Map<string, Counters>([...d.connections].map(([k, n]) => [k, { activeConns: n, inactiveConns: 0 }]));
        return { kind: 'counters', counters };
      }
      case 'write-record': {
        if (!d.writeRecord(req.stack, req.record))
          return { kind: 'write-record', confirmed: false, said: "mkdir: cannot create directory '/var/lib/lvsform/.web.json.tmp': Read-only file system" };
        return { kind: 'write-record', confirmed: true, said: '' };
      }
      case 'store-table': {
        if (d.stateReadOnly) return { kind: 'store-table', confirmed: false, said: 'Read-only file system' };
        if (req.text === undefined) d.tables.delete(req.stack);
        else d.tables.set(req.stack, req.text.endsWith('\n') ? req.text : `${req.text}\n`);
        return { kind: 'store-table', confirmed: true, said: '' };
      }
      case 'status': {
        const text = d.records.get(req.stack);
        return {
          kind: 'status',
          save: renderTable(d.saved()),
          list: d.listing('list'),
          stats: d.listing('stats'),
          rate: d.listing('rate'),
          record: text === undefined ? undefined : parseRecord(text, req.stack, where),
          ...(req.daemons ? { daemons: d.settings.daemons.map((x) => ({ ...x })) } : {}),
        };
      }
      case 'doctor-facts':
        return {
          kind: 'doctor-facts',
          facts: new Map([
            ['kernel', d.kernel],
            ['ipvs_loaded', d.loadedModules.has('ip_vs') ? 'yes' : 'no'],
            ['ipvs_builtin', 'no'],
            ['ipvsadm_path', d.commands.includes('ipvsadm') ? '/usr/sbin/ipvsadm' : ''],
            ['ipvsadm_version', 'ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)'],
            ['ipvsadm_header', 'IP Virtual Server version 1.2.1 (size=4096)'],
            ['ip_forward', d.sysctls.get('net.ipv4.ip_forward') ?? ''],
            ['ipv6_forwarding', d.sysctls.get('net.ipv6.conf.all.forwarding') ?? ''],
            ['flock', 'yes'],
            ['modprobe', 'yes'],
            ['root', 'yes'],
            ...req.modules.map((m) => [`module_${m}`, d.loadedModules.has(m) ? 'loaded' : 'available'] as [string, string]),
          ]),
          ...(req.settings ? { settings: d.doctorSettings(req.settings, where) } : {}),
        };
      case 'sync':
        d.syncs++;
        d.sync();
        return { kind: 'sync' };
      case 'real-server-read': {
        const text = d.rs.records.get(req.stack);
        return { kind: 'real-server-read', live: d.readRealServer(), record: parseRealServerRecord(text, req.stack, where) };
      }
      case 'real-server-apply': {
        const mine = req.changes.filter((c) => realServerPhase(c) === req.phase);
        for (const c of mine) d.applyRealServer(c);
        const after = d.readRealServer();
        const missing = unfinishedRealServer(mine, after);
        if (missing.length === 0) return { kind: 'real-server-apply', after };
        return {
          kind: 'real-server-apply',
          after,
          error: new LvsError('LVS_REAL_SERVER_FAILED', `real server ${where}: preparation not applied: ${missing.join('; ')}`),
        };
      }
      case 'real-server-record': {
        if (d.stateReadOnly) return { kind: 'real-server-record', confirmed: false, said: 'Read-only file system' };
        if (req.record) d.rs.records.set(req.stack, JSON.stringify(req.record));
        else d.rs.records.delete(req.stack);
        return { kind: 'real-server-record', confirmed: true, said: '' };
      }
      default: {
        const never: never = req;
        throw new Error(`the fake answers no ${(never as HostRequest).kind}`);
      }
    }
  }

  close(): Promise<void> {
    this.kill();
    return Promise.resolve();
  }

  kill(): void {
    this.closed = true;
    this.director.holders.delete(this);
  }
}

/** Directors by name, and the `openHost` option that reaches them. */
export function fakeFleet(directors: Record<string, FakeDirector>): {
  openHost: (target: HostTarget, opts?: SessionOptions) => FakeDirectorHost;
  opened: FakeDirectorHost[];
} {
  const opened: FakeDirectorHost[] = [];
  return {
    opened,
    openHost: (target, opts) => {
      const d = directors[target.name];
      if (!d) throw new LvsError('LVS_HOST_UNREACHABLE', `director ${target.name}: cannot reach the host`);
      const host = new FakeDirectorHost(target, d, opts);
      opened.push(host);
      return host;
    },
  };
}

/**
 * A director as the app declares it for orchestration tests: `lb1` over ssh (a name the fleet maps to a FakeDirector),
 * the table of `text` (`ipvsadm -S` lines), every service at `path`, and what else the test gives (settings, setup).
 */
export function desiredDirector(text: string, extra: Partial<DesiredDirector> = {}, path = 'web/lb1/http'): DesiredDirector {
  const table = parseSave(text, 'test');
  return {
    name: 'lb1',
    target: { name: 'lb1', transport: 'ssh', ssh: { host: 'lb1.example.net' } },
    table,
    paths: new Map(table.services.map((s) => [serviceId(s.key), path])),
    ...extra,
  };
}
