/**
 * Real servers in a run (model/real-server.ts): each gets one session for the whole run, as a director does. Plan is
 * one round trip (the lock and the read); an apply at most three: the read, the `before` phase (tunnels, fou ports,
 * VIPs on lo, sysctls, a managed route; with the pending record), and the `after` phase (removals, values put back)
 * with the record rewritten from the read-backs. run-stack.ts runs the `before` phases of every real server before
 * a director's batch sends a live service to it (`waitsForRealServers`), and the `after` phases once the batches are
 * done: a real server is ready before a service with connections sends to it, and unprepared only once none does.
 */
import type { DesiredRealServer } from '../model/desired-real-server.ts';
import type { DirectorPlan } from '../plan/plan.ts';
import { errorInfo, isErrorCode, LvsError } from '../model/errors.ts';
import { describeTarget } from '../model/host-target.ts';
import {
  emptyRealServerRecord,
  type FouPort,
  type LiveRealServer,
  type LiveRsAddress,
  type RealServerRecordPrep,
  realServerFingerprint,
  realServerPhase,
} from '../model/real-server.ts';
import { newRealServerRecord, type RealServerRecord } from '../model/real-server-record.ts';
import { realServerPlanOf, realServerRecordAfter, type RealServerPlan } from '../plan/real-server.ts';
import type { DirectorHost, OpenDirectorHost } from '../host/director-host.ts';
import type { HostReply, HostRequest, RealServerApplyReply } from '../host/requests/index.ts';
import { eachDirector } from '../host/fan-out.ts';
import { openShDirectorHost } from '../host/sh-director-host.ts';
import type { HostFacts, SetupItem } from '../model/host-setup.ts';
import { writesBootFiles } from './setup-steps.ts';
import { realServerBootPaths } from '../plan/real-server-boot.ts';
import type { SessionOptions } from '../host/transport.ts';

export interface RealServerRunOptions extends SessionOptions {
  readonly stack: string;
  readonly parallelism?: number;
  readonly lockTimeout?: number;
  readonly openHost?: OpenDirectorHost;
  readonly onProgress?: (host: string, message: string) => void;
}

/** A real server as a run reaches it: its name and where it is (a saved plan's entry has no more). */
export type RealServerReach = Pick<DesiredRealServer, 'name' | 'target'>;

/** An open, locked, read real server. */
export interface OpenRealServer {
  readonly desired: RealServerReach;
  readonly host: DirectorHost;
  readonly live: LiveRealServer;
  readonly record: RealServerRecord | undefined;
  /** The boot files and whether systemctl is there (real-server-boot.ts). */
  readonly facts: Pick<HostFacts, 'files' | 'commands'>;
}

/** How a real server's apply ended. */
export interface RealServerOutcome {
  readonly host: string;
  readonly status: 'applied' | 'unchanged' | 'failed' | 'skipped';
  readonly error?: { readonly code: string; readonly message: string; readonly hint?: string };
}

function holder(operation: string): string {
  return `${operation} by lvsform pid ${process.pid} at ${new Date().toISOString()}`;
}

/** Opens, locks and reads a real server: one round trip. */
export async function openRealServer(desired: RealServerReach, exclusive: boolean, operation: string, opts: RealServerRunOptions): Promise<OpenRealServer> {
  opts.onProgress?.(desired.name, `connecting to ${describeTarget(desired.target)}`);
  const host = (opts.openHost ?? openShDirectorHost)(desired.target, opts);
  try {
    const paths = realServerBootPaths(opts.stack);
    const [, read, facts] = await host.exchange(
      [
        { kind: 'lock', exclusive, waitSeconds: opts.lockTimeout ?? 0, holder: holder(operation) },
        { kind: 'real-server-read', stack: opts.stack },
        { kind: 'facts', stack: opts.stack, query: { modules: [], files: [paths.unit, paths.wants, paths.sysctl], sysctls: [] } },
      ],
      { underLock: true },
    );
    return { desired, host, live: read.live, record: read.record, facts: { files: facts.files, commands: facts.commands } };
  } catch (e) {
    host.kill();
    await host.close();
    throw e;
  }
}

/** The plan of a real server that could not be read: its error and nothing to do. */
export function failedRealServerPlan(desired: RealServerReach & { readonly prep?: DesiredRealServer['prep'] }, e: unknown): RealServerPlan {
  return {
    host: desired.name,
    target: desired.target,
    changes: [],
    drift: [],
    notes: [],
    checks: [],
    backing: desired.prep?.backing ?? [],
    error: errorInfo(e),
  };
}

/**
 * A saved plan's entry for a real server, checked against the open session: carried out exactly, as a director's is,
 * only while the real server holds what the plan was made from (its fingerprint); else LVS_STALE_PLAN, nothing changed.
 */
