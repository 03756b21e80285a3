/**
 * The documented JSON rendering of a plan (`lvsform plan --json`, `show --json`), `format_version` 1.
 * See docs/plan-json.md. Additive changes keep the version; anything else bumps it.
 */
import { countChanges, type Plan } from '../plan/plan.ts';
import { describeTarget } from '../model/host-target.ts';
import { settingText } from '../model/director-settings.ts';
import { realServerChangeText, routeCheckText } from '../model/real-server.ts';

export const PLAN_JSON_FORMAT = 1;

/** One error of a run, as `--json` prints it at the top level: the director it is about, and the error. */
export interface JsonRunError {
  readonly director: string;
  readonly code: string;
  readonly message: string;
  readonly hint: string | null;
}

/**
 * What keeps a plan from being applied as a whole: each director that could not be planned, and each director whose
 * declared services exist but are not owned (exit status 1 in both cases).
 */
export function planErrors(plan: Plan): JsonRunError[] {
  return plan.directors
    .flatMap((d): JsonRunError[] => {
      if (d.error) return [{ director: d.director, code: d.error.code, message: d.error.message, hint: d.error.hint ?? null }];
      if (d.conflicts.length === 0) return [];
      const message = `director ${describeTarget(d.target)}: declared service(s) exist but are not owned by stack ${plan.stack}: ${d.conflicts.join(', ')}`;
      return [{ director: d.director, code: 'LVS_NOT_OWNED', message, hint: 'Run with --adopt to take them over.' }];
    })
    .concat(
      (plan.realServers ?? []).flatMap((r): JsonRunError[] =>
        r.error ? [{ director: r.host, code: r.error.code, message: r.error.message, hint: r.error.hint ?? null }] : [],
      ),
    );
}

export function planToJson(plan: Plan) {
  const total = { add: 0, change: 0, destroy: 0 };
  const directors = plan.directors.map((d) => {
    const counts = countChanges(d.changes);
    total.add += counts.add;
    total.change += counts.change;
    total.destroy += counts.destroy;
    return {
      name: d.director,
      target: describeTarget(d.target),
      fingerprint: d.fingerprint,
      error: d.error ?? null,
      summary: counts,
      drift: d.drift,
      unmanaged: d.unmanaged,
      conflicts: d.conflicts,
      owners: d.owners ?? {},
      adopted: d.adopted,
      host_setup: (d.hostSetup ?? []).map((it) => ({
        kind: it.kind,
        action: it.action,
        name: it.name,
        before: it.before ?? null,
        after: it.after ?? null,
        detail: it.detail ?? null,
      })),
      // The VRRP password of a keepalived file stays out of the JSON (CI logs, pull-request comments).
      settings: (d.settings ?? []).map((c) => ({
        ...(c.kind === 'keepalived' && c.content !== undefined ? { ...c, content: c.content.replace(/^(\s*auth_pass\s+)\S+/m, '$1(hidden)') } : c),
        text: settingText(c).text,
      })),
      settings_drift: d.settingsDrift ?? [],
      settings_notes: d.settingsNotes ?? [],
      changes: d.changes.map((c) => ({
        action: c.action,
        kind: c.kind,
        service: c.serviceId,
        real_server: 'destinationId' in c ? (c as { destinationId: string }).destinationId : null,
        replace: Boolean((c as { replace?: boolean }).replace),
        changed_fields: c.changedFields ?? [],
        before: c.before ?? null,
        after: c.after ?? null,
      })),
    };
  });
  return {
    format_version: PLAN_JSON_FORMAT,
    stack: plan.stack,
    mode: plan.mode,
    created_at: plan.createdAt,
    // At the top, so that a reader of `has_changes` cannot miss that some directors were not planned at all.
    complete: plan.directors.every((d) => !d.error) && (plan.realServers ?? []).every((r) => !r.error),
    errors: planErrors(plan),
    summary: total,
    has_changes:
      total.add + total.change + total.destroy > 0 ||
      plan.directors.some((d) => (d.hostSetup?.length ?? 0) > 0 || (d.settings?.length ?? 0) > 0) ||
      (plan.realServers ?? []).some((r) => r.changes.length > 0 || (r.setup?.length ?? 0) > 0),
    directors,
    ...(plan.realServers
      ? {
          real_servers: plan.realServers.map((r) => ({
            name: r.host,
            target: describeTarget(r.target),
            fingerprint: r.fingerprint ?? null,
            error: r.error ?? null,
            changes: r.changes.map((c) => ({ ...c, text: realServerChangeText(c).text })),
            route_checks: r.checks.map((c) => ({
              family: c.family,
              gateway: c.gateway ?? null,
              expected: c.expected ?? null,
              ok: c.ok ?? null,
              bypass: c.bypass ?? [],
              warn: routeCheckText(c, r.changes).warn,
              text: routeCheckText(c, r.changes).text,
            })),
            boot: (r.setup ?? []).map((it) => ({ kind: it.kind, action: it.action, name: it.name, detail: it.detail ?? null })),
            drift: r.drift,
            notes: r.notes,
            backing: r.backing,
          })),
        }
      : {}),
  };
}
