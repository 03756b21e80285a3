/**
 * Director settings that survive a reboot (with the Director's `setup`): the kernel forgets addresses, `ipvsadm --set`
 * timeouts and sysctls at boot, so the set-up writes them where a distribution brings them back:
 * - the `net.ipv4.vs.*` values into the stack's `/etc/sysctl.d/90-lvsform-<stack>.conf` (beside forwarding), which
 *   systemd-sysctl applies after systemd-modules-load has loaded ip_vs (the modules file of the same set-up);
 * - a oneshot systemd unit, `/etc/systemd/system/lvsform-<stack>.service`, enabled for multi-user.target, that after the
 *   network is up loads ip_vs, creates lvsform's dummy interface, puts back the addresses lvsform added
 *   (`ip addr replace`: idempotent), sets the timeouts (`ipvsadm --set`; 0 leaves one as it is) and the sysctls
 *   again (for a boot whose sysctl pass ran before ip_vs was loaded), and starts the connection sync daemons lvsform
 *   started (`ipvsadm --start-daemon`), before keepalived, so that a director coming back as backup takes in the
 *   master's connections from the start.
 * Only what the ownership record says lvsform owns is written: an address someone else put there is theirs to keep.
 * Commands are named without a path: systemd (239 and later) finds them in /usr/sbin, /usr/bin (and /sbin, /bin).
 */
import { addressLabel, type SettingsRecord } from '../model/director-settings.ts';

export function bootUnitName(stack: string): string {
  return `lvsform-${stack}.service`;
}

export function bootUnitPath(stack: string): string {
  return `/etc/systemd/system/${bootUnitName(stack)}`;
}

/** The symlink `systemctl enable` makes: its presence is the unit's "enabled". */
export function bootUnitWantsPath(stack: string): string {
  return `/etc/systemd/system/multi-user.target.wants/${bootUnitName(stack)}`;
}

/** `net.ipv4.vs.conntrack = 1` lines for the sysctl file, sorted. */
export function settingsSysctlLines(record: SettingsRecord | undefined): string[] {
  return Object.entries(record?.sysctls ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `net.ipv4.vs.${k} = ${v.value}`);
}

/** The unit's text, or undefined when nothing owned needs a step at boot. */
export function bootUnitContent(stack: string, record: SettingsRecord | undefined): string | undefined {
  const links = record?.links ?? [];
  const addresses = record?.addresses ?? [];
  const t = record?.timeouts?.value;
  const sysctls = Object.entries(record?.sysctls ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const daemons = record?.daemons ?? [];
  if (links.length === 0 && addresses.length === 0 && t === undefined && sysctls.length === 0 && daemons.length === 0) return undefined;
  const exec: string[] = ['ExecStart=modprobe ip_vs'];
  for (const l of links) exec.push(`ExecStart=-ip link add ${l} type dummy`, `ExecStart=ip link set ${l} up`);
  for (const a of addresses) exec.push(addressExec(a));
  if (t !== undefined) exec.push(`ExecStart=ipvsadm --set ${t.tcp ?? 0} ${t.tcpfin ?? 0} ${t.udp ?? 0}`);
  if (sysctls.length > 0) exec.push(`ExecStart=sysctl -q -w ${sysctls.map(([k, v]) => `net.ipv4.vs.${k}=${v.value}`).join(' ')}`);
  for (const d of daemons) exec.push(`ExecStart=ipvsadm --start-daemon ${d.role} --mcast-interface ${d.interface} --syncid ${d.syncId}`);
  return oneshotUnit({
    what: 'the director settings',
    description: `lvsform director settings (stack ${stack})`,
    stack,
    order: ['After=network-online.target systemd-modules-load.service ipvsadm.service', 'Before=keepalived.service'],
    exec,
  });
}

/** The `ExecStart` that puts an address back at boot: an IPv4 one with lvsform's label, an IPv6 one without DAD. */
export function addressExec(a: { readonly address: string; readonly prefix: number; readonly device: string }): string {
  const label = a.address.includes(':') ? undefined : addressLabel(a.device);
  return `ExecStart=ip addr replace ${a.address}/${a.prefix} dev ${a.device}${a.address.includes(':') ? ' nodad' : label ? ` label ${label}` : ''}`;
}

/** A oneshot unit that runs `exec` once the network is up and stays active, wanted by multi-user.target. */
export function oneshotUnit(u: {
  readonly what: string;
  readonly description: string;
  readonly stack: string;
  readonly order: readonly string[];
  readonly exec: readonly string[];
}): string {
  return [
    `# Written by lvsform (stack ${u.stack}): ${u.what} the kernel forgets at reboot.`,
    '[Unit]',
    `Description=${u.description}`,
    'Wants=network-online.target',
    ...u.order,
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    ...u.exec,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
