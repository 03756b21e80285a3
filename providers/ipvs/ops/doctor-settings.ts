/**
 * `lvsform doctor` on a director whose app manages its settings (model/director-settings.ts): pure checks of what the
 * director reported (`doctor-facts`' settings part, and the boot files read by `facts`) against the app and the stack's
 * ownership record.
 *
 * - Each VIP of the director's address services: on an interface, or routed here (`ip route get` says `local`, as a
 *   `local` route for an anycast range does), else IPVS never sees its traffic on this director.
 * - Each managed sysctl and timeout: as the app asks, or drifted from what the record says lvsform set (changed by
 *   hand: the next apply sets it again), or not applied yet.
 * - With `setup`: the boot unit and the sysctl.d file that bring the owned settings back at boot, present, enabled and
 *   equal to what the record asks for. Without it: a warning that the settings do not survive a reboot.
 *
 * None of these blocks an apply (an apply is what puts them right), except a sysctl the kernel lacks, which fails the
 * plan (`LVS_DIRECTOR_SETTING`).
 */
import { CONN_REUSE_AUTO, type DirectorSettingsSpec, IPVS_SYSCTLS, type IpvsSysctl, TIMEOUT_FIELDS, vipDevice } from '../model/director-settings.ts';
import { sysctlFile, type HostSetupSpec } from '../model/host-setup.ts';
import type { Table } from '../model/model.ts';
import { connReuseAuto } from '../plan/settings.ts';
import { bootUnitContent, bootUnitPath, bootUnitWantsPath, settingsSysctlLines } from '../plan/settings-boot.ts';
import type { DoctorSettingsFacts } from '../host/requests/doctor-facts.ts';
import type { Check } from './doctor.ts';
import { evaluatePair } from './doctor-pair.ts';

export interface DoctorSettingsInput {
  readonly stack: string;
  readonly spec: DirectorSettingsSpec;
  readonly table: Table;
  /** The Director's `setup`, when the app asks for one. */
  readonly setup?: HostSetupSpec;
  readonly facts: DoctorSettingsFacts;
  /** The boot files (`facts` request): path → content, or null when missing. Absent without `setup`. */
  readonly files?: Readonly<Record<string, string | null>>;
}

const APPLY = 'lvsform apply';

/** The VIPs of the director's address services, each once, sorted. */
export function doctorVips(table: Table): string[] {
  return [...new Set(table.services.flatMap((s) => (s.key.kind === 'addr' ? [s.key.address] : [])))].sort();
}

function vipChecks(input: DoctorSettingsInput): Check[] {
  const { spec, facts } = input;
  const owned = facts.record?.addresses ?? [];
  const checks: Check[] = [];
  for (const vip of doctorVips(input.table)) {
    const on = (facts.live.addresses ?? []).find((a) => a.address === vip);
    const route = facts.routes.get(vip) ?? '';
    const name = `VIP ${vip}`;
    if (on) {
      checks.push({ name, status: 'ok', detail: `on ${on.device}${owned.some((o) => o.address === vip) ? ' (added by lvsform)' : ''}`, blocking: false });
    } else if (/^local\s/.test(route)) {
      checks.push({ name, status: 'ok', detail: `routed here: ${route}`, blocking: false });
    } else if (spec.vips && owned.some((o) => o.address === vip)) {
      checks.push({
        name,
        status: 'fail',
        detail: `neither local nor routed here (ip route get: ${route || 'nothing'}): lvsform added it, and it was removed outside lvsform; its services get no traffic here`,
        fix: `${APPLY} puts it back on ${vipDevice(spec.vips)}`,
        blocking: false,
      });
    } else if (spec.vips) {
      checks.push({
        name,
        status: 'warn',
        detail: `neither local nor routed here (ip route get: ${route || 'nothing'}): not added yet`,
        fix: `${APPLY} adds it to ${vipDevice(spec.vips)}`,
        blocking: false,
      });
    } else {
      checks.push({
        name,
        status: 'warn',
        detail: `neither local nor routed here (ip route get: ${route || 'nothing'}): IPVS on this director sees no traffic to it (right on a VRRP backup, until it takes over)`,
        fix: 'Add it to an interface (vips: { interface } or keepalived), or route it here (a local route or a dummy interface: vips: { dummy })',
        blocking: false,
      });
    }
  }
  return checks;
}

