/**
 * An in-memory director behind the same `DirectorHost` seam as the real `sh` host, for fast tests of the engine's
 * orchestration (lock, batch, verification, drain, ownership record). It keeps the kernel's rules the lab taught:
 * `ipvsadm -R` carries on past a rejected line and exits 0; a deleted real server goes to the kernel's dest trash and
 * comes back from it with its connections when it is added again; `ipvsadm -S -n` does not show thresholds, so a read
 * without them sees 0. It is an addition to the lab tests, never a replacement: the lab stays the judge.
 */
import type { Capabilities } from '../../../providers/ipvs/host/capabilities.ts';
import { capabilityModules } from '../../../providers/ipvs/host/capabilities.ts';
import { LvsError } from '../../../providers/ipvs/model/errors.ts';
import type { FastRead, FastVerify, ProcCheck } from '../../../providers/ipvs/host/fast-path.ts';
import type { CapabilityOptions, DirectorHost, ForceUnlockResult, LockOptions, ReadLiveOptions } from '../../../providers/ipvs/host/director-host.ts';
import type { HostFacts } from '../../../providers/ipvs/model/host-setup.ts';
import {
  type Counters,
  type Destination,
  type Service,
  type Table,
  destinationId,
  normalizeTable,
  serviceEquals,
  serviceId,
} from '../../../providers/ipvs/model/model.ts';
import { parseSave } from '../../../providers/ipvs/read/parse-save.ts';
import { tableFingerprint, type LiveState } from '../../../providers/ipvs/model/live-state.ts';
import { foreignOwners, parseRecord, serializeRecord, type OwnershipRecord } from '../../../providers/ipvs/model/record.ts';
import type { DirectorStatus } from '../../../providers/ipvs/ops/status.ts';
import type { SessionOptions } from '../../../providers/ipvs/host/transport.ts';
import type { HostTarget } from '../../../providers/ipvs/model/host-target.ts';
import {
  settingPhase,
  type LiveAddress,
  type LiveSettings,
  type LiveTimeouts,
  type SettingChange,
  type SettingsQuery,
} from '../../../providers/ipvs/model/director-settings.ts';
import { readBackQuery } from '../../../providers/ipvs/host/settings-chunk.ts';

/** The kernel and files of one director, shared by every host opened on it (as two runs share a real director). */
export class FakeDirector {
  table: Table = { services: [] };
  /** `<stack>.json` files, as written. */
  readonly records = new Map<string, string>();
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
  /** Holders of the lock: one exclusive, or any number of shared. */
  readonly holders = new Map<FakeDirectorHost, { exclusive: boolean; holder: string }>();
  /** The director settings (addresses, interfaces, timeouts, net.ipv4.vs sysctls), as the kernel keeps them. */
  readonly settings = {
    kernel: '6.1.0-fake',
    addresses: [] as LiveAddress[],
    links: ['eth0', 'lo'] as string[],
    timeouts: { tcp: 900, tcpfin: 120, udp: 300 } as LiveTimeouts,
    sysctls: { conntrack: '0', expire_nodest_conn: '0', expire_quiescent_template: '0', conn_reuse_mode: '1', sloppy_tcp: '0' } as Record<string, string>,
  };
  /** Deleted real servers kept with their connections, as the kernel's dest trash keeps them. */
  private readonly trash = new Map<string, number>();

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

  /** The settings a query asks about, as the real read reports them. */
  readSettings(q: SettingsQuery): LiveSettings {
    const st = this.settings;
    return {
      kernel: st.kernel,
      ...(q.addresses ? { addresses: st.addresses.map((a) => ({ ...a })), arping: true } : {}),
      ...(q.links.length > 0 ? { links: st.links.filter((l) => q.links.includes(l)) } : {}),
      ...(q.timeouts ? { timeouts: { ...st.timeouts } } : {}),
      ...(q.sysctls.length > 0 ? { sysctls: Object.fromEntries(Object.entries(st.sysctls).filter(([k]) => q.sysctls.includes(k))) } : {}),
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
    else st.timeouts = { ...c.after };
  }

  /** What `ipvsadm -S -n` shows: every threshold reads 0. */
  saved(): Table {
    const zero = (d: Destination): Destination => ({ ...d, upperThreshold: 0, lowerThreshold: 0 });
    return { services: this.table.services.map((s) => ({ ...s, destinations: s.destinations.map(zero) })) };
  }
}

/** One open session on a `FakeDirector`. `roundTrips` counts the answers waited for. */
export class FakeDirectorHost implements DirectorHost {
  roundTrips = 0;
  private carried: { run: () => void; fail: (e: Error) => void }[] = [];
  private lockOk = false;
  private closed = false;

