/**
 * `lvsform doctor` on a pair member (model/director-pair.ts): pure checks of the sync daemons and keepalived against
 * the app and the ownership record, from the settings part of `doctor-facts` (the same read the plan makes).
 *
 * - Each sync daemon the app asks for: running as asked; running with another interface or sync id (a plan fails when
 *   lvsform did not start it); stopped outside lvsform (the record says it started it); not started yet.
 * - keepalived: installed (a plan fails without it), running (the VIPs move only while it runs), lvsform's file as
 *   the app asks, and read by keepalived (keepalived.conf lvsform's own, or including lvsform's files).
 */
import { daemonText, KEEPALIVED_INCLUDE, KEEPALIVED_MAIN, keepalivedDigest, keepalivedPath, sameDaemon, syncDaemonsOf } from '../model/director-pair.ts';
import type { DirectorSettingsSpec } from '../model/director-settings.ts';
import { keepalivedContent } from '../plan/keepalived-conf.ts';
import type { DoctorSettingsFacts } from '../host/requests/doctor-facts.ts';
import type { Check } from './doctor.ts';

const APPLY = 'lvsform apply';

function daemonChecks(spec: DirectorSettingsSpec, facts: DoctorSettingsFacts): Check[] {
  const running = facts.live.daemons ?? [];
  return syncDaemonsOf(spec.syncDaemon).map((want): Check => {
    const name = `${want.role} sync daemon`;
    const now = running.find((d) => d.role === want.role);
    const mine = facts.record?.daemons?.find((d) => d.role === want.role);
    if (now && sameDaemon(now, want)) return { name, status: 'ok', detail: `${daemonText(now)}${mine ? ' (started by lvsform)' : ''}`, blocking: false };
    if (now && !(mine && sameDaemon(mine, now))) {
      return {
        name,
        status: 'fail',
        detail: `a ${daemonText(now)} runs that lvsform did not start, not the ${daemonText(want)} the app asks for: a plan fails on this director`,
        fix: `ipvsadm --stop-daemon ${want.role} (or remove keepalived's lvs_sync_daemon), then ${APPLY}`,
        blocking: true,
      };
    }
    if (now) return { name, status: 'warn', detail: `${daemonText(now)}, not the ${daemonText(want)} asked yet`, fix: `${APPLY} restarts it`, blocking: false };
    if (mine) {
      return {
        name,
        status: 'fail',
        detail: 'not running: lvsform started it (the ownership record), and it was stopped outside lvsform; connections are not synchronised',
        fix: `${APPLY} starts it again`,
        blocking: false,
      };
    }
    return { name, status: 'warn', detail: 'not started yet', fix: `${APPLY} starts it`, blocking: false };
  });
}

function keepalivedChecks(spec: DirectorSettingsSpec, facts: DoctorSettingsFacts): Check[] {
  const v = spec.vrrp;
  const k = facts.live.keepalived;
  if (v === undefined || k === undefined) return [];
  if (!k.installed) {
    return [
      {
        name: 'keepalived',
        status: 'fail',
        detail: "not installed: the pair's VIPs move only through keepalived's VRRP, and a plan fails on this director",
        fix: 'apt-get install keepalived (or setup: { installKeepalived: true })',
        blocking: true,
      },
    ];
  }
  const path = keepalivedPath(v.instance);
  const want = keepalivedDigest(keepalivedContent(v));
  const checks: Check[] = [];
  if (k.digest === want)
    checks.push({ name: 'keepalived file', status: 'ok', detail: `${path}: vrrp_instance ${v.instance}, priority ${v.priority}`, blocking: false });
  else {
    const drifted = facts.record?.keepalived?.path === path && k.digest !== undefined && k.digest !== facts.record.keepalived.digest;
    checks.push({
      name: 'keepalived file',
      status: drifted ? 'fail' : 'warn',
      detail: k.digest === undefined ? `${path} is missing` : drifted ? `${path} was changed outside lvsform` : `${path} is not what the app asks yet`,
      fix: `${APPLY} writes it`,
      blocking: false,
    });
  }
  if (k.main === 'foreign') {
    checks.push({
      name: 'keepalived.conf',
      status: 'fail',
      detail: `${KEEPALIVED_MAIN} is not lvsform's and does not include lvsform's files: keepalived never reads the pair's VRRP instance`,
      fix: `Add the line \`${KEEPALIVED_INCLUDE}\` to ${KEEPALIVED_MAIN}, then ${APPLY}`,
      blocking: false,
    });
  } else if (k.main !== 'absent') {
    checks.push({
      name: 'keepalived.conf',
      status: 'ok',
      detail: k.main === 'lvsform' ? "lvsform's (it includes lvsform-*.conf)" : "includes lvsform's files",
      blocking: false,
    });
  }
  checks.push(
    k.running
      ? { name: 'keepalived running', status: 'ok', detail: 'active', blocking: false }
      : {
          name: 'keepalived running',
          status: 'fail',
          detail: "not running: the pair's VIPs do not move to this director, nor away from it",
          fix: 'systemctl enable --now keepalived',
          blocking: false,
        },
  );
  return checks;
}

/** The pair's checks: sync daemons, then keepalived. Empty for a director in no pair. */
export function evaluatePair(spec: DirectorSettingsSpec, facts: DoctorSettingsFacts): Check[] {
  return [...daemonChecks(spec, facts), ...keepalivedChecks(spec, facts)];
}
