/**
 * Plan, apply and destroy across a stack's directors. Each director gets one `DirectorHost` (one session) for the whole run: lock, read,
 * plan, (confirmation), batch, read-back, ownership record, unlock. Directors run side by side up to `parallelism`;
 * one that fails (unreachable, locked, stale) is reported and never stops the others.
 */
import type { Change } from '../model/change.ts';
import { LvsError, errorInfo, isErrorCode } from '../model/errors.ts';
import type { Service } from '../model/model.ts';
import type { HostFacts } from '../model/host-setup.ts';
import { ownedElsewhereError, pathIsTargeted, planDirector, PLAN_FORMAT, type DirectorPlan, type Plan, type PlanOptions } from '../plan/plan.ts';
import type { DesiredDirector } from '../model/desired-director.ts';
import type { OwnershipRecord } from '../model/record.ts';
import { serviceHash, tableFingerprint, type LiveState } from '../model/live-state.ts';
import type { SessionOptions } from '../host/transport.ts';
import { describeTarget } from '../model/host-target.ts';
import { drainBatches } from '../plan/drain.ts';
import { waitForDrain } from './drain-wait.ts';
import { pendingRecord, recordAfter, sameRecord, settingsAfter, settledSettings } from './ownership.ts';
import { residualAfter, sendProc, verifyApply, type Send } from './verify.ts';
import { inSlices, workAhead, type WorkAhead } from './work-ahead.ts';
import { capabilitiesRequest, capabilityError, missingCapabilities } from '../host/capabilities.ts';
import { fastStateOf, isLarge, ownedTable, readProcFingerprint, sha256, storedTableText, trustFastRead, type FastContext } from './fast-path.ts';
import { checkSaveRules, checkSetup, factsRequest, itemsBeforeBatch, writesBootFiles } from './setup-steps.ts';
import type { DirectorHost, OpenDirectorHost } from '../host/director-host.ts';
import {
  lockRequest,
  replyOf,
  type BatchRecord,
  type FastReadRequest,
  type HostReply,
  type HostRequest,
  type ReadTableRequest,
  type RepliesOf,
  type SettingsReadRequest,
} from '../host/requests/index.ts';
import { openShDirectorHost } from '../host/sh-director-host.ts';
import { eachDirector, openWith, type EachDirectorOptions } from '../host/fan-out.ts';
import { checkOneDirectorPerMachine } from '../host/host-identity.ts';
import { emptyQuery, queryCovers, settingPhase, settingsQueryFor, type SettingsQuery } from '../model/director-settings.ts';
import { type PairMembers, pairsOf } from '../model/director-pair.ts';
import { readScriptText } from '../host/read-script.ts';
import type { DesiredRealServer } from '../model/desired-real-server.ts';
import type { RealServerPlan } from '../plan/real-server.ts';
import {
  failedRealServerPlan,
  openRealServer,
  planOpenRealServer,
  planRealServers,
  realServerAfter,
  realServerBefore,
  savedRealServerPlan,
  type OpenRealServer,
  type RealServerReach,
  type RealServerOutcome,
  type RealServerRun,
  waitsForRealServers,
} from './run-real-servers.ts';

export interface RunOptions extends PlanOptions, SessionOptions {
  readonly stack: string;
  /** Directors worked on at once. @default 10 */
  readonly parallelism?: number;
  /** Seconds to wait for another run's lock on a director. @default 0 */
  readonly lockTimeout?: number;
  /**
   * `false` (`--refresh=false`): trust the table stored by the last verified apply made with this option while the
   * director's /proc/net/ip_vs fingerprint still matches it, instead of reading the whole table (see fast-path.ts);
   * any mismatch falls back to the full read. @default true (always read the whole table)
   */
  readonly refresh?: boolean;
  /** One line per director as work progresses: the step it is now waiting on. */
  readonly onProgress?: (director: string, message: string) => void;
  /**
   * Where a director's time went (`--debug`): `connect` (the connection, the prelude and the lock, one round trip),
   * `read` (the host's work and the transfer), `parse`, `diff` (`plan` in an apply), and for each later round trip of
   * an apply `send` (the host writes its script and hands it to the transport) and `director` (until the answer:
   * the rest of the transfer and the director's work), then `verify` (the read-back compared) and `record` (the
   * record built, and the replies read).
   */
  readonly onTiming?: (director: string, phase: string, ms: number) => void;
  /** The director's current step has ended and it waits on nothing (the others, or the confirmation). */
  readonly onIdle?: (director: string) => void;
  /** How a director is reached. @default the `sh` host (local or OpenSSH); tests pass an in-memory one. */
  readonly openHost?: OpenDirectorHost;
  /** The real servers lvsform prepares (run-real-servers.ts), planned beside the directors. */
  readonly realServers?: readonly DesiredRealServer[];
}