  constructor(
    readonly target: HostTarget,
    readonly director: FakeDirector,
    private readonly opts: SessionOptions = {},
  ) {}

  /** A call's work: carried to the next waited call, or done now in a round trip of its own. */
  private trip<T>(work: () => T, carry = false): Promise<T> {
    if (this.closed) return Promise.reject(this.lost());
    return new Promise<T>((resolve, reject) => {
      const run = (): void => {
        if (this.closed) {
          reject(this.lost());
          return;
        }
        try {
          resolve(work());
        } catch (e) {
          reject(e);
        }
      };
      if (carry) {
        this.carried.push({ run, fail: reject });
        return;
      }
      // The host's shell answers with the first round trip, as the real session's first line does.
      if (this.roundTrips++ === 0) this.opts.onConnected?.();
      const queued = this.carried;
      this.carried = [];
      for (const q of queued) q.run();
      run();
    });
  }

  private lost(): LvsError {
    return new LvsError('LVS_CONNECTION_LOST', `director ${this.target.name}: the connection ended in the middle of a step`);
  }

  lock(opts: LockOptions): Promise<void> {
    const p = this.trip(() => {
      const others = [...this.director.holders.values()];
      if (others.some((h) => h.exclusive) || (opts.exclusive && others.length > 0)) {
        throw new LvsError('LVS_LOCKED', `director ${this.target.name} is locked by ${others[0]!.holder}`, { hint: 'Wait for that run to finish.' });
      }
      this.director.holders.set(this, { exclusive: opts.exclusive, holder: opts.holder });
      this.lockOk = true;
    }, opts.carry);
    p.catch(() => undefined);
    return p;
  }

  capabilities(table: Table, opts: CapabilityOptions): Promise<Capabilities> {
    return this.trip(
      () => ({ kernel: '6.1.0-fake', ipvsadm: undefined, modules: new Map(capabilityModules(table).map((m) => [m, 'loaded' as const])) }),
      opts.carry,
    );
  }

  readLive(stack: string, opts: ReadLiveOptions = {}): Promise<LiveState> {
    return this.trip(() => {
      if (opts.whenLocked && !this.lockOk) throw new LvsError('LVS_HOST_OUTPUT', `director ${this.target.name}: the read ended early`);
      opts.onRead?.();
      const table = opts.thresholds === false ? this.director.saved() : normalizeTable(this.director.table);
      if (opts.record === false) return { table, fingerprint: tableFingerprint(table), record: undefined, ipvsadmVersion: 'ipvsadm v1.31 (fake)' };
      const text = this.director.records.get(stack);
      const record = text === undefined ? undefined : parseRecord(text, stack, this.target.name);
      // Every other stack's record travels with the read, as the real read's `other <stack>` sections do.
      const others = foreignOwners(
        [...this.director.records].filter(([name]) => name !== stack),
        this.target.name,
      );
      const settings = opts.settings ? { settings: this.director.readSettings(opts.settings) } : {};
      return { table, fingerprint: tableFingerprint(table), record, others, ipvsadmVersion: 'ipvsadm v1.31 (fake)', ...settings };
    });
  }

  readSettings(query: SettingsQuery): Promise<LiveSettings> {
    return this.trip(() => this.director.readSettings(query));
  }

