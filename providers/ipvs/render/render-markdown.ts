/**
 * Renders a plan as GitHub/GitLab-flavoured Markdown for a pull-request comment (`lvsform plan --markdown`,
 * `lvsform show PLANFILE --markdown`): a title with the stack and the totals, a summary table with one row per
 * director, then per director a collapsed `<details>` block with its changes in a ```diff block.
 *
 * Everything that comes from outside (targets, error messages, hints, construct paths) is escaped so it can neither
 * break the Markdown nor inject HTML nor mention anyone. The output stays under `limit` characters (GitHub refuses
 * comments over 65,536): each director's change list is cut to a fair share of the room with a note saying so.
 *
 * After the text comes a Mermaid diagram of what changes (the changed services and real servers and the nodes above
 * them), which GitHub and GitLab draw; where Mermaid is not drawn it is a code block after text that reads on its own.
 * It is folded under `<details>` when large, and it is the first thing left out when the comment would be too long.
 */
import type { Change } from '../model/change.ts';
import type { Destination, Service } from '../model/model.ts';
import { countChanges, planTotals, type DirectorPlan, type Plan } from '../plan/plan.ts';
import { destinationText, fieldValue, serviceText } from './render-plan.ts';
import { describeTarget } from '../model/host-target.ts';
import { changedPart, planGraph } from './graph.ts';
import { renderMermaid } from './render-mermaid.ts';
import { settingText } from '../model/director-settings.ts';
import { markdownRealServers } from './render-real-servers.ts';

/** GitHub's limit on a comment body. */
export const GITHUB_COMMENT_LIMIT = 65_536;

export interface MarkdownOptions {
  /** Longest output in characters (UTF-16 code units, as GitHub counts them). @default 65536 */
  readonly limit?: number;
  /** The saved plan file this renders, named in the footer. */
  readonly planFile?: string;
}

/**
 * Escapes text placed mid-line in Markdown (after a list marker or in a table cell): one line, no HTML, no emphasis,
 * code, strike-through, links or images, no cell breaks, no mentions. Characters that matter only at the start of a
 * line (`#`, `-`, `+`, `1.`) are left alone, since the text never starts one.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/\r\n?|\n/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]|~]/g, (c) => `\\${c}`)
    .replace(/(^|[^\w])@/g, '$1@\u200b');
}

/** Escapes text placed inside raw HTML (`<summary>`), where Markdown is not interpreted. */
export function escapeHtml(text: string): string {
  return text
    .replace(/\r\n?|\n/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/(^|[^\w])@/g, '$1@\u200b');
}

/** The HTML comment that marks lvsform's comment for a stack, so that CI updates it instead of adding another. */
export function commentMarker(stack: string): string {
  return `<!-- lvsform-plan stack=${stack.replace(/[^A-Za-z0-9._-]/g, '_').replace(/-{2,}/g, '-')} -->`;
}

/** The line saying which part of the stack a targeted plan covers, or undefined for an untargeted plan. */
export function targetedText(plan: Plan): string | undefined {
  const scoped = plan.directors.filter((d) => d.targeted);
  if (scoped.length === 0) return undefined;
  const matched = scoped.reduce((a, d) => a + d.targeted!.matched, 0);
  const total = scoped.reduce((a, d) => a + d.targeted!.total, 0);
  const targets = [...new Set(scoped.flatMap((d) => d.targeted!.targets))];
  return `targeted: ${matched} of ${total} services (${targets.map((t) => `--target ${t}`).join(', ')}); the other services of the stack are left exactly as they are`;
}

/** The diff lines of one change: the marker in column 0 (so the diff highlighting colours it), then the text plan. */
function changeLines(c: Change, drained: ReadonlySet<string>, drainSeconds: number): string[] {
  const isService = c.kind === 'service';
  const indent = isService ? ' ' : '     ';
  const noun = isService ? `service ${c.serviceId}` : `real ${c.destinationId}`;
  const replace = c.replace ? ' (replace)' : '';
  if (c.action === 'create') {
    const detail = isService ? serviceText(c.after as Service) : destinationText(c.after as Destination);
    return [`+${indent}${noun}  ${detail}${replace}`];
  }
  if (c.action === 'delete') {
    const key = c.kind === 'service' ? c.serviceId : `${c.serviceId} -> ${c.destinationId}`;
    const drain = drained.has(key) ? ` (drain up to ${drainSeconds}s)` : '';
    const of = c.kind === 'destination' ? ` of ${c.serviceId}` : '';
    return [`-${indent}${noun}${of}${drain}${replace}`];
  }
  return [`~${indent}${noun}`, ...(c.changedFields ?? []).map((f) => `~${indent}    ${f}: ${fieldValue(c.before, f)} -> ${fieldValue(c.after, f)}`)];
}