export function savedRealServerPlan(open: OpenRealServer, saved: RealServerPlan): RealServerPlan {
  if (saved.error) {
    throw new LvsError(
      isErrorCode(saved.error.code) ? saved.error.code : 'LVS_PLAN_CORRUPT',
      saved.error.message,
      saved.error.hint ? { hint: saved.error.hint } : {},
    );
  }
  if (saved.fingerprint !== realServerFingerprint(open.live, open.record?.prep, open.facts.files)) {
    throw new LvsError('LVS_STALE_PLAN', `real server ${describeTarget(open.desired.target)}: what it holds changed since the plan was made`, {
      hint: 'Nothing was changed. Run `lvsform plan --out FILE` again and review the new plan.',
    });
  }
  return saved;
}

/** A real server's plan from its open session (`destroy`: everything lvsform added goes, everything it set goes back). */
export function planOpenRealServer(open: OpenRealServer, d: DesiredRealServer, destroy: boolean, stack: string): RealServerPlan {
  const narrowed = destroy || !d.narrowedTo ? undefined : { full: d.prep };
  return realServerPlanOf(
    d.spec,
    d.target,
    destroy ? undefined : (d.narrowedTo ?? d.prep),
    open.live,
    open.record?.prep,
    { stack, facts: open.facts },
    narrowed,
  );
}

/** `lvsform plan` for real servers: each opened under a shared lock, planned, closed. */
export function planRealServers(hosts: readonly DesiredRealServer[], destroy: boolean, opts: RealServerRunOptions): Promise<RealServerPlan[]> {
  return eachDirector(
    hosts,
    { parallelism: opts.parallelism },
    async (desired) => {
      const open = await openRealServer(desired, false, 'plan', opts);
      try {
        return planOpenRealServer(open, desired, destroy, opts.stack);
      } finally {
        await open.host.close();
      }
    },
    failedRealServerPlan,
  );
}

const fouKey = (f: FouPort) => `${f.port} ${f.family}`;
const addrKey = (a: LiveRsAddress) => `${a.address} ${a.device}`;

/**
 * The record to write before changes that add something: what the previous record owned and what the plan will own,
 * together (the values found first win), so that a connection lost mid-way leaves nothing added unowned.
 */
export function pendingRealServerRecord(previous: RealServerRecordPrep | undefined, next: RealServerRecordPrep | undefined): RealServerRecordPrep {
  const addresses = new Map([...(previous?.addresses ?? []), ...(next?.addresses ?? [])].map((a) => [addrKey(a), a]));
  const fou = new Map([...(previous?.fou ?? []), ...(next?.fou ?? [])].map((f) => [fouKey(f), f]));
  const tunnels = [...new Set([...(previous?.tunnels ?? []), ...(next?.tunnels ?? [])])].sort();
  const sysctls = { ...(next?.sysctls ?? {}), ...(previous?.sysctls ?? {}) };
  const routes = { ...(next?.routes ?? {}), ...(previous?.routes ?? {}) };
  return {
    ...(addresses.size > 0 ? { addresses: [...addresses.values()] } : {}),
    ...(tunnels.length > 0 ? { tunnels } : {}),
    ...(fou.size > 0 ? { fou: [...fou.values()] } : {}),
    ...(Object.keys(sysctls).length > 0 ? { sysctls } : {}),
    ...(Object.keys(routes).length > 0 ? { routes } : {}),
  };
}

/** A real server's apply in progress: the replies of its phases so far. */
export interface RealServerRun {
  readonly open: OpenRealServer;
  readonly plan: RealServerPlan;
  readonly replies: HostReply[];
  /** Set when a round trip failed (the transport, or an answer that ended early). */
  failure?: unknown;
}

/**
 * Whether a director's batch must wait for the real servers' `before` phases: it must when it adds or changes a
 * real server of a service that exists before the batch (a live service's clients would be sent to a host not yet
 * ready: in direct routing without the VIP on its lo, it drops them). A service the batch creates has no connection
 * yet, and before the batch its VIP:port answered nobody, so a batch that only creates services (a fresh cluster)
 * runs beside the preparation instead of after it. A service replaced (deleted and created again) was live: it waits.
 */
export function waitsForRealServers(plan: Pick<DirectorPlan, 'changes'>): boolean {
  const created = new Set<string>();
  for (const c of plan.changes) if (c.kind === 'service' && c.action === 'create' && !c.replace) created.add(c.serviceId);
  return plan.changes.some((c) => c.kind === 'destination' && c.action !== 'delete' && !created.has(c.serviceId));
}

/** The real server's boot files written, then synced to its disk (setup-steps.ts `writesBootFiles`); none without items. */
function bootFileRequests(items: readonly SetupItem[] | undefined): HostRequest[] {
  if (!items?.length) return [];
  return [{ kind: 'setup', items }, ...(writesBootFiles(items) ? [{ kind: 'sync' as const }] : [])];
}

/** The `before` phase: the pending record and the additions, one round trip (none when nothing is added). */
export async function realServerBefore(run: RealServerRun, stack: string): Promise<void> {
  const { open, plan } = run;
  if (!plan.changes.some((c) => realServerPhase(c) === 'before')) return;
  const pending = newRealServerRecord(stack, plan.host, pendingRealServerRecord(open.record?.prep, plan.record));
  // The boot files ride with the last round trip of the real server: this one, when no removal follows.
  const setup = plan.changes.some((c) => realServerPhase(c) === 'after') ? [] : bootFileRequests(plan.setup);
  try {
    run.replies.push(
      ...(await open.host.exchange(
        [{ kind: 'real-server-record', stack, record: pending }, { kind: 'real-server-apply', changes: plan.changes, phase: 'before' }, ...setup],
        { underLock: true },
      )),
    );
  } catch (e) {
    run.failure = e;
  }
}

