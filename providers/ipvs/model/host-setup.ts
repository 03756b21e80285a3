/**
 * Director set-up that survives a reboot, as data: what the app asks for (`HostSetupSpec`), what a director reports
 * about itself (`HostFacts`), one thing the set-up will do (`SetupItem`), and where each distribution keeps what the
 * set-up writes (the boot layouts, the modules and sysctl files, the read-only script and its sudoers rule). The pure
 * plan of what to change is plan/host-setup.ts; the requests that read the facts and carry it out are
 * host/requests/facts.ts, setup.ts and save-rules.ts.
 */
import { serviceFamily, type Table } from './model.ts';

/** What the app asked for (the synthesized `setup` block of a director). */
export interface HostSetupSpec {
  readonly installIpvsadm: boolean;
  /** A pair member: install keepalived when it is missing. */
  readonly installKeepalived?: boolean;
  readonly loadModules: boolean;
  readonly ipForward: boolean;
  readonly saveRules: boolean;
}

export type PackageManager = 'apt-get' | 'dnf' | 'yum';

/** Where a distribution's ipvsadm service restores the table at boot, and what switches it on. */
export interface BootLayout {
  readonly family: 'debian' | 'rhel';
  /** The file restored at boot. */
  readonly rulesFile: string;
  /** First line written to the rules file (Debian's own `save` writes `# ipvsadm.rules`). */
  readonly header: string;
}

export const DEBIAN_LAYOUT: BootLayout = { family: 'debian', rulesFile: '/etc/ipvsadm.rules', header: '# ipvsadm.rules' };
export const RHEL_LAYOUT: BootLayout = { family: 'rhel', rulesFile: '/etc/sysconfig/ipvsadm', header: '# ipvsadm rules saved by lvsform' };
/** Debian's /etc/init.d/ipvsadm restores /etc/ipvsadm.rules at boot only when this file says AUTO="true". */
export const DEBIAN_DEFAULTS = '/etc/default/ipvsadm';
/** RHEL's ipvsadm.service restores /etc/sysconfig/ipvsadm at boot when it is enabled. */
export const RHEL_SERVICE = 'ipvsadm.service';

export const FORWARDING_SYSCTLS = { inet: 'net.ipv4.ip_forward', inet6: 'net.ipv6.conf.all.forwarding' } as const;

export function modulesFile(stack: string): string {
  return `/etc/modules-load.d/lvsform-${stack}.conf`;
}

export function sysctlFile(stack: string): string {
  return `/etc/sysctl.d/90-lvsform-${stack}.conf`;
}

/** What a director reports about itself (see `factsChunk`). */
export interface HostFacts {
  /** `/etc/os-release` as key → value (quotes removed). */
  readonly osRelease: Readonly<Record<string, string>>;
  /** Commands found on PATH among apt-get, dnf, yum, systemctl, ipvsadm. */
  readonly commands: readonly string[];
  /** Of the modules asked about, those loaded (or built in): `/sys/module/<name>` exists. */
  readonly loadedModules: readonly string[];
  /** Files asked about: content, or `null` when missing. */
  readonly files: Readonly<Record<string, string | null>>;
  /** Sysctls asked about: current value (trimmed), or `null` when the key does not exist. */
  readonly sysctls: Readonly<Record<string, string | null>>;
  /** `systemctl is-enabled ipvsadm.service`, when systemctl exists. */
  readonly rhelServiceEnabled: string | null;
}

/** One thing the host set-up will do, shown in the plan. */
export interface SetupItem {
  readonly kind: 'package' | 'module' | 'file' | 'sysctl' | 'boot-service' | 'rules';
  readonly action: 'create' | 'update' | 'delete';
  /** Package name, module name, file path, sysctl key, service name or rules file path. */
  readonly name: string;
  /** Previous value (sysctl, boot switch), when there is one. */
  readonly before?: string;
  /** The new value: the sysctl value, the whole file content, the boot switch's state. */
  readonly after?: string;
  /** One line for people: how (apt-get) or why (restored at boot by …). */
  readonly detail?: string;
  /** Package manager for `package`; `debian` | `rhel` for `boot-service` and `rules`. */
  readonly via?: string;
  /** A file's mode (octal digits); 644 when absent. */
  readonly mode?: string;
  /** A check the new file must pass before it replaces the old one: `visudo` (`visudo -cqf`) for a sudoers file. */
  readonly validate?: 'visudo';
}

