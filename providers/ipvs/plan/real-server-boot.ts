/**
 * A real server's preparation at boot: the kernel forgets addresses, tunnel devices, fou ports, routes and sysctls at
 * reboot, so lvsform writes them where the distribution brings them back, as it does for the director's settings
 * (settings-boot.ts):
 * - the ARP and rp_filter values into `/etc/sysctl.d/90-lvsform-<stack>-real-server.conf` (systemd-sysctl);
 * - a oneshot unit `/etc/systemd/system/lvsform-<stack>-real-server.service`, enabled for multi-user.target, that once
 *   the network is up loads the tunnel modules, brings the devices up, opens the fou ports, puts back the VIPs on lo
 *   (`ip addr replace`: idempotent), the managed default routes, and the sysctls again (a tunnel device's rp_filter
 *   exists only once its module is loaded, after systemd-sysctl ran).
 * Only what the record says lvsform owns is written. Both files go, and the unit is disabled, when nothing is owned.
 */
import { addressExec, oneshotUnit } from './settings-boot.ts';
import type { HostFacts, SetupItem } from '../model/host-setup.ts';
import { type RealServerRecordPrep, TUNNEL_DEVICES, type TunnelDevice } from '../model/real-server.ts';
import { fileItem } from './host-setup.ts';

export function realServerUnitName(stack: string): string {
  return `lvsform-${stack}-real-server.service`;
}

export function realServerBootPaths(stack: string): { unit: string; wants: string; sysctl: string } {
  return {
    unit: `/etc/systemd/system/${realServerUnitName(stack)}`,
    wants: `/etc/systemd/system/multi-user.target.wants/${realServerUnitName(stack)}`,
    sysctl: `/etc/sysctl.d/90-lvsform-${stack}-real-server.conf`,
  };
}

function sorted<T>(a: readonly T[], key: (x: T) => string): T[] {
  return [...a].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
}

/** `net.ipv4.conf.all.arp_ignore = 1` lines, or undefined when no sysctl is owned. */
export function realServerSysctlFile(stack: string, record: RealServerRecordPrep | undefined): string | undefined {
  const entries = sorted(Object.entries(record?.sysctls ?? {}), ([k]) => k);
  if (entries.length === 0) return undefined;
  return [`# Written by lvsform (stack ${stack}): the real server's ARP and rp_filter settings.`, ...entries.map(([k, v]) => `${k} = ${v.value}`), ''].join(
    '\n',
  );
}

/** The unit's text, or undefined when nothing owned needs a step at boot. */
export function realServerUnit(stack: string, record: RealServerRecordPrep | undefined): string | undefined {
  const tunnels = sorted(record?.tunnels ?? [], String) as TunnelDevice[];
  const fou = sorted(record?.fou ?? [], (f) => `${f.port} ${f.family}`);
  const addresses = sorted(record?.addresses ?? [], (a) => a.address);
  const routes = sorted(Object.entries(record?.routes ?? {}), ([f]) => f).filter(([, r]) => r?.value);
  const sysctls = sorted(Object.entries(record?.sysctls ?? {}), ([k]) => k);
  if (tunnels.length + fou.length + addresses.length + routes.length + sysctls.length === 0) return undefined;
  const modules = [
    ...new Set([
      ...tunnels.map((t) => TUNNEL_DEVICES[t]?.module).filter((m): m is (typeof TUNNEL_DEVICES)[TunnelDevice]['module'] => m !== undefined),
      ...fou.map((f) => (f.family === 'inet6' ? 'fou6' : 'fou')),
    ]),
  ].sort();
  const exec: string[] = [];
  if (modules.length > 0) exec.push(`ExecStart=modprobe -a ${modules.join(' ')}`);
  for (const t of tunnels) exec.push(`ExecStart=ip link set ${t} up`);
  // `-` : a port already open (a second start of the unit) is not a failure.
  for (const f of fou) exec.push(`ExecStart=-ip fou add port ${f.port} gue${f.family === 'inet6' ? ' -6' : ''}`);
  for (const a of addresses) exec.push(addressExec(a));
  for (const [family, r] of routes) exec.push(`ExecStart=ip ${family === 'inet6' ? '-6' : '-4'} route replace default via ${r!.value}`);
  if (sysctls.length > 0) exec.push(`ExecStart=sysctl -q -w ${sysctls.map(([k, v]) => `${k}=${v.value}`).join(' ')}`);
  return oneshotUnit({
    what: "the real server's preparation",
    description: `lvsform real-server preparation (stack ${stack})`,
    stack,
    order: ['After=network-online.target systemd-modules-load.service systemd-sysctl.service'],
    exec,
  });
}

/** The set-up items that make the boot files match the record (none when they already do). */
export function realServerBootItems(stack: string, facts: Pick<HostFacts, 'files'>, record: RealServerRecordPrep | undefined): SetupItem[] {
  const paths = realServerBootPaths(stack);
  const unit = realServerUnit(stack, record);
  const items: SetupItem[] = [];
  const sysctl = fileItem(paths.sysctl, facts.files[paths.sysctl], realServerSysctlFile(stack, record), 'the ARP and rp_filter settings at boot');
  const unitFile = fileItem(paths.unit, facts.files[paths.unit], unit, 'puts back the VIPs, tunnels, fou ports, default routes and sysctls at boot');
  const enabled = (facts.files[paths.wants] ?? null) !== null;
  if (sysctl) items.push(sysctl);
  if (unit !== undefined) {
    if (unitFile) items.push(unitFile);
    if (!enabled)
      items.push({
        kind: 'boot-service',
        action: 'update',
        name: realServerUnitName(stack),
        before: 'disabled',
        after: 'enabled',
        via: 'systemd',
        detail: 'runs at boot',
      });
  } else {
    if (enabled)
      items.push({
        kind: 'boot-service',
        action: 'delete',
        name: realServerUnitName(stack),
        before: 'enabled',
        after: 'disabled',
        via: 'systemd',
        detail: 'nothing to put back',
      });
    if (unitFile) items.push(unitFile);
  }
  return items;
}