export interface DirectorOutcome {
  readonly director: string;
  readonly status: 'applied' | 'unchanged' | 'failed' | 'skipped';
  /** Differences between the desired state and the table read back after the batch (empty when verified). */
  readonly residual: readonly Change[];
  /** What `ipvsadm -R` printed (kernel rejections appear here, with exit 0). */
  readonly restoreOutput: string;
  readonly error?: { readonly code: string; readonly message: string; readonly hint?: string };
  readonly seconds: number;
}

export interface ApplyReport {
  readonly plan: Plan;
  readonly outcomes: readonly DirectorOutcome[];
  /** How each real server's preparation ended (absent when the app declares none). */
  readonly realServerOutcomes?: readonly RealServerOutcome[];
  /** The director pairs (VRRP instances) and their directors, when the app declares any. */
  readonly pairs?: readonly PairMembers[];
}

/** The outcome of a director that failed before its batch ran. */
function failedOutcome(director: string, error: NonNullable<DirectorOutcome['error']>): DirectorOutcome {
  return { director, status: 'failed', residual: [], restoreOutput: '', seconds: 0, error };
}

/** An open, locked, read director. */
interface OpenDirector {
  readonly desired: DesiredDirector;
  readonly host: DirectorHost;
  readonly live: LiveState;
  /** The host's set-up facts, read when the director asks for `setup`. */
  readonly facts?: HostFacts | undefined;
  /** Set when the fast path trusted the stored table. */
  readonly fast?: FastContext;
  /** Why the fast path was not taken (when it was asked for). */
  readonly fastReason?: string;
  /** The full read found gzip and base64 on the host. */
  readonly gzip?: boolean;
}