function countsText(d: DirectorPlan): string {
  const n = countChanges(d.changes);
  return `${n.add} to add, ${n.change} to change, ${n.destroy} to destroy`;
}

/** Room kept for a director's fence and cut note, and for the note on directors left out. */
const FENCE = 240;
const SKIP_NOTE = 160;
const NOTE_ITEMS = 20;
const NOTE_TEXT = 600;

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function listNote(label: string, items: readonly string[]): string {
  const shown = items
    .slice(0, NOTE_ITEMS)
    .map((i) => escapeMarkdown(i))
    .join(', ');
  return `- ${label} (${items.length}): ${shown}${items.length > NOTE_ITEMS ? `, and ${items.length - NOTE_ITEMS} more` : ''}`;
}

/** The notes under a director's changes: error, conflicts, drift, adoption, unmanaged services, targeting. */
function directorNotes(d: DirectorPlan): string[] {
  const notes: string[] = [];
  if (d.error) {
    notes.push(`- ❌ **error** \`${d.error.code.replace(/[^A-Z0-9_]/g, '')}\`: ${escapeMarkdown(clip(d.error.message, NOTE_TEXT))}`);
    if (d.error.hint) notes.push(`  ${escapeMarkdown(clip(d.error.hint, NOTE_TEXT))}`);
  }
  const owners = d.owners ?? {};
  const elsewhere = d.conflicts.filter((id) => owners[id] !== undefined);
  const unowned = d.conflicts.filter((id) => owners[id] === undefined);
  if (elsewhere.length) {
    notes.push(
      listNote(
        '❌ **owned by another stack** (release it there, or remove it from this stack)',
        elsewhere.map((id) => `${id} (owned by stack ${owners[id]})`),
      ),
    );
  }
  if (unowned.length) notes.push(listNote('❌ **declared but not owned by this stack** (run with --adopt to take them over)', unowned));
  if (d.drift.length) notes.push(listNote('⚠️ **drift**: owned services changed outside lvsform', d.drift));
  if (d.settings?.length) {
    notes.push(
      listNote(
        'director settings',
        d.settings.map((c) => {
          const { sign, text } = settingText(c);
          return `${sign} ${text}`;
        }),
      ),
    );
  }
  if (d.settingsDrift?.length) notes.push(listNote('⚠️ **drift**: director settings changed outside lvsform', d.settingsDrift));
  if (d.settingsNotes?.length) notes.push(listNote('about the director settings', d.settingsNotes));
  if (d.adopted.length) notes.push(listNote('adopted by this plan', d.adopted));
  if (d.targeted) notes.push(`- targeted: ${d.targeted.matched} of ${d.targeted.total} services; ${d.targeted.untouched.length} other(s) left untouched`);
  if (d.unmanaged.length) notes.push(listNote('not managed (left alone)', d.unmanaged));
  return notes;
}

function hasDetails(d: DirectorPlan): boolean {
  return (
    Boolean(d.error) ||
    d.changes.length > 0 ||
    (d.settings?.length ?? 0) > 0 ||
    (d.settingsDrift?.length ?? 0) > 0 ||
    d.conflicts.length > 0 ||
    d.drift.length > 0 ||
    d.adopted.length > 0 ||
    d.unmanaged.length > 0
  );
}

