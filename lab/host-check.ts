import { access, constants, readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { LvsError } from '../providers/ipvs/model/errors.ts';
import type { DirectorAddresses } from './addresses.ts';

/**
 * What the lab runs on the host (QEMU, and what fetches and unpacks Debian's kernel) or, through the shared read-only
 * root, inside each guest, and the Debian package of each.
 */
export const LAB_REQUIREMENTS: ReadonlyArray<{ readonly path: string; readonly pkg: string }> = [
  { path: '/usr/bin/qemu-system-x86_64', pkg: 'qemu-system-x86' },
  { path: '/usr/bin/apt-get', pkg: 'apt' },
  { path: '/usr/bin/dpkg-deb', pkg: 'dpkg' },
  { path: '/usr/sbin/depmod', pkg: 'kmod' },
  { path: '/usr/bin/xz', pkg: 'xz-utils' },
  { path: '/usr/sbin/ipvsadm', pkg: 'ipvsadm' },
  { path: '/usr/sbin/modprobe', pkg: 'kmod' },
  { path: '/usr/sbin/insmod', pkg: 'kmod' },
  { path: '/usr/sbin/ip', pkg: 'iproute2' },
  { path: '/usr/sbin/sshd', pkg: 'openssh-server' },
  { path: '/usr/bin/ssh', pkg: 'openssh-client' },
  { path: '/usr/bin/ssh-keygen', pkg: 'openssh-client' },
  { path: '/bin/busybox', pkg: 'busybox-static' },
  { path: '/usr/bin/curl', pkg: 'curl' },
  { path: '/usr/sbin/iptables-legacy', pkg: 'iptables' },
  { path: '/usr/sbin/ip6tables-legacy', pkg: 'iptables' },
  { path: '/usr/bin/perl', pkg: 'perl-base' },
  { path: '/usr/sbin/mkfs.ext4', pkg: 'e2fsprogs' },
  { path: '/usr/bin/pgrep', pkg: 'procps' },
  // The gratuitous ARP a Director's `vips` sends when it adds an IPv4 VIP.
  { path: '/usr/bin/arping', pkg: 'iputils-arping' },
];

/**
 * What a cluster lab needs besides: the real servers' UDP echo, which answers from the address each datagram was sent
 * to whatever addresses the host gains later (Python's socket module has IP_PKTINFO; Perl's core has no sendmsg),
 * keepalived for the VRRP of its director pairs (the guests run from this machine's root), and the client namespace's
 * tools (curl, arping and busybox's ping are in LAB_REQUIREMENTS).
 */
export const CLUSTER_REQUIREMENTS: ReadonlyArray<{ readonly path: string; readonly pkg: string }> = [
  { path: '/usr/bin/python3', pkg: 'python3-minimal' },
  { path: '/usr/sbin/keepalived', pkg: 'keepalived' },
];

/** Whether a path exists (any kind of file). */
export async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** Throws one error naming every missing Debian package (and how to install them); installs nothing. */
export async function checkLabHost(opts: { cluster?: boolean } = {}): Promise<void> {
  if (process.platform !== 'linux') {
    throw new LvsError('LVS_LAB_UNSUPPORTED', `the lab needs Linux; this is ${process.platform}`);
  }
  const wanted = [...LAB_REQUIREMENTS, ...(opts.cluster ? CLUSTER_REQUIREMENTS : [])];
  const present = await Promise.all(wanted.map((r) => exists(r.path)));
  const missing = [...new Set(wanted.filter((_, i) => !present[i]).map((r) => r.pkg))];
  if (missing.length > 0) {
    throw new LvsError('LVS_LAB_MISSING_PACKAGES', `the lab needs Debian packages that are not installed: ${missing.join(', ')}`, {
      hint: `install them with: apt-get update && apt-get install -y ${missing.join(' ')}  (or scripts/install-lab-deps.sh)`,
    });
  }
  if (process.getuid?.() !== 0) {
    throw new LvsError('LVS_LAB_NOT_ROOT', 'the lab creates tap devices (a cluster lab also bridges and a network namespace) and needs root', {
      hint: 'run it as root (e.g. sudo)',
    });
  }
  if (!(await exists('/dev/net/tun'))) {
    throw new LvsError('LVS_LAB_NO_TUN', 'the lab needs /dev/net/tun for its tap devices', {
      hint: 'load the tun module (modprobe tun) or give the container the device',
    });
  }
}

/**
 * Refuses lab addresses that this machine already uses: an address of another interface, or one named in
 * /etc/hosts (a sandbox may map its package mirrors into 203.0.113.0/24). The lab's links are point to point, so only
 * these exact addresses could collide.
 */
export async function checkLabAddresses(directors: readonly DirectorAddresses[]): Promise<void> {
  const taken = new Map<string, string>();
  try {
    for (const line of (await readFile('/etc/hosts', 'utf8')).split('\n')) {
      const [addr, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
      if (addr && /^\d+\.\d+\.\d+\.\d+$/.test(addr)) taken.set(addr, `/etc/hosts (${names.join(' ')})`);
    }
  } catch {
    /* no /etc/hosts: nothing named there */
  }
  const { stdout } = await execa('ip', ['-o', '-4', 'addr', 'show'], { reject: false });
  for (const line of String(stdout).split('\n')) {
    const m = /^\d+:\s+(\S+)\s+inet\s+([\d.]+)/.exec(line);
    if (m && !m[1]!.startsWith('lvsftap')) taken.set(m[2]!, `interface ${m[1]}`);
  }
  for (const d of directors) {
    for (const addr of [d.hostAddress, d.guestAddress]) {
      const owner = taken.get(addr);
      if (owner) {
        throw new LvsError('LVS_LAB_ADDRESS_IN_USE', `lab director ${d.index} would use ${addr}, which this machine already uses (${owner})`, {
          hint: 'Start the lab at another director number (lab up --first-index K, or LVSFORM_LAB_FIRST_INDEX in tests).',
        });
      }
    }
  }
}
