/**
 * Renders a plan as text, the way `terraform plan` reads: per director what it will get, then the counts.
 * Colours are applied only through the `paint` functions the caller passes (none off a terminal).
 */
import type { Change } from '../model/change.ts';
import type { Destination, Forwarding, SchedFlag, Service } from '../model/model.ts';
import { flagName } from '../model/render-restore.ts';
import { countChanges, planTotals, type DirectorPlan, type Plan } from '../plan/plan.ts';
import { aboutTarget, describeTarget, errorPointer } from '../model/host-target.ts';
import { setupItemText } from '../plan/host-setup.ts';
import { settingText } from '../model/director-settings.ts';
import { renderRealServers } from './render-real-servers.ts';

export interface Paint {
  add(s: string): string;
  change(s: string): string;
  remove(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
  warn(s: string): string;
}

export const noPaint: Paint = { add: (s) => s, change: (s) => s, remove: (s) => s, dim: (s) => s, bold: (s) => s, warn: (s) => s };

function forwardingText(f: Forwarding): string {
  if (f.method !== 'tunnel') return f.method;
  const parts = [`tunnel ${f.type}`];
  if (f.port) parts.push(`port=${f.port}`);
  if (f.checksum && f.checksum !== 'nocsum') parts.push(f.checksum);
  return parts.join(' ');
}

export function destinationText(d: Destination): string {
  const extra = [`weight=${d.weight}`];
  if (d.upperThreshold) extra.push(`upper=${d.upperThreshold}`);
  if (d.lowerThreshold) extra.push(`lower=${d.lowerThreshold}`);
  return `${forwardingText(d.forwarding)} ${extra.join(' ')}`;
}

export function serviceText(s: Service): string {
  const c = s.config;
  const parts = [`scheduler=${c.scheduler}`];
  if (c.schedFlags.length) parts.push(`flags=${c.schedFlags.map((f) => flagName(c.scheduler, f)).join(',')}`);
  if (c.persistence) parts.push(`persistent=${c.persistence.timeout}s`, `netmask=${c.persistence.netmask}`);
  if (c.persistenceEngine) parts.push(`pe=${c.persistenceEngine}`);
  if (c.onePacket) parts.push('one-packet');
  return parts.join(' ');
}

/** The value of one changed field (`config.scheduler`) of a change's `before` or `after`, as the plan shows it. */
export function fieldValue(obj: unknown, field: string): string {
  let v: unknown = obj;
  for (const k of field.split('.')) v = (v as Record<string, unknown> | undefined)?.[k];
  if (v === undefined) return 'none';
  // Scheduler flags by the names ipvsadm gives them for the service's scheduler (sh-port, not flag-2).
  if (field === 'config.schedFlags' && Array.isArray(v)) {
    const scheduler = (obj as Service).config.scheduler;
    return JSON.stringify((v as SchedFlag[]).map((f) => flagName(scheduler, f)));
  }
  return JSON.stringify(v);
}

function changeLines(c: Change, p: Paint, drifted: ReadonlySet<string>, drained: ReadonlySet<string>, drainSeconds: number): string[] {
  const isService = c.kind === 'service';
  const indent = isService ? '  ' : '      ';
  const noun = isService ? `service ${c.serviceId}` : `real ${(c as { destinationId: string }).destinationId}`;
  const driftMark = drifted.has(c.serviceId) && isService ? p.warn(' (drifted)') : '';
  const replace = (c as { replace?: boolean }).replace ? p.warn(' (replace)') : '';
  if (c.action === 'create') {
    const detail = isService ? serviceText(c.after as Service) : destinationText(c.after as Destination);
    return [`${indent}${p.add('+')} ${noun}  ${p.dim(detail)}${replace}${driftMark}`];
  }
  if (c.action === 'delete') {
    const key = c.kind === 'service' ? c.serviceId : `${c.serviceId} -> ${c.destinationId}`;
    const drain = drained.has(key) ? p.dim(` (drain up to ${drainSeconds}s)`) : '';
    const where = c.kind === 'destination' ? p.dim(` of ${c.serviceId}`) : '';
    return [`${indent}${p.remove('-')} ${noun}${where}${drain}${replace}${driftMark}`];
  }
  const lines = [`${indent}${p.change('~')} ${noun}${driftMark}`];
  for (const field of c.changedFields ?? []) {
    lines.push(`${indent}    ${p.change('~')} ${field}: ${fieldValue(c.before, field)} -> ${fieldValue(c.after, field)}`);
  }
  return lines;
}

export interface RenderOptions {
  /**
   * The caller prints each director's error (message and hint) apart, on standard error: the plan then only marks the
   * director, so that a terminal shows the error once. @default false: the plan holds the whole error
   */
  readonly errorsApart?: boolean;
}

export function renderDirectorPlan(d: DirectorPlan, p: Paint = noPaint, opts: RenderOptions = {}): string {
  const where = describeTarget(d.target);
  const out: string[] = [];
  if (d.error) {
    if (opts.errorsApart) return p.remove(`✗ ${where}: could not be planned (${errorPointer(d.error.code)})`);
    out.push(p.remove(`✗ ${aboutTarget(d.target, d.error.message)}`));
    if (d.error.hint) out.push(`  ${d.error.hint}`);
    return out.join('\n');
  }
  const drifted = new Set(d.drift);
  if (d.drift.length) {
    out.push(p.warn(`Drift on ${where}: ${d.drift.length} owned service(s) changed outside lvsform: ${d.drift.join(', ')}`));
  }
  const owners = d.owners ?? {};
  const elsewhere = d.conflicts.filter((id) => owners[id] !== undefined);
  const unowned = d.conflicts.filter((id) => owners[id] === undefined);
  if (elsewhere.length) {
    out.push(
      p.remove(`✗ ${where}: declared service(s) owned by another stack: ${elsewhere.map((id) => `${id} (owned by stack \`${owners[id]}\`)`).join(', ')}`),
      '  One service has one owner (--adopt never takes it): release it from that stack (destroy it, or remove it from its app and apply), or remove it from this one.',
    );
  }
  if (unowned.length) {
    out.push(
      p.remove(`✗ ${where}: declared service(s) already exist but are not owned by this stack: ${unowned.join(', ')}`),
      '  Run with --adopt to take them over (their configuration is then made to match the app).',
    );
  }
  if (d.adopted.length) out.push(`lvsform will adopt on ${where}: ${d.adopted.join(', ')}`);
  if (d.settingsDrift?.length) {
    out.push(p.warn(`Drift on ${where}: ${d.settingsDrift.length} director setting(s) changed outside lvsform: ${d.settingsDrift.join(', ')}`));
  }
  if (d.changes.length === 0) {
    out.push(`${p.bold(where)}: no changes${d.hostSetup?.length || d.settings?.length ? ' to the IPVS table' : ''}.`);
  } else {
    out.push(`lvsform will perform the following actions on ${p.bold(where)}:`, '');
    const drained = new Set(d.drain.flatMap((x) => [x.serviceId, `${x.serviceId} -> ${x.destinationId}`]));
    for (const c of d.changes) out.push(...changeLines(c, p, drifted, drained, d.drainTimeout));
    const n = countChanges(d.changes);
    out.push('', `  ${n.add} to add, ${n.change} to change, ${n.destroy} to destroy.`);
  }
  const settings = d.settings ?? [];
  if (settings.length) {
    const pair = settings.some((c) => c.kind === 'daemon' || c.kind === 'keepalived') ? '; sync daemons before it, the keepalived file after it' : '';
    out.push('', `Director settings on ${p.bold(where)} (addresses and links around the batch, sysctls and timeouts before it${pair}):`);
    for (const c of settings) {
      const { sign, text } = settingText(c);
      out.push(`  ${sign === '+' ? p.add(sign) : sign === '-' ? p.remove(sign) : p.change(sign)} ${text}`);
    }
  }
  for (const note of d.settingsNotes ?? []) out.push(p.dim(`  note: ${note}`));
  const setup = d.hostSetup ?? [];
  if (setup.length) {
    out.push('', `Host setup on ${p.bold(where)} (survives a reboot):`);
    for (const it of setup) {
      const { sign, text } = setupItemText(it);
      out.push(`  ${sign === '+' ? p.add(sign) : sign === '-' ? p.remove(sign) : p.change(sign)} ${text}`);
    }
  }
  if (d.unmanaged.length) {
    out.push(
      p.dim(`  not managed (left alone): ${d.unmanaged.slice(0, 10).join(', ')}${d.unmanaged.length > 10 ? ` and ${d.unmanaged.length - 10} more` : ''}`),
    );
  }
  return out.join('\n');
}

export function renderPlan(plan: Plan, p: Paint = noPaint, opts: RenderOptions = {}): string {
  const parts = plan.directors.map((d) => renderDirectorPlan(d, p, opts));
  const rs = renderRealServers(plan.realServers, p, opts);
  if (rs.text) parts.push(rs.text);
  const total = planTotals(plan);
  const failed = plan.directors.filter((d) => d.error).length;
  const planned = plan.directors.length - failed;
  const setupCount = plan.directors.reduce((a, d) => a + (d.hostSetup?.length ?? 0), 0);
  const settingCount = plan.directors.reduce((a, d) => a + (d.settings?.length ?? 0), 0);
  const setupText = `${settingCount ? `; ${settingCount} director setting change(s)` : ''}${setupCount ? `; ${setupCount} host setup change(s)` : ''}${rs.summary}`;
  const others = failed ? ` on the ${planned} other director(s)` : '';
  const summary =
    plan.mode === 'refresh-only'
      ? `Refresh only: ${plan.directors.reduce((a, d) => a + d.drift.length, 0)} drifted service(s)${others}; no changes proposed.`
      : total.add + total.change + total.destroy + setupCount + settingCount + rs.count === 0
        ? failed
          ? `No changes${others}.`
          : 'No changes. The directors match the configuration.'
        : `Plan: ${total.add} to add, ${total.change} to change, ${total.destroy} to destroy${setupText}${others}.`;
  // A plan with a director that could not be read says so first: what it would do there is unknown. When no
  // director was planned, that is all there is to say (no summary of "the 0 other directors").
  const incomplete = failed
    ? p.remove(`Plan incomplete: ${failed} of ${plan.directors.length} director(s) could not be planned; what they need is unknown.\n`)
    : '';
  return `${parts.join('\n\n')}\n\n${incomplete}${planned ? p.bold(summary) + '\n' : ''}`;
}