/** One director's collapsed block, with at most `room` characters of change lines (at least one note when cut). */
function directorBlock(d: DirectorPlan, room: number): string {
  const where = escapeHtml(describeTarget(d.target));
  const settings = d.settings?.length ? `${d.settings.length} director setting change(s)` : '';
  const status = d.error ? 'could not be planned' : d.changes.length ? `${countsText(d)}${settings ? `; ${settings}` : ''}` : settings || 'no changes';
  const out = [`<details><summary><b>${escapeHtml(d.director)}</b> (${where}): ${status}</summary>`, ''];
  if (d.changes.length) {
    const drained = new Set(d.drain.flatMap((x) => [x.serviceId, `${x.serviceId} -> ${x.destinationId}`]));
    const lines = d.changes.flatMap((c) => changeLines(c, drained, d.drainTimeout));
    let used = 0;
    let shown = 0;
    for (const line of lines) {
      if (used + line.length + 1 > room) break;
      used += line.length + 1;
      shown += 1;
    }
    out.push('```diff', ...lines.slice(0, shown), '```');
    if (shown < lines.length) {
      out.push(
        '',
        `_${lines.length - shown} of ${lines.length} change lines not shown (the comment has a size limit); \`lvsform show PLANFILE\` prints them all._`,
      );
    }
    out.push('');
  }
  const notes = directorNotes(d);
  if (notes.length) out.push(...notes, '');
  out.push('</details>', '');
  return out.join('\n');
}

function summaryRow(d: DirectorPlan): string {
  const n = countChanges(d.changes);
  const errors = d.error ? `❌ ${escapeMarkdown(d.error.code)}` : d.conflicts.length ? `❌ ${d.conflicts.length} not owned` : '';
  const drift = d.drift.length ? `⚠️ ${d.drift.length}` : '0';
  return `| ${escapeMarkdown(d.director)} | ${escapeMarkdown(describeTarget(d.target))} | ${n.add} | ${n.change} | ${n.destroy} | ${drift} | ${errors} |`;
}

/** The plan as Markdown for a pull-request comment, at most `limit` characters. */
export function renderMarkdown(plan: Plan, opts: MarkdownOptions = {}): string {
  const limit = opts.limit ?? GITHUB_COMMENT_LIMIT;
  const t = planTotals(plan);
  const failed = plan.directors.filter((d) => d.error || d.conflicts.length > 0).length;
  const unread = plan.directors.filter((d) => d.error).length;
  const settingCount = plan.directors.reduce((a, d) => a + (d.settings?.length ?? 0), 0);
  const rsCount = (plan.realServers ?? []).reduce((a, r) => a + r.changes.length, 0);
  const verb = plan.mode === 'destroy' ? 'destroy plan' : plan.mode === 'refresh-only' ? 'refresh-only plan' : 'plan';
  const headline =
    plan.mode === 'refresh-only'
      ? `${plan.directors.reduce((a, d) => a + d.drift.length, 0)} drifted service(s); no changes proposed`
      : unread
        ? `incomplete, ${unread} of ${plan.directors.length} director(s) could not be planned`
        : t.add + t.change + t.destroy + settingCount + rsCount === 0
          ? 'no changes'
          : `${t.add} to add, ${t.change} to change, ${t.destroy} to destroy${settingCount ? `; ${settingCount} director setting change(s)` : ''}${rsCount ? `; ${rsCount} real-server change(s)` : ''}`;
  const head = [commentMarker(plan.stack), `### lvsform ${verb} for stack ${escapeMarkdown(plan.stack)}: ${headline}`, ''];
  if (failed) head.push(`❌ **${failed} of ${plan.directors.length} director(s) could not be planned or have conflicts**; see below.`, '');
  const targeted = targetedText(plan);
  if (targeted) head.push(`🎯 ${escapeMarkdown(targeted)}`, '');

  const footer = [
    '',
    `<sub>lvsform ${escapeMarkdown(plan.mode)} plan of ${escapeMarkdown(plan.createdAt)}${opts.planFile ? ` · saved as ${escapeMarkdown(opts.planFile)}` : ''}</sub>`,
    '',
  ];
  let room = limit - head.join('\n').length - footer.join('\n').length - 2;

  // The table: every director when it fits in half the room; otherwise those with something to report, then a count.
  const table = ['| Director | Target | Add | Change | Destroy | Drift | Errors |', '|---|---|--:|--:|--:|--:|---|'];
  let tableRoom = Math.floor(room / 2) - table.join('\n').length - 120;
  const rows = plan.directors.map((d) => ({ d, row: summaryRow(d) }));
  const fitsAll = rows.reduce((a, r) => a + r.row.length + 1, 0) <= tableRoom;
  const notable = (d: DirectorPlan): boolean =>
    Boolean(d.error) || d.changes.length > 0 || d.conflicts.length > 0 || d.drift.length > 0 || (d.settings?.length ?? 0) > 0;
  let omitted = 0;
  for (const r of rows) {
    if ((!fitsAll && !notable(r.d)) || r.row.length + 1 > tableRoom) {
      omitted += 1;
      continue;
    }
    table.push(r.row);
    tableRoom -= r.row.length + 1;
  }
  if (omitted) table.push('', `_${omitted} more director(s) not listed (no changes, or no room left)._`);
  table.push('');
  room -= table.join('\n').length + 1 + SKIP_NOTE;

  // The blocks: the room is shared out fairly; a director that needs less than its share leaves the rest to others.
  const detailed = plan.directors.filter(hasDetails);
  const lineRoom = new Map<DirectorPlan, number>();
  const byNeed = detailed
    .map((d) => ({ d, overhead: directorBlock({ ...d, changes: [] }, 0).length + FENCE, full: directorBlock(d, Infinity).length }))
    .sort((a, b) => a.full - b.full);
  let left = room;
  let skipped = 0;
  for (const [i, s] of byNeed.entries()) {
    const share = Math.floor(left / (byNeed.length - i));
    if (s.full <= share) {
      lineRoom.set(s.d, Infinity);
      left -= s.full;
    } else if (s.overhead <= share) {
      lineRoom.set(s.d, share - s.overhead);
      left -= share;
    } else skipped += 1;
  }
  const blocks = detailed.filter((d) => lineRoom.has(d)).map((d) => directorBlock(d, lineRoom.get(d)!));
  if (skipped) blocks.push(`_Details of ${skipped} more director(s) not shown (the comment has a size limit); \`lvsform show PLANFILE\` prints them all._`, '');

  const text = [...head, ...table, ...blocks, ...markdownRealServers(plan.realServers)];
  const diagram = diagramBlock(plan, limit - [...text, ...footer].join('\n').length - 1);
  return [...text, ...(diagram ? [diagram] : []), ...footer].join('\n');
}

