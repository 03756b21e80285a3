/**
 * `lvsform doctor`: the first steps of every LVS install, checked on each director over the same transport an apply
 * uses, as a checklist with a fix for each failure. One chunk gathers every fact as `key=value` lines; the checks
 * are pure functions of those facts and of the services the app declares.
 */
import { requiredModules } from '../model/limits.ts';
import type { Table } from '../model/model.ts';
import { SCHEDULERS } from '../model/limits.ts';
import { describeCapabilities, missingCapabilities, type Capabilities } from '../host/capabilities.ts';
import { STATE_DIR } from '../host/host-script.ts';

export type CheckStatus = 'ok' | 'fail' | 'warn' | 'info';

export interface Check {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** What to run or change when the check fails. */
  readonly fix?: string;
  /** A failure that would make an apply fail. */
  readonly blocking: boolean;
}

/** Kernel modules a table needs on the director (the same list host set-up loads at boot). */
export const modulesNeeded = requiredModules;

export interface DoctorInput {
  readonly facts: ReadonlyMap<string, string>;
  readonly table: Table;
  /** What the director can do (read in the same session); listed, and held against what the table asks for. */
  readonly capabilities?: Capabilities;
  /** serviceId → construct path, to name the service that asks for a missing feature. */
  readonly paths?: ReadonlyMap<string, string>;
}