  applySettings(changes: readonly SettingChange[], phase: 'before' | 'after', opts: { readonly carry?: boolean } = {}): Promise<LiveSettings | undefined> {
    const mine = changes.filter((c) => settingPhase(c) === phase);
    if (mine.length === 0) return Promise.resolve(undefined);
    return this.trip(() => {
      for (const c of mine) this.director.applySetting(c);
      return this.director.readSettings(readBackQuery(mine));
    }, opts.carry);
  }

  readFast(): Promise<FastRead> {
    return this.trip(() => ({ ok: false as const, reason: 'the fake director keeps no /proc' }));
  }

  readFacts(): Promise<HostFacts> {
    return Promise.reject(new Error('FakeDirectorHost: host set-up is tested on the lab'));
  }

  setup(): Promise<void> {
    return Promise.reject(new Error('FakeDirectorHost: host set-up is tested on the lab'));
  }

  saveRules(): Promise<'none'> {
    return Promise.resolve('none');
  }

  applyBatch(batch: string, opts: { readonly carry?: boolean } = {}): Promise<string> {
    return this.trip(() => {
      const lines = batch.split('\n').filter((l) => l.trim() !== '');
      this.director.batches.push(lines);
      const said = lines.map((l) => this.director.applyLine(l)).filter((m): m is string => m !== undefined);
      this.director.afterBatch();
      if (this.director.dropAfterBatch) {
        this.director.dropAfterBatch = false;
        this.kill();
        throw this.lost();
      }
      return said.join('\n');
    }, opts.carry);
  }

  readCounters(): Promise<Map<string, Counters>> {
    return this.trip(() => {
      this.director.onCounters();
      return new Map([...this.director.connections].map(([k, n]) => [k, { activeConns: n, inactiveConns: 0 }]));
    });
  }

  writeRecord(stack: string, record: OwnershipRecord | undefined, opts: { readonly gzip: boolean; readonly carry?: boolean }): Promise<string> {
    const p = this.trip(() => {
      if (record) this.director.records.set(stack, serializeRecord(record));
      else this.director.records.delete(stack);
      return '';
    }, opts.carry);
    p.catch(() => undefined);
    return p;
  }

  verifyFast(): Promise<FastVerify> {
    return this.trip(() => ({ ok: false as const, reason: 'the fake director keeps no /proc' }));
  }

  /** What /proc/net/ip_vs would show: each desired service exactly, each dropped one gone. */
  verifyByProc(desired: Table, dropped: readonly string[]): Promise<ProcCheck> {
    return this.trip(() => {
      const live = new Map(this.director.table.services.map((s) => [serviceId(s.key), s]));
      const wrong = desired.services.find((s: Service) => !live.has(serviceId(s.key)) || !serviceEquals(live.get(serviceId(s.key))!, s));
      if (wrong) return { ok: false as const, reason: `${serviceId(wrong.key)}: differs` };
      const left = dropped.find((id) => [...live.keys()].some((l) => l === id));
      if (left) return { ok: false as const, reason: `${left}: still present` };
      return { ok: true as const, proc: tableFingerprint(this.director.table) };
    });
  }

  readProcFingerprint(): Promise<undefined> {
    return this.trip(() => undefined);
  }

  storeTable(): void {
    /* the fake keeps no --refresh=false state */
  }

  status(stack: string): Promise<DirectorStatus> {
    return this.trip(() => ({ director: this.target.name, where: stack, services: [] }) as unknown as DirectorStatus);
  }

  doctorFacts(): Promise<Map<string, string>> {
    return this.trip(() => new Map([['root', 'yes']]));
  }

  forceUnlock(): Promise<ForceUnlockResult> {
    return this.trip(() => (this.director.holders.size === 0 ? { kind: 'none' as const } : { kind: 'held' as const }));
  }

  flush(): Promise<void> {
    return this.carried.length > 0 ? this.trip(() => undefined) : Promise.resolve();
  }

  close(): Promise<void> {
    this.kill();
    return Promise.resolve();
  }

  kill(): void {
    this.closed = true;
    const unsent = this.carried;
    this.carried = [];
    for (const c of unsent) c.fail(this.lost());
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
