/**
 * The seam between the engine and a director, as kube-proxy's proxier talks to `utilipvs.Interface`: every verb
 * (plan, apply, destroy, doctor, status, force-unlock) reaches a director only through a `DirectorHost`. Its one real
 * implementation (`sh-director-host.ts`) runs POSIX `sh` chunks in one shell per director, locally or over OpenSSH;
 * the tests add an in-memory stand-in with the kernel's rules for fast orchestration tests beside the lab tests.
 *
 * A call marked `carry` sends its work with the next call that waits for an answer, in the same round trip: a slow host
 * answers once for both. The promise then settles when that call's answer arrives.
 */
import type { Change } from '../model/change.ts';
import type { Capabilities } from './capabilities.ts';
import type { FastContext, FastRead, FastVerify, ProcCheck } from './fast-path.ts';
import type { HostFacts, SetupItem } from '../model/host-setup.ts';
import type { Table } from '../model/model.ts';
import type { Counters } from '../model/model.ts';
import type { LiveState } from '../model/live-state.ts';
import type { OwnershipRecord } from '../model/record.ts';
import type { DirectorStatus } from '../ops/status.ts';
import type { SessionOptions } from './transport.ts';
import type { HostTarget } from '../model/host-target.ts';
import type { LiveSettings, SettingChange, SettingsQuery } from '../model/director-settings.ts';

export interface LockOptions {
  readonly exclusive: boolean;
  /** Seconds to wait for another run's lock; 0 = fail at once. */
  readonly waitSeconds: number;
  /** Who holds it, for `force-unlock` and "locked by" messages (one line, no secrets). */
  readonly holder: string;
  /** Send with the next call that waits (the read). */
  readonly carry?: boolean;
}

export interface ReadLiveOptions {
  /** Also read the stack's ownership record. @default true */
  readonly record?: boolean;
  /** Also list thresholds (`ipvsadm -S` omits them). @default true */
  readonly thresholds?: boolean;
  /** Read only if the lock carried in the same round trip was taken. */
  readonly whenLocked?: boolean;
  /** Called when the host's answer has arrived, before it is parsed (timings). */
  readonly onRead?: () => void;
  /** Also read these director settings, in the same round trip. */
  readonly settings?: SettingsQuery;
}

export interface CapabilityOptions {
  /** Also read `ipvsadm -h` (what the installed ipvsadm accepts). */
  readonly help: boolean;
  /** Send with the next call that waits, and only read if the lock of that round trip was taken. */
  readonly carry?: boolean;
}

/** What `force-unlock` found: no lock, a lock freed whose holder was gone, a live holder, or a lock still held. */
export type ForceUnlockResult =
  | { readonly kind: 'none' }
  | { readonly kind: 'freed' }
  | { readonly kind: 'alive'; readonly holder: string }
  | { readonly kind: 'held' };

export interface DirectorHost {
  readonly target: HostTarget;

  /** Sets the session's environment and takes the director's lock; throws LVS_LOCKED, LVS_NO_FLOCK, LVS_NOT_ROOT. */
  lock(opts: LockOptions): Promise<void>;
  /** What the director can do: kernel release, IPVS modules, ipvsadm's release and options. */
  capabilities(table: Table, opts: CapabilityOptions): Promise<Capabilities>;
  /** The live table (thresholds merged), its fingerprint and the stack's ownership record. */
  readLive(stack: string, opts?: ReadLiveOptions): Promise<LiveState>;
  /** `--refresh=false`: the stored table, trusted while /proc/net/ip_vs still matches it. */
  readFast(stack: string, expectedServices: number, opts?: { readonly whenLocked?: boolean }): Promise<FastRead>;
  /** The facts host set-up is planned from (commands, files, modules, sysctls). */
  readFacts(stack: string, desired: Table): Promise<HostFacts>;
  /** Carries out host set-up items; throws LVS_SETUP_FAILED. */
  setup(items: readonly SetupItem[]): Promise<void>;
  /** Saves the verified table where the distribution restores it at boot, when a set-up item asks for it. */
  saveRules(items: readonly SetupItem[]): Promise<'written' | 'unchanged' | 'none'>;
  /** Reads director settings in a round trip of their own (the plan's read carries them when it knows what to ask). */
  readSettings(query: SettingsQuery): Promise<LiveSettings>;
  /**
   * Carries out one phase of director-setting changes (`before` the batch, `after` it) and reads back what they
   * touched; resolves with the read-back. Throws LVS_SETTINGS_FAILED naming each change that does not hold.
   */
  applySettings(changes: readonly SettingChange[], phase: 'before' | 'after', opts?: { readonly carry?: boolean }): Promise<LiveSettings | undefined>;
  /** Feeds a batch to `ipvsadm -R`; resolves with what it printed (kernel rejections, with exit 0). */
  applyBatch(batch: string, opts?: { readonly carry?: boolean }): Promise<string>;
  /** Connection counters per `serviceId -> destinationId` (`ipvsadm -L -n`), for draining. */
  readCounters(director: string): Promise<Map<string, Counters>>;
  /**
   * Writes (or with `undefined`, removes) the stack's ownership record, atomically. Resolves with what the host said
   * when it did not confirm the write (empty when it did).
   */
  writeRecord(stack: string, record: OwnershipRecord | undefined, opts: { readonly gzip: boolean; readonly carry?: boolean }): Promise<string>;
  /** Verifies a fast-path batch from /proc/net/ip_vs and the changed services' listings. */
  verifyFast(context: FastContext, changes: readonly Change[], desired: Table): Promise<FastVerify>;
  /** Verifies an apply from one read of /proc/net/ip_vs. */
  verifyByProc(desired: Table, dropped: readonly string[], liveServices: number): Promise<ProcCheck>;
  /** The /proc fingerprint to store after an exact verification, if /proc agrees with the verified table. */
  readProcFingerprint(owned: Table): Promise<{ proc: string; gzip: boolean } | undefined>;
  /** Stores (carried with the next call) the owned table the next `--refresh=false` run trusts; or removes it. */
  storeTable(stack: string, text: string | undefined): void;
  /** Counters and the record for `lvsform status`. */
  status(stack: string): Promise<DirectorStatus>;
  /** The raw facts `lvsform doctor` judges (`key=value` lines). */
  doctorFacts(modules: readonly string[]): Promise<Map<string, string>>;
  /** Frees a lock whose holder is gone. */
  forceUnlock(): Promise<ForceUnlockResult>;
  /** Sends what is carried, if anything, and waits for it. */
  flush(): Promise<void>;
  /** Releases the lock and ends the session. */
  close(): Promise<void>;
  /** Ends the session at once (a failed step, Ctrl-C). */
  kill(): void;
}

/** Opens a `DirectorHost` for a director. The engine's default is the `sh` implementation. */
export type OpenDirectorHost = (target: HostTarget, opts: SessionOptions) => DirectorHost;