function destinationCount(services: readonly Service[]): string {
  // As toLocaleString('en-US') writes it (40,000), without loading ICU's locale data: 0.1–0.3 s at its first call in a
  // process, before the first round trip.
  return String(services.reduce((n, s) => n + s.destinations.length, 0)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Calls `opts.onTiming` with the milliseconds since the last call (or since the clock was made). */
function stopwatch(director: string, opts: RunOptions): (phase: string) => void {
  let last = performance.now();
  return (phase) => {
    const now = performance.now();
    opts.onTiming?.(director, phase, now - last);
    last = now;
  };
}

async function openDirector(
  desired: DesiredDirector,
  exclusive: boolean,
  operation: string,
  opts: RunOptions,
  destroy = operation === 'destroy',
): Promise<OpenDirector> {
  const checkCapabilities = !destroy && !opts.refreshOnly && desired.table.services.length > 0;
  const lap = stopwatch(desired.name, opts);
  const reads = `reading the live table (${destinationCount(desired.table.services)} destinations declared)`;
  const locking = opts.lockTimeout ? `waiting for the lock (--lock-timeout ${opts.lockTimeout})` : 'taking the lock';
  // "connecting" until the host's shell answers (a hanging SSH banner or login stays "connecting"), then the lock.
  opts.onProgress?.(desired.name, `connecting to ${describeTarget(desired.target)}`);
  const onConnected = (): void => opts.onProgress?.(desired.name, desired.setup ? locking : `${locking}; ${reads}`);
  return openWith((opts.openHost ?? openShDirectorHost)(desired.target, { ...opts, onConnected }), async (host) => {
    const where = describeTarget(host.target);
    const lock = lockRequest(operation, exclusive, opts.lockTimeout ?? 0);
    // What the director can do is read under the lock, before the table, in the same round trip.
    const caps = checkCapabilities ? [capabilitiesRequest(desired.table)] : [];
    const fullRead: ReadTableRequest = { kind: 'read-table', stack: opts.stack, thresholds: true, record: true };
    // --refresh=false: the stored table and /proc instead of the full read (a read-only key reads the whole table).
    const fastRefused = opts.refresh === false && host.target.readOnly ? 'a read-only run reads the whole table' : undefined;
    const read: ReadTableRequest | FastReadRequest =
      opts.refresh === false && !fastRefused ? { kind: 'fast-read', stack: opts.stack, compress: isLarge(desired.table.services.length) } : fullRead;
    // The director settings the app manages ride after the read (whose read loads ip_vs, and with it
    // /proc/sys/net/ipv4/vs), in the same round trip; none are read for an app that manages none.
    const query = settingsQueryFor(destroy ? undefined : desired.settings, undefined);
    const settingsRead: SettingsReadRequest[] = emptyQuery(query) ? [] : [{ kind: 'settings-read', query }];
    const asked = settingsRead.length > 0 ? query : undefined;
    let facts: HostFacts | undefined;
    let replies: readonly HostReply[];
    // While the connection is made and the director reads (tenths of a second the host would wait idle): the texts and
    // hashes of the desired services, which the diff, the expected record and verification ask for afterwards.
    void inSlices(desired.table.services, (s) => void serviceHash(s));
    if (!desired.setup) {
      // One round trip: the connection, the environment, the lock, the capabilities and the read, everything after the
      // lock only if it was taken.
      replies = await host.exchange([lock, ...caps, read, ...settingsRead], { underLock: true, onAnswer: () => lap('connect+read') });
    } else {
      // With set-up, the host's facts come first: ipvsadm may be missing and about to be installed, the table then empty.
      [, facts] = await host.exchange([lock, factsRequest(opts.stack, desired.table, host.target)], { underLock: true, onAnswer: () => lap('connect') });
      const installing = desired.setup.installIpvsadm === true && !facts.commands.includes('ipvsadm');
      const next = [...caps, ...(installing ? [] : [read, ...settingsRead])];
      if (!installing) opts.onProgress?.(desired.name, reads);
      replies = next.length === 0 ? [] : await host.exchange(next, { underLock: true, onAnswer: () => lap('read') });
    }
    // Before any change: what the app asks for must be something this director can do (a destroy asks for nothing).
    const capsReply = replyOf(replies, 'capabilities');
    if (capsReply) {
      const installing = facts !== undefined && desired.setup?.installIpvsadm === true && !facts.commands.includes('ipvsadm');
      // ipvsadm about to be installed: its release is not known yet, so only the kernel's side is checked.
      const found = missingCapabilities(desired.table, desired.paths, installing ? { ...capsReply, ipvsadm: undefined } : capsReply);
      // With --target, a service outside the targets is left as it is: what it would need is not asked for now.
      const missing = opts.targets?.length ? found.filter((m) => pathIsTargeted(m.path, opts.targets!)) : found;
      if (missing.length > 0) throw capabilityError(desired.target, missing);
    }
    if (facts && desired.setup?.installIpvsadm && !facts.commands.includes('ipvsadm')) {
      const empty = { services: [] };
      return { desired, host, facts, live: { table: empty, fingerprint: tableFingerprint(empty), record: undefined, ipvsadmVersion: '' } };
    }
    const settings = replyOf(replies, 'settings-read')?.settings;
    const withRead = (live: LiveState): Promise<LiveState> => withSettings(host, settings ? { ...live, settings } : live, asked, desired, destroy);
    const fastReply = replyOf(replies, 'fast-read');
    let fastReason = fastRefused;
    if (fastReply) {
      const trusted = trustFastRead(fastReply, opts.stack, where);
      lap('parse');
      if (trusted.ok) return { desired, host, facts, live: await withRead(trusted.live), fast: trusted.context };
      fastReason = trusted.reason;
      opts.onProgress?.(desired.name, `full read: ${fastReason}`);
      const [{ live, gzip }] = await host.exchange([fullRead], { underLock: true, onAnswer: () => lap('read') });
      lap('parse');
      return { desired, host, facts, live: await withRead(live), fastReason, ...(gzip === undefined ? {} : { gzip }) };
    }
    const { live, gzip } = replyOf(replies, 'read-table')!;
    lap('parse');
    return { desired, host, facts, live: await withRead(live), ...(fastReason ? { fastReason } : {}), ...(gzip === undefined ? {} : { gzip }) };
  });
}

/**
 * The live state with every director setting the plan needs: those the app manages came with the read; those only the
 * record names (settings the app stopped managing, or a destroy) need a read of their own, one round trip, only then.
 */
async function withSettings(
  host: DirectorHost,
  live: LiveState,
  asked: SettingsQuery | undefined,
  desired: DesiredDirector,
  destroy: boolean,
): Promise<LiveState> {
  const need = settingsQueryFor(destroy ? undefined : desired.settings, live.record?.settings);
  if (emptyQuery(need) || (live.settings !== undefined && asked !== undefined && queryCovers(asked, need))) return live;
  const [read] = await host.exchange([{ kind: 'settings-read', query: need }], { underLock: true });
  return { ...live, settings: read.settings };
}

async function closeDirector(d: OpenDirector): Promise<void> {
  await d.host.close();
}

/** The fan-out of a run: its parallelism, and `onIdle` once a director's step has ended. */
function fanOut<D>(opts: RunOptions, name: (item: D) => string): EachDirectorOptions<D> {
  return { parallelism: opts.parallelism, done: (item) => opts.onIdle?.(name(item)) };
}

/** The plan of a director that could not be planned (unreachable, locked, unreadable): its error and nothing to do. */
export function failedPlan(desired: DesiredDirector, e: unknown): DirectorPlan {
  return {
    director: desired.name,
    target: desired.target,
    fingerprint: '',
    changes: [],
    drift: [],
    unmanaged: [],
    conflicts: [],
    adopted: [],
    batch: '',
    drain: [],
    drainTimeout: 0,
    desired: { services: [] },
    paths: {},
    error: errorInfo(e),
  };
}

function withRefresh(plan: DirectorPlan, open: OpenDirector, opts: RunOptions): DirectorPlan {
  if (opts.refresh !== false) return plan;
  return { ...plan, refresh: open.fast ? { trusted: true } : { trusted: false, ...(open.fastReason ? { reason: open.fastReason } : {}) } };
}

function makePlan(stack: string, mode: Plan['mode'], directors: DirectorPlan[], realServers?: RealServerPlan[]): Plan {
  return { formatVersion: PLAN_FORMAT, stack, createdAt: new Date().toISOString(), mode, directors, ...(realServers ? { realServers } : {}) };
}

/** `--refresh-only` proposes no change on a real server either: its drift is shown. */
function refreshOnly(plan: RealServerPlan, opts: RunOptions): RealServerPlan {
  if (!opts.refreshOnly) return plan;
  const { setup: _setup, ...rest } = plan;
  return { ...rest, changes: [] };
}

/** `lvsform plan`: reads every director under a shared lock and computes the plan. Changes nothing. */
export async function planStack(directors: readonly DesiredDirector[], opts: RunOptions & { mode?: Plan['mode'] }): Promise<Plan> {
  checkOneDirectorPerMachine(directors.map((d) => d.target));
  // Real servers are read side by side with the directors: one round trip each.
  const realServers = opts.realServers?.length ? planRealServers(opts.realServers, opts.mode === 'destroy', opts) : undefined;
  const plans = await eachDirector(
    directors,
    fanOut(opts, (d) => d.name),
    async (desired) => {
      const open = await openDirector(desired, false, 'plan', opts, opts.mode === 'destroy');
      // The read is all a plan asks of the director: its session ends (the shared lock with it) while the diff is
      // worked out, not after it.
      const closing = closeDirector(open);
      try {
        const host = open.facts && { stack: opts.stack, facts: open.facts, destroy: opts.mode === 'destroy', readScript: readScriptText() };
        const started = performance.now();
        const plan = withRefresh(planDirector(desired, open.live, { ...opts, destroy: opts.mode === 'destroy' }, host), open, opts);
        opts.onTiming?.(desired.name, 'diff', performance.now() - started);
        return plan;
      } finally {
        await closing;
      }
    },
    failedPlan,
  );
  const rsPlans = realServers ? (await realServers).map((p) => refreshOnly(p, opts)) : undefined;
  return makePlan(opts.stack, opts.mode ?? (opts.refreshOnly ? 'refresh-only' : 'apply'), plans, rsPlans);
}

/** A director's round trips during an apply: requests carried to the next one, and their replies once sent. */
interface Trips {
  /** One round trip under the director's lock: what is carried, then `requests`. */
  readonly send: Send;
  /** Sends `request` with the next round trip. */
  carry(request: HostRequest): void;
  /** How many requests wait for the next round trip. */
  carrying(): number;
  /** The replies of the carried requests sent so far, in order. */
  readonly carriedReplies: readonly HostReply[];
}

/**
 * `onSent`: called each time a round trip has been handed to the transport (host work may start then); `onAnswer`:
 * each time its answer has arrived.
 */
function tripsOf(host: DirectorHost, onSent?: () => void, onAnswer?: () => void): Trips {
  let carried: HostRequest[] = [];
  const carriedReplies: HostReply[] = [];
  async function send<const R extends readonly HostRequest[]>(requests: R): Promise<RepliesOf<R>> {
    const sent = carried;
    carried = [];
    const replies = await host.exchange([...sent, ...requests], { underLock: true, ...(onSent ? { onSent } : {}), ...(onAnswer ? { onAnswer } : {}) });
    carriedReplies.push(...replies.slice(0, sent.length));
    return replies.slice(sent.length) as RepliesOf<R>;
  }
  return { send, carry: (r) => carried.push(r), carrying: () => carried.length, carriedReplies };
}

/** What the set-up and the batch left: the table read back, its /proc fingerprint when read, what ipvsadm said. */
interface Changed {
  readonly live: LiveState;
  readonly procAfter: (() => string) | undefined;
  readonly restoreOutput: string;
}

/** Host set-up (if any), then the batch (drained when the plan says) and its verification. */
async function setUpAndBatch(
  open: OpenDirector,
  plan: DirectorPlan,
  opts: RunOptions,
  trips: Trips,
  ahead: WorkAhead,
  record: BatchRecord | undefined,
): Promise<Changed> {
  const { send } = trips;
  const setup = plan.hostSetup ?? [];
  let live = open.live;
  let restoreOutput = '';
  const noteRestore = (said: string): void => {
    if (said) restoreOutput += `${restoreOutput ? '\n' : ''}${said}`;
  };
  const beforeBatch = itemsBeforeBatch(setup);
  if (beforeBatch.length > 0) {
    opts.onProgress?.(plan.director, `host set-up: ${setup.length} change(s)`);
    const [done] = await send([{ kind: 'setup', items: beforeBatch }]);
    checkSetup(plan.target, done);
    if (setup.some((i) => i.kind === 'package' && i.name === 'ipvsadm')) {
      // ipvsadm was just installed: the plan assumed an empty table; anything else is a table it never saw.
      [{ live }] = await send([{ kind: 'read-table', stack: opts.stack, thresholds: true, record: true }]);
      if (live.fingerprint !== plan.fingerprint) {
        throw new LvsError(
          'LVS_STALE_PLAN',
          `director ${describeTarget(plan.target)}: once ipvsadm was installed, the table was not the empty one the plan assumed`,
          {
            hint: 'ipvsadm is installed now and the table was not changed. Run `lvsform plan` again and review the new plan.',
          },
        );
      }
    }
  }
  // Director settings: links, added addresses, sysctls and timeouts travel with the batch's round trip, before it;
  // removed addresses and links after it, with the read that verifies it. Each phase reads back what it touched.
  const settings = plan.settings ?? [];
  const carrySettings = (phase: 'before' | 'after'): void => {
    if (settings.some((c) => settingPhase(c) === phase)) trips.carry({ kind: 'settings-apply', changes: settings, phase });
  };
  carrySettings('before');
  if (plan.batch.trim() === '') {
    carrySettings('after');
    // Settings alone: their own round trip, so that the record written next says what really changed.
    if (settings.length > 0) await send([]);
    const procBefore = open.live.fingerprint.slice('proc:'.length);
    return { live, restoreOutput, procAfter: open.fast ? () => procBefore : undefined };
  }
  if (plan.drain.length > 0) {
    // Graceful: weight 0 first so no new connection arrives, wait for the old ones, then delete.
    const batches = drainBatches(plan);
    opts.onProgress?.(plan.director, `applying ${batches.firstCount} change(s); draining ${plan.drain.length} real server(s)`);
    if (batches.first !== '') noteRestore((await send([{ kind: 'batch', batch: batches.first }]))[0].said);
    await waitForDrain(send, plan, opts.onProgress);
    if (batches.held !== '') noteRestore((await send([{ kind: 'batch', batch: batches.held }]))[0].said);
  } else {
    opts.onProgress?.(plan.director, `applying ${plan.changes.length} change(s)`);
    // The batch travels with the verification read that follows it: one round trip for both.
    trips.carry({ kind: 'batch', batch: plan.batch, ...(record ? { record } : {}) });
  }
  carrySettings('after');
  const verified = await verifyApply(send, opts.stack, plan, open.live, open.fast, opts.onProgress, ahead);
  if (plan.drain.length === 0) noteRestore(replyOf(trips.carriedReplies, 'batch')?.said ?? '');
  return { live: verified.live, procAfter: verified.procAfter, restoreOutput };
}

/** The outcome of a director whose ownership record (or stored table) the host did not confirm writing. */
function recordWriteOutcome(plan: DirectorPlan, said: readonly string[], base: Omit<DirectorOutcome, 'status' | 'error'>): DirectorOutcome {
  return {
    ...base,
    status: 'failed',
    error: {
      code: 'LVS_RECORD_WRITE',
      message: `director ${describeTarget(plan.target)}: the table was applied and verified, but the director did not confirm writing ${said.join('; ')}`,
      hint: 'Check that /var/lib/lvsform on the director is writable (not a read-only or full file system), then run `lvsform apply` again (with --adopt if its plan says services are not owned).',
    },
  };
}

/** The writes the director did not confirm, in words (the ownership record, the stored table). */
function unconfirmedWrites(replies: readonly HostReply[]): string[] {
  return replies.flatMap((r) =>
    (r.kind === 'write-record' || r.kind === 'store-table') && !r.confirmed
      ? [`${r.kind === 'write-record' ? 'the ownership record' : 'the table stored for --refresh=false'} (the host said: ${r.said})`]
      : [],
  );
}

/**
 * Whether the ownership record rides with the batch (batch.ts): a plan that changes the table alone, in one batch (no
 * host set-up, no director settings, no drain), and not with --refresh=false, whose record holds the /proc fingerprint
 * read after the batch.
 */
function recordRidesWithBatch(plan: DirectorPlan, opts: RunOptions): boolean {
  return (
    plan.batch.trim() !== '' && (plan.hostSetup?.length ?? 0) === 0 && (plan.settings?.length ?? 0) === 0 && plan.drain.length === 0 && opts.refresh !== false
  );
}

/** The record the director holds after the batch's round trip, by what it confirmed writing. */
function writtenRecord(
  replies: readonly HostReply[],
  withBatch: BatchRecord | undefined,
  pending: OwnershipRecord | undefined,
  previous: OwnershipRecord | undefined,
): OwnershipRecord | undefined {
  if (withBatch) {
    const r = replyOf(replies, 'batch')?.record;
    if (!r?.confirmed) return previous;
    return r.wrote === 'expected' ? withBatch.expected : (withBatch.otherwise ?? previous);
  }
  return pending && replyOf(replies, 'write-record')?.confirmed ? pending : previous;
}

/** Carries out one director's plan in its open session: set-up, batch, read-back, verification, ownership record. */
async function executeDirector(open: OpenDirector, plan: DirectorPlan, opts: RunOptions): Promise<DirectorOutcome> {
  const started = performance.now();
  const lap = stopwatch(plan.director, opts);
  const setup = plan.hostSetup ?? [];
  const gzip = open.fast?.gzip ?? false;
  // Host work that does not wait for the read-back is done while the director runs the batch (work-ahead.ts).
  const ahead = workAhead(plan, open.live, open.fast);
  const batch = plan.batch.trim() !== '';
  const trips = tripsOf(
    open.host,
    () => {
      lap('send');
      if (batch) ahead.start();
    },
    () => lap('director'),
  );
  // Before anything is created, record it as pending: if the connection is lost mid-batch, the next run owns what this
  // one created (no --adopt needed), and the rewrite after verification says what is really there.
  const pending = pendingRecord(opts.stack, plan, open.live.record);
  // A plan that changes the table alone, in one batch: the record the apply expects travels with the batch and is
  // written right after it on the director, the pending one instead when ipvsadm complained (batch.ts); no round trip
  // of its own, and a verified apply rewrites nothing.
  const withBatch: BatchRecord | undefined = recordRidesWithBatch(plan, opts)
    ? {
        stack: opts.stack,
        expected: recordAfter(
          opts.stack,
          plan,
          { ...open.live, table: ahead.expected() },
          open.live.record,
          open.live.others,
          plan.settingsRecord,
          ahead.hashFor,
        ),
        otherwise: pending ?? null,
        gzip: open.gzip ?? gzip,
      }
    : undefined;
  // Else the pending record travels with the next round trip (the set-up, or the batch).
  if (pending && !withBatch) trips.carry({ kind: 'write-record', stack: opts.stack, record: pending, gzip });
  const { live, restoreOutput, ...changed } = await setUpAndBatch(open, plan, opts, trips, ahead, withBatch);
  lap('verify');
  // Verify: every service the stack owns must now be exactly as desired, and every owned service it dropped gone.
  const residual = ahead.residualOf(live.table) ?? residualAfter(plan, open.live, live.table);
  // What the director holds as written: a record only if the host confirmed it.
  const written = writtenRecord(trips.carriedReplies, withBatch, pending, open.live.record);
  const settings = plan.settings ?? [];
  const settingsOutcome = settledSettings(trips.carriedReplies);
  const settingsRecord = settings.length === 0 ? plan.settingsRecord : settingsAfter(plan, open.live.record?.settings, settingsOutcome);
  let record = recordAfter(opts.stack, plan, live, open.live.record, open.live.others, settingsRecord, ahead.hashOf);
  const last: HostRequest[] = [];
  if (opts.refresh === false && residual.length === 0) {
    // Keep what the next --refresh=false run trusts: the owned table as verified and the /proc fingerprint of it.
    if (record) {
      const owned = ownedTable(live.table, new Set(Object.keys(record.services)));
      const text = storedTableText(owned);
      const procAfter = changed.procAfter?.() ?? (await readProcFingerprint(sendProc(trips.send), owned))?.proc;
      if (procAfter !== undefined) {
        const state = { proc: procAfter, table: sha256(text) };
        if (fastStateOf(open.live.record)?.table !== state.table) last.push({ kind: 'store-table', stack: opts.stack, text });
        record = { ...record, fast: state };
      }
    } else {
      last.push({ kind: 'store-table', stack: opts.stack, text: undefined });
    }
  }
  if (!sameRecord(record, written)) last.push({ kind: 'write-record', stack: opts.stack, record, gzip });
  // A verified table is saved (the whole of it) where the distribution restores it at boot: same round trip.
  const rules = residual.length === 0 ? setup.find((i) => i.kind === 'rules') : undefined;
  if (rules) last.push({ kind: 'save-rules', item: rules });
  // Whatever the next boot reads is on the disk before the apply reports it done: a pair member is the director that
  // is expected to lose power, and ext4 holds a fresh write in memory for seconds.
  if (writesBootFiles(setup, settings)) last.push({ kind: 'sync' });
  // The stored table and the record travel together: one round trip (none when nothing is left to say).
  const sentBefore = trips.carriedReplies.length;
  const replies: HostReply[] = last.length > 0 || trips.carrying() > 0 ? await trips.send(last) : [];
  lap('record');
  // A setting that did not hold fails the director, once the record says what was really changed.
  if (settingsOutcome.error) throw settingsOutcome.error;
  // A pending record sent only now (nothing carried it before) is answered here too.
  const unconfirmed = unconfirmedWrites([...trips.carriedReplies.slice(sentBefore), ...replies]);
  const base = { director: plan.director, residual, restoreOutput, seconds: (performance.now() - started) / 1000 };
  if (residual.length > 0) {
    const notWritten = unconfirmed.length > 0 ? `; the director did not confirm writing ${unconfirmed.join('; ')}` : '';
    return {
      ...base,
      status: 'failed',
      error: {
        code: 'LVS_VERIFY_FAILED',
        message: `director ${describeTarget(plan.target)}: after the batch, ${residual.length} difference(s) remain between the kernel table and the desired state${restoreOutput ? `; ipvsadm said: ${restoreOutput.split('\n').slice(0, 5).join(' | ')}` : ''}${notWritten}`,
        hint: "The ownership record lists only what is really there. Fix the cause (see ipvsadm's message) and run `lvsform apply` again.",
      },
    };
  }
  if (unconfirmed.length > 0) return recordWriteOutcome(plan, unconfirmed, base);
  const saved = replyOf(replies, 'save-rules');
  if (rules && saved && checkSaveRules(plan.target, rules, saved) === 'written') opts.onProgress?.(plan.director, 'saved the table for the next boot');
  return { ...base, status: plan.batch.trim() === '' && setup.length === 0 && settings.length === 0 ? 'unchanged' : 'applied' };
}

/** The real servers' plans, their runs, and their preparation before the directors' batches (under way). */
interface RealServersReady {
  readonly rsPlans: RealServerPlan[] | undefined;
  readonly runs: readonly RealServerRun[];
  readonly prepared: Promise<unknown>;
}

export interface ApplyOptions extends RunOptions {
  /** A saved plan to carry out exactly; refused for a director whose table changed since. */
  readonly savedPlan?: Plan;
  /** Destroy: every owned service goes, nothing is created. */
  readonly destroy?: boolean;
  /** Called once with the whole plan, while every director is locked, before `confirm`; throw to change nothing. */
  readonly check?: (plan: Plan) => void;
  /** Asked once with the whole plan, while every director is locked. Return false to change nothing. */
  readonly confirm?: (plan: Plan) => Promise<boolean>;
}

/**
 * `lvsform apply` / `destroy`: locks and reads every director, plans (or checks a saved plan's fingerprints), asks
 * for confirmation, then carries out and verifies each director's batch in parallel. Without a confirmation or a
 * check of the whole plan (`--auto-approve`, a saved plan, no `--max-deletes`), each director goes on to its batch as
 * soon as its own plan is made; every lock is still held until the end.
 */
export async function applyStack(directors: readonly DesiredDirector[], opts: ApplyOptions): Promise<ApplyReport> {
  checkOneDirectorPerMachine(directors.map((d) => d.target));
  const opened = new Map<string, OpenDirector>();
  const openedRs = new Map<string, OpenRealServer>();
  const operation = opts.destroy ? 'destroy' : 'apply';
  try {
    // A saved plan names its real servers and carries their changes: each is checked against what it holds now.
    const rsHosts: readonly (RealServerReach & { readonly prep?: DesiredRealServer['prep'] })[] = opts.savedPlan
      ? (opts.savedPlan.realServers ?? []).map((r) => ({ name: r.host, target: r.target }))
      : (opts.realServers ?? []);
    const rsPlanning = eachDirector(
      rsHosts,
      { parallelism: opts.parallelism },
      async (host): Promise<RealServerPlan> => {
        const open = await openRealServer(host, true, operation, opts);
        openedRs.set(host.name, open);
        const saved = opts.savedPlan?.realServers?.find((r) => r.host === host.name);
        if (saved) return savedRealServerPlan(open, saved);
        const desired = opts.realServers!.find((r) => r.name === host.name)!;
        return refreshOnly(planOpenRealServer(open, desired, Boolean(opts.destroy), opts.stack), opts);
      },
      failedRealServerPlan,
    );
    const planOne = async (desired: DesiredDirector): Promise<DirectorPlan> => {
      const open = await openDirector(desired, true, operation, opts);
      opened.set(desired.name, open);
      if (opts.savedPlan) {
        const saved = opts.savedPlan.directors.find((d) => d.director === desired.name);
        if (!saved) throw new LvsError('LVS_PLAN_MISMATCH', `the saved plan has no entry for director ${desired.name}`);
        if (saved.error)
          throw new LvsError(
            isErrorCode(saved.error.code) ? saved.error.code : 'LVS_PLAN_CORRUPT',
            saved.error.message,
            saved.error.hint ? { hint: saved.error.hint } : {},
          );
        // Another stack may have taken a service since the plan was made without changing the table (an
        // import --adopt): the saved plan may not create, change or adopt it.
        const taken = Object.fromEntries(
          [...Object.keys(saved.paths), ...saved.adopted].flatMap((id) => {
            const other = open.live.others?.get(id);
            return other === undefined ? [] : [[id, other] as const];
          }),
        );
        if (Object.keys(taken).length > 0) throw ownedElsewhereError(desired.target, opts.stack, taken, false);
        if (saved.fingerprint !== open.live.fingerprint) {
          throw new LvsError('LVS_STALE_PLAN', `director ${describeTarget(desired.target)}: the table changed since the plan was made`, {
            hint: 'Nothing was changed. Run `lvsform plan --out FILE` again and review the new plan.',
          });
        }
        return saved;
      }
      const host = open.facts && { stack: opts.stack, facts: open.facts, destroy: Boolean(opts.destroy), readScript: readScriptText() };
      const started = performance.now();
      const plan = withRefresh(planDirector(desired, open.live, opts, host), open, opts);
      opts.onTiming?.(desired.name, 'plan', performance.now() - started);
      return plan;
    };
    // Real servers first: what a live service will send to is ready before a director's batch sends to it; a batch
    // that only creates services runs beside the preparation (waitsForRealServers).
    const prepare = (rsPlans: RealServerPlan[] | undefined): RealServersReady => {
      const runs: RealServerRun[] = (rsPlans ?? []).flatMap((p) => {
        const open = openedRs.get(p.host);
        return open && !p.error ? [{ open, plan: p, replies: [] }] : [];
      });
      const prepared = eachDirector(
        runs,
        { parallelism: opts.parallelism },
        (r) => realServerBefore(r, opts.stack),
        (r, e) => {
          r.failure = e;
        },
      );
      return { rsPlans, runs, prepared };
    };
    const executeOne = async (p: DirectorPlan, real: Promise<RealServersReady>): Promise<DirectorOutcome> => {
      const open = opened.get(p.director);
      if (p.error || !open) return failedOutcome(p.director, p.error ?? { code: 'LVS_INTERNAL', message: 'not opened' });
      if (p.owners) return failedOutcome(p.director, errorInfo(ownedElsewhereError(p.target, opts.stack, p.owners, false)));
      if (p.conflicts.length > 0) {
        return failedOutcome(p.director, {
          code: 'LVS_NOT_OWNED',
          message: `director ${describeTarget(p.target)}: ${p.conflicts.length} declared service(s) already exist but are not owned by stack ${opts.stack}: ${p.conflicts.slice(0, 5).join(', ')}${p.conflicts.length > 5 ? ', …' : ''}`,
          hint: 'Nothing was changed here. Run with --adopt to take them over (their configuration is then made to match the app).',
        });
      }
      if (waitsForRealServers(p)) {
        const { runs, prepared } = await real;
        if (runs.length > 0) await prepared;
      }
      return executeDirector(open, p, opts);
    };
    const rsPlanned = rsHosts.length > 0 ? rsPlanning : Promise.resolve(undefined);
    let plans: DirectorPlan[];
    let outcomes: DirectorOutcome[];
    let real: Promise<RealServersReady>;
    /** The whole plan, when it was made before any batch (for the check and the confirmation). */
    let whole: Plan | undefined;
    if (!opts.confirm && !opts.check) {
      // Nothing waits for the whole plan (no confirmation, no check of it): each director goes on to its batch as soon
      // as its own plan is made, so that a director slow to answer holds no other back.
      real = rsPlanned.then(prepare);
      const each = await eachDirector(
        directors,
        fanOut(opts, (d) => d.name),
        async (desired) => {
          const p = await planOne(desired).catch((e: unknown) => failedPlan(desired, e));
          return { p, outcome: await executeOne(p, real).catch((e: unknown) => failedOutcome(p.director, errorInfo(e))) };
        },
      );
      plans = each.map((x) => x.p);
      outcomes = each.map((x) => x.outcome);
    } else {
      plans = await eachDirector(
        directors,
        fanOut(opts, (d) => d.name),
        planOne,
        failedPlan,
      );
      const rsPlans = await rsPlanned;
      const plan = makePlan(opts.stack, opts.destroy ? 'destroy' : 'apply', plans, rsPlans);
      whole = plan;
      opts.check?.(plan);
      const anything =
        plans.some(
          (p) =>
            !p.error &&
            p.conflicts.length === 0 &&
            (p.changes.length > 0 || p.adopted.length > 0 || (p.hostSetup?.length ?? 0) > 0 || (p.settings?.length ?? 0) > 0),
        ) || (rsPlans ?? []).some((p) => !p.error && (p.changes.length > 0 || (p.setup?.length ?? 0) > 0));
      if (anything && opts.confirm && !(await opts.confirm(plan))) {
        return {
          plan,
          outcomes: plans.map((p) => ({ director: p.director, status: 'skipped' as const, residual: [], restoreOutput: '', seconds: 0 })),
          ...(rsPlans ? { realServerOutcomes: rsPlans.map((p) => ({ host: p.host, status: 'skipped' as const })) } : {}),
        };
      }
      real = Promise.resolve(prepare(rsPlans));
      outcomes = await eachDirector(
        plans,
        fanOut(opts, (p) => p.director),
        (p) => executeOne(p, real),
        (p, e) => failedOutcome(p.director, errorInfo(e)),
      );
    }
    const { rsPlans, runs, prepared } = await real;
    const plan = whole ?? makePlan(opts.stack, opts.destroy ? 'destroy' : 'apply', plans, rsPlans);
    await prepared;
    // And last: what no service sends to any more goes, and every real server's record says what it holds.
    const rsDone = await eachDirector(runs, { parallelism: opts.parallelism }, (r) => realServerAfter(r, opts.stack));
    const realServerOutcomes = rsPlans?.map(
      (p): RealServerOutcome => rsDone.find((o) => o.host === p.host) ?? { host: p.host, status: 'failed', ...(p.error ? { error: p.error } : {}) },
    );
    const pairs = pairsOf(directors);
    return { plan, outcomes, ...(realServerOutcomes ? { realServerOutcomes } : {}), ...(pairs.length > 0 ? { pairs } : {}) };
  } finally {
    await Promise.all([...opened.values()].map((o) => closeDirector(o)));
    await Promise.all([...openedRs.values()].map((o) => o.host.close()));
  }
}
