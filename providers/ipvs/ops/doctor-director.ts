/**
 * `lvsform doctor` on each director: reads its facts, capabilities and (for a Director with settings) its settings
 * through the host seam and judges them.
 */
import { type Check, evaluate, modulesNeeded } from './doctor.ts';
import { errorInfo } from '../model/errors.ts';
import { capabilitiesRequest } from '../host/capabilities.ts';
import type { OpenDirectorHost } from '../host/director-host.ts';
import { eachDirector, withHost } from '../host/fan-out.ts';
import { openShDirectorHost } from '../host/sh-director-host.ts';
import type { DesiredDirector } from '../model/desired-director.ts';
import type { SessionOptions } from '../host/transport.ts';
import { describeTarget } from '../model/host-target.ts';
import { managesSettings, settingsQueryFor } from '../model/director-settings.ts';
import { bootUnitPath, bootUnitWantsPath } from '../plan/settings-boot.ts';
import { sysctlFile } from '../model/host-setup.ts';
import type { DoctorFactsRequest } from '../host/requests/doctor-facts.ts';
import type { FactsRequest } from '../host/requests/facts.ts';
import { doctorVips, evaluateSettings } from './doctor-settings.ts';

export interface DoctorResult {
  readonly director: string;
  readonly where: string;
  readonly checks: Check[];
  /** Set when the director could not be examined (unreachable, refused): the same error as a `reachable` check. */
  readonly error?: { readonly code: string; readonly message: string; readonly hint?: string };
}

export interface DoctorOptions extends SessionOptions {
  readonly openHost?: OpenDirectorHost;
  /** The step a director now waits on. */
  readonly onProgress?: (director: string, message: string) => void;
  /** The director's examination has ended. */
  readonly onIdle?: (director: string) => void;
  /** The stack: its ownership record says which settings lvsform set (needed when the app manages settings). */
  readonly stack?: string;
}

/** Examines every director, ten at once; one that cannot be reached is reported in its result (a `reachable` check). */
export function doctorDirectors(directors: readonly DesiredDirector[], opts: DoctorOptions = {}): Promise<DoctorResult[]> {
  return eachDirector(directors, { done: (d) => opts.onIdle?.(d.name) }, (d) => examine(d, opts), unreachable);
}

async function examine(d: DesiredDirector, opts: DoctorOptions): Promise<DoctorResult> {
  const where = describeTarget(d.target);
  opts.onProgress?.(d.name, `connecting to ${where}`);
  return withHost((opts.openHost ?? openShDirectorHost)(d.target, opts), async (host) => {
    opts.onProgress?.(d.name, 'checking the kernel, ipvsadm, forwarding and modules');
    // The facts, the capabilities and (when the app manages them) the settings and their boot files, in one round trip.
    const spec = d.settings;
    const stack = opts.stack;
    const withSettings = spec !== undefined && managesSettings(spec) && stack !== undefined;
    const doctor: DoctorFactsRequest = {
      kind: 'doctor-facts',
      modules: modulesNeeded(d.table),
      ...(withSettings ? { settings: { stack, query: settingsQueryFor(spec, undefined), vips: doctorVips(d.table) } } : {}),
    };
    const boot: FactsRequest[] =
      withSettings && d.setup
        ? [{ kind: 'facts', stack, query: { modules: [], files: [sysctlFile(stack), bootUnitPath(stack), bootUnitWantsPath(stack)], sysctls: [] } }]
        : [];
    const [{ facts, settings }, capabilities, files] = await host.exchange([doctor, capabilitiesRequest(d.table, true), ...boot]);
    const checks = evaluate({ facts, table: d.table, capabilities, paths: d.paths });
    if (withSettings && settings) {
      checks.push(
        ...evaluateSettings({ stack, spec, table: d.table, ...(d.setup ? { setup: d.setup } : {}), facts: settings, ...(files ? { files: files.files } : {}) }),
      );
    }
    return { director: d.name, where, checks };
  });
}

function unreachable(d: DesiredDirector, e: unknown): DoctorResult {
  const error = errorInfo(e);
  const check: Check = { name: 'reachable', status: 'fail', detail: error.message, fix: error.hint, blocking: true } as Check;
  return { director: d.name, where: describeTarget(d.target), checks: [check], error };
}