/** Turns the facts into the checklist. */
export function evaluate({ facts, table, capabilities, paths }: DoctorInput): Check[] {
  const checks: Check[] = [];
  const kernel = facts.get('kernel') ?? '?';
  const loaded = facts.get('ipvs_loaded') === 'yes';
  const builtin = facts.get('ipvs_builtin') === 'yes';
  const modState = facts.get('module_ip_vs');
  if (loaded)
    checks.push({ name: 'IPVS in the kernel', status: 'ok', detail: `kernel ${kernel}: IPVS is loaded${builtin ? ' (built in)' : ''}`, blocking: false });
  else if (builtin || modState === 'available') {
    checks.push({
      name: 'IPVS in the kernel',
      status: 'warn',
      detail: `kernel ${kernel}: IPVS is available but not loaded`,
      fix: 'modprobe ip_vs (ipvsadm loads it on first use)',
      blocking: false,
    });
  } else {
    checks.push({
      name: 'IPVS in the kernel',
      status: 'fail',
      detail: `kernel ${kernel}: no IPVS (not built in, no ip_vs module under /lib/modules/${kernel})`,
      fix: 'Boot a kernel with CONFIG_IP_VS (built in or as modules), e.g. the distribution kernel.',
      blocking: true,
    });
  }

  const path = facts.get('ipvsadm_path') ?? '';
  if (!path) {
    checks.push({
      name: 'ipvsadm',
      status: 'fail',
      detail: 'ipvsadm is not installed',
      fix: 'apt-get install ipvsadm (Debian/Ubuntu) or dnf install ipvsadm (RHEL-likes)',
      blocking: true,
    });
  } else {
    const header = facts.get('ipvsadm_header') ?? '';
    const works = /^IP Virtual Server version \d+\.\d+\.\d+ \(size=\d+\)/.test(header);
    checks.push({
      name: 'ipvsadm',
      status: works ? 'ok' : 'fail',
      detail: `${facts.get('ipvsadm_version') ?? path}; ${works ? header : `ipvsadm -L -n says: ${header || '(nothing)'}`}`,
      ...(works ? {} : { fix: 'Load IPVS (modprobe ip_vs) and check that ipvsadm -L -n prints the IPVS version.' }),
      blocking: !works,
    });
  }

  if (facts.get('root') !== 'yes') {
    checks.push({
      name: 'privileges',
      status: 'fail',
      detail: 'lvsform does not run as root on this director',
      fix: "Connect as root, or as a user with the Director's ssh: { user, sudo: true } and the sudoers rule `<user> ALL=(root) NOPASSWD: /bin/sh -s` (ipvsadm needs CAP_NET_ADMIN).",
      blocking: true,
    });
  }
  if (facts.get('flock') !== 'yes') {
    checks.push({ name: 'flock', status: 'fail', detail: 'no flock command: lvsform cannot lock the director', fix: 'Install util-linux.', blocking: true });
  }
  const stateMode = facts.get('state_dir_mode');
  if (stateMode !== undefined && stateMode !== 'absent') {
    // lvsform makes /var/lib/lvsform 0700 when it makes it and does not chmod it on every run: a directory someone
    // else made, or opened since, shows the ownership records and the lock holder to other users.
    const open = !/^[0-7]*00$/.test(stateMode);
    checks.push({
      name: 'state directory',
      status: open ? 'warn' : 'ok',
      detail: `${STATE_DIR} has mode ${stateMode || '?'}${open ? ': other users can read the ownership records and the lock holder' : ''}`,
      ...(open ? { fix: `chmod 700 ${STATE_DIR}` } : {}),
      blocking: false,
    });
  }

  const nat4 = table.services.some((s) => s.destinations.some((d) => d.forwarding.method === 'masq' && !d.address.includes(':')));
  const nat6 = table.services.some((s) => s.destinations.some((d) => d.forwarding.method === 'masq' && d.address.includes(':')));
  if (nat4) {
    const on = facts.get('ip_forward') === '1';
    checks.push({
      name: 'IPv4 forwarding (NAT)',
      status: on ? 'ok' : 'fail',
      detail: `net.ipv4.ip_forward = ${facts.get('ip_forward') || '?'}${on ? '' : ': NAT replies from the real servers will not be forwarded'}`,
      ...(on ? {} : { fix: 'sysctl -w net.ipv4.ip_forward=1, and set it in /etc/sysctl.d/ to survive a reboot' }),
      blocking: !on,
    });
  }
  if (nat6) {
    const on = facts.get('ipv6_forwarding') === '1';
    checks.push({
      name: 'IPv6 forwarding (NAT)',
      status: on ? 'ok' : 'fail',
      detail: `net.ipv6.conf.all.forwarding = ${facts.get('ipv6_forwarding') || '?'}`,
      ...(on ? {} : { fix: 'sysctl -w net.ipv6.conf.all.forwarding=1, and set it in /etc/sysctl.d/' }),
      blocking: !on,
    });
  }
  if (table.services.some((s) => s.destinations.some((d) => d.forwarding.method === 'droute'))) {
    checks.push({
      name: 'direct routing',
      status: 'info',
      detail: 'real servers must hold the VIP on a non-ARP interface (e.g. lo) with net.ipv4.conf.all.arp_ignore=1 and arp_announce=2',
      blocking: false,
    });
  }
  if (table.services.some((s) => s.destinations.some((d) => d.forwarding.method === 'tunnel'))) {
    checks.push({
      name: 'tunnelling',
      status: 'info',
      detail: 'real servers must decapsulate (ipip: tunl0 up with the VIP; GUE: ip fou add port N ipproto 4; GRE: gre0) and have rp_filter off on the tunnel',
      blocking: false,
    });
  }
  if (capabilities) {
    checks.push({ name: 'capabilities', status: 'info', detail: describeCapabilities(capabilities), blocking: false });
    // Module gaps have their own checks below; the rest (ipvsadm's options, the kernel release) are listed here.
    for (const m of missingCapabilities(table, paths ?? new Map(), capabilities).filter((x) => !x.missing.startsWith('module '))) {
      checks.push({
        name: `feature ${m.feature}`,
        status: 'fail',
        detail: `${m.path}: ${m.missing}`,
        fix: 'Upgrade ipvsadm or the kernel, or change the service to what this director can do.',
        blocking: true,
      });
    }
  }
  for (const mod of modulesNeeded(table)) {
    if (mod === 'ip_vs') continue;
    const state = facts.get(`module_${mod}`);
    const name = mod.replace(/^ip_vs_(pe_)?/, '');
    const known = SCHEDULERS.includes(name) || mod.startsWith('ip_vs_pe_');
    const ok = state === 'loaded' || state === 'builtin' || state === 'available';
    const why =
      state === 'unreadable'
        ? `module ${mod} is listed in modules.dep but its file is missing or empty`
        : state === 'disabled'
          ? `module ${mod} is disabled by an install rule in /etc/modprobe.d`
          : `module ${mod} is missing`;
    const fix =
      state === 'disabled'
        ? `Remove the "install ${mod} ..." line from /etc/modprobe.d, or choose another scheduler.`
        : `Install the kernel modules package that has ${mod}.ko for kernel ${kernel} (then depmod -a), or choose another scheduler.`;
    checks.push({
      name: `module ${mod}`,
      status: ok ? 'ok' : 'fail',
      detail: ok ? `${state}` : `${known ? '' : 'unknown scheduler; '}${why}: services using it will be rejected by the kernel`,
      ...(ok ? {} : { fix }),
      blocking: !ok,
    });
  }
  return checks;
}
