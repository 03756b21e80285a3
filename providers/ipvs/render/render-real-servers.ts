/**
 * The real servers' part of a plan, as text and as Markdown lines: one section per host, like a director's, with its
 * changes (`+ address 198.51.100.27/32 on lo`, `~ sysctl net.ipv4.conf.all.arp_ignore 0 -> 1`, `+ tunnel tunl0 up`,
 * `+ fou port 6080 gue`), the NAT route checks (a warning when the route back does not go through the director), the
 * drift and the notes.
 */
import { describeTarget, errorPointer } from '../model/host-target.ts';
import { realServerChangeText, routeCheckText } from '../model/real-server.ts';
import type { RealServerPlan } from '../plan/real-server.ts';
import type { Paint } from './render-plan.ts';
import { setupItemText } from '../plan/host-setup.ts';

function methods(r: RealServerPlan): string {
  const m = [...new Set(r.backing.map((b) => b.method))].sort();
  return m.length > 0 ? ` for ${m.join(', ')}` : '';
}

/** One real server's section (text). */
export function renderRealServerPlan(r: RealServerPlan, p: Paint, opts: { errorsApart?: boolean } = {}): string {
  const where = describeTarget(r.target);
  if (r.error) {
    if (opts.errorsApart) return p.remove(`✗ real server ${where}: could not be planned (${errorPointer(r.error.code)})`);
    return p.remove(`✗ real server ${where}: ${r.error.message}`);
  }
  const out: string[] = [];
  if (r.drift.length) out.push(p.warn(`Drift on real server ${where}: ${r.drift.length} setting(s) changed outside lvsform: ${r.drift.join(', ')}`));
  if (r.changes.length === 0) out.push(`Real server ${p.bold(where)}${methods(r)}: no changes.`);
  else {
    out.push(`Real server ${p.bold(where)}${methods(r)} (additions before a live service sends to it, removals after the directors' batches):`);
    for (const c of r.changes) {
      const { sign, text } = realServerChangeText(c);
      out.push(`  ${sign === '+' ? p.add(sign) : sign === '-' ? p.remove(sign) : p.change(sign)} ${text}`);
    }
  }
  for (const c of r.checks) {
    const { warn, text } = routeCheckText(c, r.changes);
    out.push(warn ? p.warn(`  warning: ${text}`) : p.dim(`  check: ${text}`));
  }
  for (const note of r.notes) out.push(p.dim(`  note: ${note}`));
  if (r.setup?.length) {
    out.push('', `Boot files on real server ${p.bold(where)} (survive a reboot):`);
    for (const it of r.setup) {
      const { sign, text } = setupItemText(it);
      out.push(`  ${sign === '+' ? p.add(sign) : sign === '-' ? p.remove(sign) : p.change(sign)} ${text}`);
    }
  }
  return out.join('\n');
}

/** Every real server's section, and the summary's part: `; 5 real-server change(s) on 2 host(s)`. */
export function renderRealServers(
  plans: readonly RealServerPlan[] | undefined,
  p: Paint,
  opts: { errorsApart?: boolean } = {},
): { text: string; summary: string; count: number } {
  if (!plans?.length) return { text: '', summary: '', count: 0 };
  const count = plans.reduce((a, r) => a + r.changes.length + (r.setup?.length ?? 0), 0);
  const hosts = plans.filter((r) => r.changes.length + (r.setup?.length ?? 0) > 0).length;
  return {
    text: plans.map((r) => renderRealServerPlan(r, p, opts)).join('\n\n'),
    summary: count > 0 ? `; ${count} real-server change(s) on ${hosts} host(s)` : '',
    count,
  };
}

/** Markdown lines of the real servers' part. */
export function markdownRealServers(plans: readonly RealServerPlan[] | undefined): string[] {
  if (!plans?.length) return [];
  const out: string[] = ['', '### Real servers', ''];
  for (const r of plans) {
    const where = describeTarget(r.target);
    if (r.error) {
      out.push(`- :x: **${where}**: \`${r.error.code}\` ${r.error.message.replace(/\n/g, ' ')}`);
      continue;
    }
    out.push(`**${where}**${methods(r)}${r.changes.length === 0 ? ': no changes' : ''}`, '');
    if (r.changes.length > 0) {
      out.push('```diff');
      for (const c of r.changes) {
        const { sign, text } = realServerChangeText(c);
        out.push(`${sign === '~' ? '!' : sign} ${text}`);
      }
      out.push('```');
    }
    for (const c of r.checks) {
      const { warn, text } = routeCheckText(c, r.changes);
      out.push(`- ${warn ? ':warning: ' : ''}${text}`);
    }
    for (const it of r.setup ?? []) out.push(`- boot: ${setupItemText(it).sign} ${setupItemText(it).text}`);
    for (const d of r.drift) out.push(`- drift: ${d}`);
    for (const n of r.notes) out.push(`- note: ${n}`);
    out.push('');
  }
  return out;
}
