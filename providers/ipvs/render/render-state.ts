/** The state commands as text and JSON: `state list` (per director, what the stack owns) and `state show` (one service). */
import { destinationId } from '../model/model.ts';
import type { DirectorState, OwnedStatus, StackState, StateEntry } from '../plan/state.ts';
import { describeTarget } from '../model/host-target.ts';
import { destinationText, noPaint, serviceText, type Paint } from './render-plan.ts';

const STATUS_TEXT: Record<OwnedStatus, string> = {
  'in-sync': 'as applied',
  drifted: 'drifted (changed outside lvsform)',
  missing: 'missing from the kernel',
  pending: 'pending (created by a batch not verified yet)',
};

function statusText(e: StateEntry, p: Paint): string {
  const text = STATUS_TEXT[e.status];
  return e.status === 'in-sync' ? text : p.warn(text);
}

function directorLines(d: DirectorState, stack: string, p: Paint): string[] {
  const where = describeTarget(d.target);
  if (d.error) return [p.remove(`${where}: not read: ${d.error.message}`), ...(d.error.hint ? [`  ${d.error.hint}`] : [])];
  if (!d.record) return [`${where}: stack ${stack} owns nothing here (no ownership record)`];
  const lines = [p.bold(`${where}: ${d.entries.length} owned service(s)`)];
  const width = Math.max(...d.entries.map((e) => e.path.length));
  const addrWidth = Math.max(...d.entries.map((e) => e.address.length));
  for (const e of d.entries) {
    const reals = e.live ? `${e.live.destinations.length} real server(s)` : '';
    const undeclared = e.declared ? '' : p.warn(', no longer declared');
    lines.push(`  ${e.path.padEnd(width)}  ${e.address.padEnd(addrWidth)}  ${[reals, statusText(e, p)].filter(Boolean).join(', ')}${undeclared}`);
  }
  return lines;
}

/** `state list`: one block per director. */
export function renderStateList(state: StackState, p: Paint = noPaint): string {
  const out = [`Stack ${state.stack}:`, ''];
  for (const d of state.directors) out.push(...directorLines(d, state.stack, p), '');
  return `${out.join('\n').trimEnd()}\n`;
}

/** `state show`: one owned service, its record entry and its configuration and real servers as the kernel holds them. */
export function renderStateShow(stack: string, d: DirectorState, e: StateEntry, p: Paint = noPaint): string {
  const out = [
    p.bold(`# ${e.address}`),
    `construct path: ${e.path}`,
    `director:       ${describeTarget(d.target)}`,
    `owned by:       stack ${stack} (/var/lib/lvsform/${stack}.json)`,
    `status:         ${statusText(e, p)}`,
    `declared:       ${e.declared ? 'yes, by the app' : p.warn('no: the app no longer declares it (the next apply deletes it; `state rm` keeps it in the kernel)')}`,
  ];
  if (e.live) {
    out.push(`service:        ${e.serviceId}  ${serviceText(e.live)}`);
    out.push(`real servers:   ${e.live.destinations.length}`);
    for (const r of e.live.destinations) out.push(`  ${destinationId(r)}  ${destinationText(r)}`);
  }
  return `${out.join('\n')}\n`;
}

function entryJson(e: StateEntry): Record<string, unknown> {
  return {
    address: e.address,
    service: e.serviceId,
    construct_path: e.path,
    status: e.status,
    declared: e.declared,
    ...(e.live ? { live: e.live } : {}),
  };
}

/** `state list --json`. */
export function stateListJson(state: StackState): Record<string, unknown> {
  return {
    format_version: 1,
    stack: state.stack,
    directors: state.directors.map((d) => ({
      director: d.director,
      target: describeTarget(d.target),
      record: d.record,
      services: d.entries.map(entryJson),
      ...(d.error ? { error: d.error } : {}),
    })),
  };
}

/** `state show --json`. */
export function stateShowJson(stack: string, e: StateEntry): Record<string, unknown> {
  return { format_version: 1, stack, director: e.director, ...entryJson(e) };
}