/** A record's content in one canonical text (arrays sorted), to tell whether one more write is needed. */
function prepText(p: RealServerRecordPrep | undefined): string {
  if (emptyRealServerRecord(p)) return 'null';
  const sorted = <T>(a: readonly T[] | undefined, key: (x: T) => string) => [...(a ?? [])].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
  const obj = (o: object | undefined) => Object.fromEntries(Object.entries(o ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)));
  return JSON.stringify({
    a: sorted(p?.addresses, addrKey),
    t: sorted(p?.tunnels, String),
    f: sorted(p?.fou, fouKey),
    s: obj(p?.sysctls),
    r: obj(p?.routes),
  });
}

function recordOf(stack: string, host: string, prep: RealServerRecordPrep | undefined): RealServerRecord | undefined {
  return emptyRealServerRecord(prep) ? undefined : newRealServerRecord(stack, host, prep!);
}

/**
 * The `after` phase, with the record the plan expects written in the same round trip; the record is written again
 * only when the read-backs show something else (a change that did not hold). So an apply whose changes all hold costs
 * at most three round trips: the read, the `before` phase, the `after` phase.
 */
export async function realServerAfter(run: RealServerRun, stack: string): Promise<RealServerOutcome> {
  const { open, plan } = run;
  const host = plan.host;
  if (run.failure !== undefined) return { host, status: 'failed', error: errorInfo(run.failure) };
  const afterChanges = plan.changes.some((c) => realServerPhase(c) === 'after');
  const pendingSent = run.replies.find((r) => r.kind === 'real-server-record');
  const pending = plan.changes.some((c) => realServerPhase(c) === 'before') ? pendingRealServerRecord(open.record?.prep, plan.record) : undefined;
  let written: RealServerRecordPrep | undefined = pendingSent?.kind === 'real-server-record' && pendingSent.confirmed ? pending : open.record?.prep;
  const setupSent = run.replies.some((r) => r.kind === 'setup');
  const setup = setupSent ? [] : bootFileRequests(plan.setup);
  if (plan.changes.length === 0 && setup.length === 0 && prepText(plan.record) === prepText(written)) return { host, status: 'unchanged' };
  try {
    const replies = [...run.replies];
    if (afterChanges || setup.length > 0) {
      const sent = await open.host.exchange(
        [
          ...(afterChanges ? [{ kind: 'real-server-apply' as const, changes: plan.changes, phase: 'after' as const }] : []),
          { kind: 'real-server-record', stack, record: recordOf(stack, host, plan.record) },
          ...setup,
        ],
        { underLock: true },
      );
      replies.push(...sent);
      if (sent.some((r) => r.kind === 'real-server-record' && r.confirmed)) written = plan.record;
    }
    const phases = replies.filter((r): r is RealServerApplyReply => r.kind === 'real-server-apply');
    const after = phases.reduce<LiveRealServer | undefined>((_, r) => r.after, undefined);
    const error = phases.find((r) => r.error)?.error;
    let prep = realServerRecordAfter(plan.record, plan.changes, after);
    // After a failure the values found before lvsform set anything are kept, so nothing to put back is forgotten.
    if (error && open.record?.prep) prep = pendingRealServerRecord(open.record.prep, prep);
    let confirmed = true;
    let said = '';
    if (prepText(prep) !== prepText(written)) {
      const [again] = await open.host.exchange([{ kind: 'real-server-record', stack, record: recordOf(stack, host, prep) }], { underLock: true });
      confirmed = again.confirmed;
      said = again.said;
    }
    if (error) return { host, status: 'failed', error: errorInfo(error) };
    const setupFailed = replies.flatMap((r) => (r.kind === 'setup' ? r.failed : []));
    if (setupFailed.length > 0) {
      return {
        host,
        status: 'failed',
        error: {
          code: 'LVS_SETUP_FAILED',
          message: `real server ${describeTarget(plan.target)}: prepared, but its boot files were not written: ${setupFailed.join('; ')}`,
          hint: 'Check /etc/systemd/system and /etc/sysctl.d on the real server, then run `lvsform apply` again.',
        },
      };
    }
    if (!confirmed) {
      return {
        host,
        status: 'failed',
        error: {
          code: 'LVS_RECORD_WRITE',
          message: `real server ${describeTarget(plan.target)}: prepared and verified, but it did not confirm writing its ownership record (the host said: ${said})`,
          hint: 'Check that /var/lib/lvsform on the real server is writable, then run `lvsform apply` again.',
        },
      };
    }
    return { host, status: plan.changes.length > 0 || setup.length > 0 || setupSent ? 'applied' : 'unchanged' };
  } catch (e) {
    return { host, status: 'failed', error: errorInfo(e) };
  }
}
