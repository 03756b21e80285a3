/**
 * Host work done while the director runs the batch. A fresh apply of 10,000 × 4 spent about a second of host CPU
 * after the read-back (the table it confirms, the residual diff, 10,000 record hashes, the comparison with /proc)
 * while the director waited, after a restore of 15 s or more during which the host waited: the two were in series.
 * When the read-back is /proc's (verifyApply's second strategy), all of that but the comparison depends only on the
 * plan and the table before the batch; it is worked out here once the batch's round trip is on its way (after its
 * bytes are handed to the transport, in slices so that the host's answer is read as it comes).
 *
 * Nothing is taken on trust: the read-back is compared with every desired service as before (equal texts, else field by
 * field), and what was worked out ahead is used only for the very objects it was worked out for (the table that
 * verification returns, its services), so every result is the one the work after the read-back would give.
 */
import type { Change } from '../model/change.ts';
import type { LiveState } from '../model/live-state.ts';
import { serviceId, type Service, type Table } from '../model/model.ts';
import type { DirectorPlan } from '../plan/plan.ts';
import { expectedProc, type ExpectedProc, type FastContext } from './fast-path.ts';
import { recordHash } from './ownership.ts';
import { expectedTable, residualAfter, verifiesByProc, type VerifyAhead } from './verify.ts';

/** Services worked on between two turns of the event loop (a few milliseconds). */
const SLICE = 250;

export interface WorkAhead extends VerifyAhead {
  /** Starts the work (call it once the batch's round trip is sent); later calls change nothing. */
  start(): void;
  /** The record hash of a service of the table worked out ahead (by identity), if it was worked out. */
  hashOf(svc: Service): string | undefined;
  /** The residual diff of that table (by identity), if it was worked out. */
  residualOf(table: Table): readonly Change[] | undefined;
  /** The table the batch is meant to leave (`expectedTable`), worked out once: the table /proc verification returns. */
  expected(): Table;
  /** The record hash of a service, worked out now unless it was already, and kept for `hashOf`. */
  hashFor(svc: Service): string;
}

export function workAhead(plan: DirectorPlan, before: LiveState, fast: FastContext | undefined): WorkAhead {
  const hashes = new WeakMap<Service, string>();
  let residual: { readonly table: Table; readonly changes: readonly Change[] } | undefined;
  let work: ReturnType<VerifyAhead['work']> | undefined;
  let table: Table | undefined;
  const expected = (): Table => {
    table ??= expectedTable(plan, before);
    return table;
  };
  const hashFor = (svc: Service): string => {
    let h = hashes.get(svc);
    if (h === undefined) {
      h = recordHash(svc, plan);
      hashes.set(svc, h);
    }
    return h;
  };
  const run = async (): ReturnType<VerifyAhead['work']> => {
    if (!verifiesByProc(plan, before, fast)) return undefined;
    const table = expected();
    const proc = new Map<Service, ExpectedProc>();
    await inSlices(plan.desired.services, (s) => proc.set(s, expectedProc(s)));
    await turn();
    residual = { table, changes: residualAfter(plan, before, table) };
    // The services the record is rebuilt from (recordAfter's candidates).
    const owned = new Set([...Object.keys(plan.paths), ...Object.keys(before.record?.services ?? {})]);
    await inSlices(
      table.services.filter((s) => owned.has(serviceId(s.key))),
      (s) => void hashFor(s),
    );
    return { table, proc };
  };
  const started = (): ReturnType<VerifyAhead['work']> => {
    work ??= run();
    return work;
  };
  return {
    // A failure here surfaces where the work is awaited (verification), not as an unhandled rejection.
    start: () => void started().catch(() => undefined),
    work: started,
    hashOf: (svc) => hashes.get(svc),
    residualOf: (table) => (residual?.table === table ? residual.changes : undefined),
    expected,
    hashFor,
  };
}

/** One turn of the event loop: the host's answer and the transport's writes go on meanwhile. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Calls `each` on the items a slice at a time, a turn of the event loop before each slice. */
export async function inSlices<T>(items: readonly T[], each: (item: T) => void): Promise<void> {
  for (let i = 0; i < items.length; i += SLICE) {
    await turn();
    for (const item of items.slice(i, i + SLICE)) each(item);
  }
}
