import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { vmMarker } from '../../lab/boot-director.ts';
import { labDown, labExec, labPaths, labUp } from '../../lab/index.ts';
import { findProcessesWith } from '../../lab/processes.ts';
import { tapExists } from '../../lab/tap-devices.ts';
import { lab, resetDirector, sh, traffic } from './helpers.ts';

const VERSION_LINE = 'IP Virtual Server version 1.2.1 (size=4096)';
const REAL_SERVERS = ['rs1', 'rs2', 'rs3', 'rs4'];
const each4 = (line: (i: number) => string) => [1, 2, 3, 4].map(line).join('\n');

describe('a booted lab', () => {
  test('answers ipvsadm over the generated ssh config with plain ssh -F, with and without its ssh master', async () => {
    // GIVEN the lab's ssh_config WHEN plain ssh runs ipvsadm on a director
    const { sshConfig, directors } = lab();
    const viaMaster = await execa('ssh', ['-F', sshConfig, directors[0]!.alias, 'ipvsadm', '-L', '-n']);
    const direct = await execa('ssh', ['-F', sshConfig, '-o', 'ControlPath=none', directors.at(-1)!.alias, 'ipvsadm']);
    // THEN the kernel's IPVS answers
    expect(viaMaster.stdout.split('\n')[0]).toBe(VERSION_LINE);
    expect(direct.stdout.split('\n')[0]).toBe(VERSION_LINE);
  });

  test("runs Debian's own kernel from the lab's cache, the one lab up reported", async () => {
    // GIVEN the booted lab WHEN a director is asked for its kernel release and the module tree it loads from
    const { boot, directors } = lab();
    const r = await labExec(directors[0]!.alias, ['sh', '-c', 'uname -r; readlink /usr/lib/modules/$(uname -r)'], { state: lab() });
    // THEN it is the Debian package's release, with the modules of that package
    expect(r.stdout.trim().split('\n')).toEqual([boot.kernel.release, boot.kernel.moduleDir]);
    expect(boot.kernel.release).toMatch(/-amd64$/);
  });

  test('loads every scheduler module, forwards IPv4 and IPv6, and keeps the host out of the guest', async () => {
    const r = await sh(lab().directors[0]!.name, 'lsmod; cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding; findmnt -n -o FSTYPE /');
    for (const s of ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'ftp', 'pe_sip']) {
      expect(r.stdout).toMatch(new RegExp(`^ip_vs_${s}\\s`, 'm'));
    }
    expect(r.stdout).toMatch(/^1\n1\noverlay\n$/m);
  });
});

interface Scenario {
  readonly name: string;
  readonly rules: string;
  readonly target: string;
  readonly protocol?: 'tcp' | 'udp';
}

const scenarios: Scenario[] = [
  {
    name: 'NAT (masquerading) tcp, VIP port 80 to real port 8080',
    rules: `ipvsadm -A -t 198.51.100.10:80 -s rr\n${each4((i) => `ipvsadm -a -t 198.51.100.10:80 -r 192.0.2.1${i}:8080 -m`)}`,
    target: '198.51.100.10:80',
  },
  {
    name: 'NAT udp',
    rules: `ipvsadm -A -u 198.51.100.11:53 -s rr\n${each4((i) => `ipvsadm -a -u 198.51.100.11:53 -r 192.0.2.1${i}:53 -m`)}`,
    target: '198.51.100.11:53',
    protocol: 'udp',
  },
  {
    name: 'direct routing tcp',
    rules: `ipvsadm -A -t 198.51.100.20:80 -s rr\n${each4((i) => `ipvsadm -a -t 198.51.100.20:80 -r 192.0.2.1${i}:80 -g`)}`,
    target: '198.51.100.20:80',
  },
  {
    name: 'direct routing udp',
    rules: `ipvsadm -A -u 198.51.100.21:53 -s rr\n${each4((i) => `ipvsadm -a -u 198.51.100.21:53 -r 192.0.2.1${i}:53 -g`)}`,
    target: '198.51.100.21:53',
    protocol: 'udp',
  },
  {
    name: 'tunnelling ipip',
    rules: `ipvsadm -A -t 198.51.100.30:80 -s rr\n${each4((i) => `ipvsadm -a -t 198.51.100.30:80 -r 192.0.2.1${i}:80 -i`)}`,
    target: '198.51.100.30:80',
  },
  {
    name: 'tunnelling gue',
    rules: `ipvsadm -A -t 198.51.100.31:80 -s rr\n${each4((i) => `ipvsadm -a -t 198.51.100.31:80 -r 192.0.2.1${i}:80 -i --tun-type gue --tun-port 6080`)}`,
    target: '198.51.100.31:80',
  },
  {
    name: 'tunnelling gre',
    rules: `ipvsadm -A -t 198.51.100.32:80 -s rr\n${each4((i) => `ipvsadm -a -t 198.51.100.32:80 -r 192.0.2.1${i}:80 -i --tun-type gre`)}`,
    target: '198.51.100.32:80',
  },
  {
    name: 'IPv6 NAT',
    rules: `ipvsadm -A -t [2001:db8:100::10]:80 -s rr\n${each4((i) => `ipvsadm -a -t [2001:db8:100::10]:80 -r [2001:db8::1${i}]:80 -m`)}`,
    target: '[2001:db8:100::10]:80',
  },
  {
    name: 'IPv6 direct routing',
    rules: `ipvsadm -A -t [2001:db8:100::20]:8080 -s rr\n${each4((i) => `ipvsadm -a -t [2001:db8:100::20]:8080 -r [2001:db8::1${i}]:8080 -g`)}`,
    target: '[2001:db8:100::20]:8080',
  },
  {
    name: 'IPv6 tunnelling (ip6ip6)',
    rules: `ipvsadm -A -t [2001:db8:100::30]:80 -s rr\n${each4((i) => `ipvsadm -a -t [2001:db8:100::30]:80 -r [2001:db8::1${i}]:80 -i`)}`,
    target: '[2001:db8:100::30]:80',
  },
  {
    name: 'firewall mark 1 (IPv4, NAT)',
    rules: `ipvsadm -A -f 1 -s rr\n${each4((i) => `ipvsadm -a -f 1 -r 192.0.2.1${i} -m`)}`,
    target: '198.51.100.50:8080',
  },
  {
    name: 'firewall mark 2 (IPv6, NAT)',
    rules: `ipvsadm -A -f 2 -6 -s rr\n${each4((i) => `ipvsadm -a -f 2 -6 -r [2001:db8::1${i}]:0 -m`)}`,
    target: '[2001:db8:100::50]:80',
  },
];

