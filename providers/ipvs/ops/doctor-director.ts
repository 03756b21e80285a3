/** `lvsform doctor` on one director: reads its facts and capabilities through the host seam and judges them. */
import { type Check, evaluate, modulesNeeded } from './doctor.ts';
import { errorInfo } from '../model/errors.ts';
import { capabilitiesRequest } from '../host/capabilities.ts';
import type { OpenDirectorHost } from '../host/director-host.ts';
import { openShDirectorHost } from '../host/sh-director-host.ts';
import type { DesiredDirector } from '../model/desired-director.ts';
import type { SessionOptions } from '../host/transport.ts';
import { describeTarget } from '../model/host-target.ts';

export interface DoctorResult {
  readonly director: string;
  readonly where: string;
  readonly checks: Check[];
  /** Set when the director could not be examined (unreachable, refused): the same error as a `reachable` check. */
  readonly error?: { readonly code: string; readonly message: string; readonly hint?: string };
}

export async function doctorDirector(
  d: DesiredDirector,
  opts: SessionOptions & { readonly openHost?: OpenDirectorHost; readonly onProgress?: (director: string, message: string) => void } = {},
): Promise<DoctorResult> {
  const where = describeTarget(d.target);
  opts.onProgress?.(d.name, `connecting to ${where}`);
  const host = (opts.openHost ?? openShDirectorHost)(d.target, opts);
  try {
    opts.onProgress?.(d.name, 'checking the kernel, ipvsadm, forwarding and modules');
    // The facts and the capabilities, in one round trip.
    const [{ facts }, capabilities] = await host.exchange([{ kind: 'doctor-facts', modules: modulesNeeded(d.table) }, capabilitiesRequest(d.table, true)]);
    return { director: d.name, where, checks: evaluate({ facts, table: d.table, capabilities, paths: d.paths }) };
  } catch (e) {
    const error = errorInfo(e);
    const check: Check = { name: 'reachable', status: 'fail', detail: error.message, fix: error.hint, blocking: true } as Check;
    return { director: d.name, where, checks: [check], error };
  } finally {
    await host.close();
  }
}