function sysctlChecks(input: DoctorSettingsInput): Check[] {
  const { facts } = input;
  const checks: Check[] = [];
  for (const [key, asked] of Object.entries(input.spec.sysctls ?? {})) {
    const name = `sysctl net.ipv4.vs.${key}`;
    const current = facts.live.sysctls?.[key];
    if (current === undefined) {
      const since = IPVS_SYSCTLS[key as IpvsSysctl]?.since ?? '?';
      checks.push({
        name,
        status: 'fail',
        detail: `kernel ${facts.live.kernel || 'unknown'} has no such sysctl (Linux ${since} and later): a plan fails on this director`,
        fix: 'Leave that sysctl out of this Director, or run a kernel that has it.',
        blocking: true,
      });
      continue;
    }
    const want = asked === CONN_REUSE_AUTO ? connReuseAuto(facts.live.kernel) : asked;
    if (want === undefined) {
      checks.push({ name, status: 'ok', detail: `${current} (auto: kernel ${facts.live.kernel} needs no change)`, blocking: false });
      continue;
    }
    checks.push(valueCheck(name, current, String(want), facts.record?.sysctls?.[key]?.value));
  }
  return checks;
}

/** One managed value: as asked, drifted from what lvsform set (the record), or not set yet. */
function valueCheck(name: string, current: string, want: string, recorded: string | undefined): Check {
  if (current === want) return { name, status: 'ok', detail: current, blocking: false };
  if (recorded === want) {
    return {
      name,
      status: 'fail',
      detail: `${current}, drifted: lvsform set ${want} (the ownership record), and it was changed outside lvsform`,
      fix: `${APPLY} sets ${want} again`,
      blocking: false,
    };
  }
  return { name, status: 'warn', detail: `${current}, not ${want} yet`, fix: `${APPLY} sets ${want}`, blocking: false };
}

function timeoutChecks(input: DoctorSettingsInput): Check[] {
  const want = input.spec.timeouts;
  if (want === undefined) return [];
  const live = input.facts.live.timeouts;
  if (live === undefined) {
    return [
      { name: 'IPVS timeouts', status: 'fail', detail: 'ipvsadm -L --timeout printed no timeouts', fix: 'Install ipvsadm (see above).', blocking: false },
    ];
  }
  return TIMEOUT_FIELDS.flatMap((f) => {
    const w = want[f];
    return w === undefined ? [] : [valueCheck(`timeout ${f}`, String(live[f]), String(w), input.facts.record?.timeouts?.value[f]?.toString())];
  });
}

function bootChecks(input: DoctorSettingsInput): Check[] {
  const { stack, facts, files } = input;
  if (!input.setup || !files) {
    return [
      {
        name: 'settings at boot',
        status: 'warn',
        detail: 'the Director has no setup: the kernel forgets addresses, timeouts and sysctls at reboot',
        fix: 'Add setup: {} to the Director: the apply writes a boot unit and a sysctl.d file that bring them back.',
        blocking: false,
      },
    ];
  }
  const checks: Check[] = [];
  const unit = bootUnitContent(stack, facts.record);
  const unitPath = bootUnitPath(stack);
  if (unit !== undefined) {
    const now = files[unitPath] ?? null;
    const enabled = (files[bootUnitWantsPath(stack)] ?? null) !== null;
    if (now === null) {
      checks.push({
        name: 'boot unit',
        status: 'fail',
        detail: `${unitPath} is missing: what lvsform set is lost at reboot`,
        fix: `${APPLY} writes it`,
        blocking: false,
      });
    } else if (now !== unit) {
      checks.push({
        name: 'boot unit',
        status: 'fail',
        detail: `${unitPath} does not bring back what the ownership record says lvsform owns (changed by hand, or written before the last change)`,
        fix: `${APPLY} writes it again`,
        blocking: false,
      });
    } else if (!enabled) {
      checks.push({
        name: 'boot unit',
        status: 'fail',
        detail: `${unitPath} is not enabled (no ${bootUnitWantsPath(stack)}): it does not run at boot`,
        fix: `systemctl enable ${unitPath.split('/').pop()}, or ${APPLY}`,
        blocking: false,
      });
    } else checks.push({ name: 'boot unit', status: 'ok', detail: `${unitPath}, enabled for multi-user.target`, blocking: false });
  }
  const lines = settingsSysctlLines(facts.record);
  if (lines.length > 0) {
    const path = sysctlFile(stack);
    const text = files[path] ?? null;
    const missing = lines.filter((l) => !(text ?? '').split('\n').includes(l));
    checks.push(
      missing.length === 0
        ? { name: 'sysctl file', status: 'ok', detail: `${path} sets ${lines.length} IPVS sysctl(s) at boot`, blocking: false }
        : {
            name: 'sysctl file',
            status: 'fail',
            detail: `${path} ${text === null ? 'is missing' : `lacks ${missing.join(', ')}`}: those sysctls are lost at reboot`,
            fix: `${APPLY} writes it`,
            blocking: false,
          },
    );
  }
  return checks;
}

/** The settings checks, in the order an operator reads them: VIPs, sysctls, timeouts, a pair's daemons and keepalived, boot. */
export function evaluateSettings(input: DoctorSettingsInput): Check[] {
  return [...vipChecks(input), ...sysctlChecks(input), ...timeoutChecks(input), ...evaluatePair(input.spec, input.facts), ...bootChecks(input)];
}