/** The forwarding sysctls NAT needs: IPv4 forwarding for IPv4 NAT services, IPv6 forwarding for IPv6 ones. */
export function requiredSysctls(table: Table): string[] {
  const out = new Set<string>();
  for (const s of table.services) {
    if (s.destinations.some((d) => d.forwarding.method === 'masq')) out.add(FORWARDING_SYSCTLS[serviceFamily(s.key)]);
  }
  return [...out].sort();
}

export function modulesFileContent(stack: string, modules: readonly string[]): string {
  return `# Written by lvsform (stack ${stack}): IPVS modules its services need, loaded at boot.\n${modules.map((m) => `${m}\n`).join('')}`;
}

export function sysctlFileContent(stack: string, keys: readonly string[], ipvsLines: readonly string[] = []): string {
  if (ipvsLines.length === 0) {
    return `# Written by lvsform (stack ${stack}): forwarding its NAT services need, set at boot.\n${keys.map((k) => `${k} = 1\n`).join('')}`;
  }
  return `# Written by lvsform (stack ${stack}): forwarding its NAT services need and its IPVS sysctls, set at boot.\n${[...keys.map((k) => `${k} = 1`), ...ipvsLines].map((l) => `${l}\n`).join('')}`;
}

/** Where the table is restored at boot on this host, from /etc/os-release; undefined when lvsform does not know. */
export function bootLayout(osRelease: Readonly<Record<string, string>>): BootLayout | undefined {
  const ids = [osRelease['ID'] ?? '', ...(osRelease['ID_LIKE'] ?? '').split(/\s+/)].map((s) => s.toLowerCase()).filter(Boolean);
  if (ids.some((id) => id === 'debian' || id === 'ubuntu')) return DEBIAN_LAYOUT;
  if (ids.some((id) => ['rhel', 'fedora', 'centos', 'rocky', 'almalinux', 'ol', 'amzn'].includes(id))) return RHEL_LAYOUT;
  return undefined;
}

export function packageManager(commands: readonly string[]): PackageManager | undefined {
  return (['apt-get', 'dnf', 'yum'] as const).find((m) => commands.includes(m));
}

/** The AUTO value of Debian's /etc/default/ipvsadm (the last assignment wins, as when the shell sources it). */
export function debianAuto(content: string | null): string | undefined {
  if (content === null) return undefined;
  let value: string | undefined;
  for (const line of content.split('\n')) {
    const m = /^\s*AUTO=(?:"([^"]*)"|'([^']*)'|(\S*))\s*(?:#.*)?$/.exec(line);
    if (m) value = m[1] ?? m[2] ?? m[3] ?? '';
  }
  return value;
}

/** Where the set-up installs the script (a root-owned directory; the file 0755 root:root). */
export const READ_SCRIPT = '/usr/local/libexec/lvsform/read';
/** The sudoers file the set-up installs for the plan user (no dot in the name: sudo skips such files). */
export const READ_SUDOERS = '/etc/sudoers.d/lvsform-plan';

/** The one sudoers rule the plan user needs. */
export function readSudoersLine(user: string): string {
  return `${user} ALL=(root) NOPASSWD: ${READ_SCRIPT}`;
}

/** The sudoers file the set-up writes (validated with `visudo -cf` before it is moved into place). */
export function readSudoersFile(user: string): string {
  return `# Written by lvsform: ${user} may run the read-only plan script as root, and nothing else.\n${readSudoersLine(user)}\n`;
}