/** Diagrams with more nodes than this are folded under `<details>`. */
export const DIAGRAM_FOLD_NODES = 30;
/** Mermaid's own limits (`maxEdges`, `maxTextSize`): a larger diagram is drawn as an error, so none is written. */
const MERMAID_MAX_EDGES = 500;
const MERMAID_MAX_TEXT = 50_000;

/**
 * The Mermaid diagram of what the plan changes, in at most `room` characters: undefined when nothing changes or
 * there is no room (a short note instead when one fits), folded under `<details>` over `DIAGRAM_FOLD_NODES` nodes.
 */
function diagramBlock(plan: Plan, room: number): string | undefined {
  const note = '_No diagram of the changes: too large for the comment; `lvsform graph --plan PLANFILE` draws it._\n';
  // Each change is at least one node with an edge above it: a plan with more changes cannot be drawn, and is not built.
  const changes = plan.directors.reduce((a, d) => a + (d.error ? 0 : d.changes.length), 0);
  if (changes === 0) return undefined;
  if (changes > MERMAID_MAX_EDGES) return note.length <= room ? note : undefined;
  const graph = changedPart(planGraph(plan));
  if (!graph.nodes.some((n) => n.state !== 'unchanged')) return undefined;
  const mermaid = renderMermaid(graph);
  const drawable = graph.edges.length <= MERMAID_MAX_EDGES && mermaid.length <= MERMAID_MAX_TEXT;
  const fence = ['```mermaid', mermaid.trimEnd(), '```'].join('\n');
  const nodes = graph.nodes.length;
  const block =
    nodes > DIAGRAM_FOLD_NODES
      ? ['<details><summary>Diagram of the changes (' + nodes + ' nodes)</summary>', '', fence, '', '</details>', ''].join('\n')
      : ['**Diagram of the changes**', '', fence, ''].join('\n');
  if (drawable && block.length <= room) return block;
  return note.length <= room ? note : undefined;
}