describe.concurrent('hand-written ipvsadm rules balance real traffic over all four real servers', () => {
  beforeAll(async () => {
    await Promise.all(lab().directors.map((d) => resetDirector(d.name)));
  });
  afterAll(async () => {
    await Promise.all(lab().directors.map((d) => resetDirector(d.name)));
  });

  scenarios.forEach((s, i) => {
    test(s.name, async () => {
      // GIVEN a round-robin service written by hand on one of the directors
      const directors = lab().directors;
      const director = directors[i % directors.length]!.name;
      await sh(director, `set -e\n${s.rules}`);
      // WHEN the client sends new connections (or datagrams) to the VIP
      const r = await traffic({ director, target: s.target, protocol: s.protocol ?? 'tcp', count: 12 });
      // THEN every real server answered and nothing failed
      expect(r.failures).toBe(0);
      expect(Object.keys(r.perServer).sort()).toEqual(REAL_SERVERS);
      expect(Object.values(r.perServer).reduce((a, b) => a + b, 0)).toBe(12);
    });
  });

  test('counts failures when the VIP has no service', async () => {
    const r = await traffic({ director: lab().directors[0]!.name, target: '198.51.100.19:80', count: 3, timeoutMs: 500 });
    expect(r).toEqual({ perServer: {}, failures: 3, total: 3 });
  });
});

describe('boot options and lab down', () => {
  const dir = '/tmp/lvsform-lab-options-test';

  test('a second lab beside the first boots without a scheduler module and without forwarding, then goes away', async () => {
    // GIVEN a one-director lab numbered 60, with ip_vs_sh hidden and forwarding off
    const state = await labUp({ dir, firstIndex: 60, directors: 1, skipModules: ['ip_vs_sh'], ipForward: false });
    try {
      const d = state.directors[0]!;
      expect(d).toMatchObject({ alias: 'lab-director-60', tap: 'lvsftap60', guestAddress: '203.0.113.238' });
      // WHEN services ask for sh and for rr
      const forward = await labExec(d.alias, ['cat', '/proc/sys/net/ipv4/ip_forward'], { state });
      const sh = await labExec(d.alias, ['ipvsadm', '-A', '-t', '198.51.100.10:80', '-s', 'sh'], { state });
      const rr = await labExec(d.alias, ['ipvsadm', '-A', '-t', '198.51.100.10:81', '-s', 'rr'], { state });
      // THEN sh is missing, rr works, forwarding is off
      expect(forward.stdout.trim()).toBe('0');
      expect(sh.exitCode).not.toBe(0);
      expect(rr.exitCode).toBe(0);
    } finally {
      // AND lab down leaves no kernel, tap or directory (and may run twice)
      await labDown({ dir });
      await labDown({ dir });
    }
    expect(await findProcessesWith(vmMarker(labPaths(dir)))).toEqual([]);
    expect(tapExists('lvsftap60')).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});
