/**
 * The director's own side on the real kernel: the VIPs, the IPVS timeouts and the net.ipv4.vs sysctls.
 *
 * The lab's guest init leaves 198.51.100.17–19, 27–29 and 47–49 (and their IPv6 twins) off the director, so only
 * lvsform can put them there: an apply with `vips: { interface: 'client0' }` adds them (read back with `ip -o addr`),
 * real traffic flows through NAT, direct-routing and tunnel services on IPv4 and IPv6, and destroy takes them away and
 * leaves the lab's own addresses. A dummy interface (`vips: { dummy }`) is created and deleted the same way. The
 * timeouts are proven with an idle established connection through the VIP: with `tcp: 3` it is gone from
 * `ipvsadm -L -n -c` after it and its next request fails; with `tcp: 120` the same request is answered. The sysctls
 * and timeouts read back as set, and destroy puts back the values found before. An added VIP is announced: a client
 * holding a stale neighbour entry with a wrong MAC takes the director's (IPv6 by an unsolicited neighbour advertisement
 * sent by perl, IPv4 by arping), while one added by hand leaves it wrong. `doctor` judges the same settings: drift from
 * the record, a VIP neither local nor routed here (and one a local route sends here).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { Director, type DirectorProps, Forwarding, LvsStack, RealServerPool } from '../../lib/index.ts';
import { resetDirector, sh, traffic } from './helpers.ts';
import { labSsh, synthApp } from './ops-harness.ts';
import { alias, apply, destroy, plan } from './stack-harness.ts';
import { renderPlan } from '../../providers/ipvs/render/render-plan.ts';
import { doctorDirectors } from '../../providers/ipvs/ops/doctor-director.ts';

const V4 = (n: number) => `198.51.100.${n}`;
const V6 = (n: number) => `2001:db8:100::${n}`;
const REALS4 = ['192.0.2.11', '192.0.2.12', '192.0.2.13'];
const REALS6 = ['2001:db8::11', '2001:db8::12', '2001:db8::13'];

/** Stack dset: NAT on .17, direct routing on .27, ipip tunnels on .47, each IPv4 and IPv6, with the given settings. */
function synthStack(settings: Pick<DirectorProps, 'vips' | 'timeouts' | 'sysctls'>, only?: 'nat') {
  return synthApp((app) => {
    const stack = new LvsStack(app, 'dset');
    const lb1 = new Director(stack, 'lb1', { ssh: labSsh(1), ...settings });
    const methods = [
      { n: 17, forwarding: Forwarding.NAT },
      ...(only
        ? []
        : [
            { n: 27, forwarding: Forwarding.DIRECT_ROUTING },
            { n: 47, forwarding: Forwarding.tunnel() },
          ]),
    ];
    for (const { n, forwarding } of methods) {
      const p4 = new RealServerPool(stack, `pool${n}`, { forwarding, members: REALS4.map((address) => ({ address })) });
      const p6 = new RealServerPool(stack, `pool${n}v6`, { forwarding, members: REALS6.map((address) => ({ address })) });
      lb1.addVirtualService(`http${n}`, { address: V4(n), port: 80, pools: [p4] });
      lb1.addVirtualService(`http${n}v6`, { address: V6(n), port: 80, pools: [p6] });
    }
  });
}

/** `ip -o addr show` on the director, as "address/prefix device label" words per line. */
async function addresses(): Promise<string> {
  return (await sh(alias(1), 'ip -o addr show')).stdout;
}

function has(text: string, address: string, device = 'client0'): boolean {
  return text.split('\n').some((l) => new RegExp(`^\\d+: ${device}\\s+inet6? ${address.replaceAll('.', '\\.')}/`).test(l));
}

async function sysctl(name: string): Promise<string> {
  return (await sh(alias(1), `cat /proc/sys/net/ipv4/vs/${name}`)).stdout.trim();
}

async function timeouts(): Promise<string> {
  return (await sh(alias(1), 'ipvsadm -L --timeout')).stdout.trim();
}

/**
 * From the client: opens a TCP connection to the VIP, keeps it idle for `idle` seconds from the moment it is
 * established, lists the director's IPVS connections to the VIP meanwhile (four seconds before the end: under load a
 * process start in the guest takes a second or more), then sends an
 * HTTP request on it. Returns the answer's first line (or the failure) and the connection listing. (Under emulation
 * perl takes seconds to start: the clock starts at the connection, not at the process.)
 */
async function idleRequest(vip: string, idle: number): Promise<{ answer: string; connections: string }> {
  const perl = [
    'use IO::Socket::INET;',
    `my $s = IO::Socket::INET->new(PeerAddr => "${vip}", PeerPort => 80, Timeout => 5) or do { print "connect failed\n"; exit 0 };`,
    'open(my $m, ">", "/tmp/lvsform-idle.mark"); print $m "connected\n"; close($m);',
    `sleep ${idle}; $SIG{PIPE} = "IGNORE";`,
    'print $s "GET / HTTP/1.0\r\n\r\n" or do { print "send failed\n"; exit 0 };',
    'my $line = <$s>; print defined $line ? "answer $line" : "no answer: $!\n";',
  ].join(' ');
  const out = await sh(
    alias(1),
    `rm -f /tmp/lvsform-idle.mark /tmp/lvsform-idle.out
ip netns exec client perl -e '${perl}' > /tmp/lvsform-idle.out 2>&1 &
pid=$!
n=0; while [ ! -s /tmp/lvsform-idle.mark ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
sleep ${idle - 4}
ipvsadm -L -n -c | grep -F '${vip}:80' | grep -v TIME_WAIT || echo '(none)'
echo @@
wait $pid
cat /tmp/lvsform-idle.out; rm -f /tmp/lvsform-idle.out /tmp/lvsform-idle.mark`,
  );
  const [connections, answer] = out.stdout.split('@@\n');
  return { answer: (answer ?? '').trim(), connections: (connections ?? '').trim() };
}

beforeEach(async () => {
  await resetDirector(alias(1));
  // The records are gone with the reset: what an earlier failed run of this file placed is nobody's now, so take it away.
  const dels = [17, 18, 19, 27, 28, 29, 47, 48, 49].flatMap((n) => [`ip addr del ${V4(n)}/32 dev client0`, `ip addr del ${V6(n)}/128 dev client0`]);
  await sh(alias(1), `${dels.map((d) => `${d} 2>/dev/null`).join('; ')}; ip link del lvsform0 2>/dev/null; ipvsadm --set 900 120 300; true`);
});

describe('director VIPs on the lab', () => {
  it('puts the VIPs on the director, serves NAT, direct routing and tunnels through them on IPv4 and IPv6, and destroy takes them away', async () => {
    // GIVEN the VIPs .17, .27, .47 (IPv4 and IPv6) on no interface of the director: the client reaches nothing there
    const before = await addresses();
    for (const n of [17, 27, 47]) {
      expect(has(before, V4(n))).toBe(false);
      expect(has(before, V6(n))).toBe(false);
    }
    expect((await traffic({ director: alias(1), target: `${V4(17)}:80`, count: 2, timeoutMs: 500 })).failures).toBe(2);
    const stack = await synthStack({ vips: { interface: 'client0' } });
    // WHEN planned THEN the plan adds each address before the services, with a gratuitous ARP for IPv4
    const planned = await plan(stack);
    const text = renderPlan(planned);
    expect(text).toContain(`+ address ${V4(17)}/32 on client0  (gratuitous ARP: arping -U)`);
    expect(text).toContain(`+ address ${V6(47)}/128 on client0`);
    expect(planned.directors[0]!.settings).toHaveLength(6);
    // WHEN applied
    const report = await apply(stack);
    expect(report.outcomes.map((o) => [o.status, o.error?.message])).toEqual([['applied', undefined]]);
    // THEN every VIP is on client0 (IPv4 labelled client0:lvs), read back from the kernel
    const after = await addresses();
    for (const n of [17, 27, 47]) {
      expect(has(after, V4(n)), after).toBe(true);
      expect(has(after, V6(n)), after).toBe(true);
    }
    expect(after).toMatch(new RegExp(`inet ${V4(17).replaceAll('.', '\\.')}/32 scope global client0:lvs`));
    // AND real requests through every VIP reach the real servers: NAT, direct routing, tunnel; IPv4 and IPv6
    for (const target of [17, 27, 47].flatMap((n) => [`${V4(n)}:80`, `[${V6(n)}]:80`])) {
      const r = await traffic({ director: alias(1), target, count: 9 });
      expect(r.failures, target).toBe(0);
      expect(Object.keys(r.perServer).length, target).toBeGreaterThanOrEqual(2);
    }
    // AND the next plan has nothing to do
    const again = await plan(stack);
    expect(again.directors.map((d) => [d.error, d.changes.length, d.settings?.length, d.settingsDrift])).toEqual([[undefined, 0, 0, undefined]]);
    // WHEN an address is removed by hand THEN the plan shows it as drift and puts it back
    await sh(alias(1), `ip addr del ${V4(27)}/32 dev client0`);
    const drifted = await plan(stack);
    expect(drifted.directors[0]!.settingsDrift).toEqual([`address ${V4(27)}/32 on client0 (removed outside lvsform)`]);
    expect((await apply(stack)).outcomes[0]!.status).toBe('applied');
    expect(has(await addresses(), V4(27))).toBe(true);
    // WHEN destroyed
    const gone = await destroy(stack);
    expect(gone.outcomes.map((o) => [o.status, o.error?.message])).toEqual([['applied', undefined]]);
    // THEN lvsform's addresses are gone and the lab's own (.10, .20, ::10, .1) are still there
    const left = await addresses();
    for (const n of [17, 27, 47]) {
      expect(has(left, V4(n))).toBe(false);
      expect(has(left, V6(n))).toBe(false);
    }
    for (const a of [V4(10), V4(20), V6(10), '198.51.100.1']) expect(has(left, a), a).toBe(true);
    expect((await sh(alias(1), 'ls /var/lib/lvsform/dset.json 2>&1 || true')).stdout).toContain('No such file');
  });

  it('never removes a VIP it did not add', async () => {
    // GIVEN .17 already on client0 (put there by someone else) and an app that places VIPs
    await sh(alias(1), `ip addr add ${V4(17)}/32 dev client0`);
    try {
      const stack = await synthStack({ vips: { interface: 'client0' } }, 'nat');
      // WHEN applied and destroyed
      const report = await apply(stack);
      expect(report.outcomes[0]!.status).toBe('applied');
      const planned = report.plan.directors[0]!.settings ?? [];
      expect(planned.map((c) => (c.kind === 'address' ? c.address : c.kind))).toEqual([V6(17)]);
      await destroy(stack);
      // THEN the address lvsform found stays; the one it added is gone
      const left = await addresses();
      expect(has(left, V4(17))).toBe(true);
      expect(has(left, V6(17))).toBe(false);
    } finally {
      await sh(alias(1), `ip addr del ${V4(17)}/32 dev client0 2>/dev/null; true`);
    }
  });

  it("tells the client of each added VIP: a stale neighbour entry with a wrong MAC takes the director's (IPv6 by perl's advertisement, IPv4 by arping), one added by hand does not", async () => {
    // GIVEN the client holding stale neighbour entries with a wrong MAC for .17 and .18 (IPv4 and IPv6), as a
    // neighbour that last saw the VIPs on another director would
    const wrong = '02:00:00:00:00:99';
    const mac = (await sh(alias(1), 'cat /sys/class/net/client0/address')).stdout.trim();
    const stale = [17, 18].flatMap((n) => [
      `ip -n client neigh replace ${V4(n)} lladdr ${wrong} nud stale dev eth0`,
      `ip -n client -6 neigh replace ${V6(n)} lladdr ${wrong} nud stale dev eth0`,
    ]);
    await sh(alias(1), stale.join('; '));
    try {
      const stack = await synthStack({ vips: { interface: 'client0' } }, 'nat');
      // WHEN lvsform adds .17 (the plan says how each is announced), and .18 is added by hand, without an announcement
      const planned = renderPlan(await plan(stack));
      expect(planned).toContain(`+ address ${V6(17)}/128 on client0  (unsolicited neighbour advertisement: perl)`);
      expect(planned).toContain(`+ address ${V4(17)}/32 on client0  (gratuitous ARP: arping -U)`);
      expect((await apply(stack)).outcomes[0]!.error).toBeUndefined();
      await sh(alias(1), `ip addr add ${V4(18)}/32 dev client0; ip addr add ${V6(18)}/128 dev client0 nodad`);
      // THEN the client's entries for .17 take the director's MAC (perl and arping run in the background: under
      // emulation perl takes seconds to start, so poll), and those for .18 keep the wrong one
      const entry = async (address: string) => {
        const out = (await sh(alias(1), `ip -n client neigh show to ${address} dev eth0`)).stdout;
        return /lladdr (\S+)/.exec(out)?.[1] ?? '(none)';
      };
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && ((await entry(V6(17))) !== mac || (await entry(V4(17))) !== mac)) await new Promise((r) => setTimeout(r, 500));
      expect(await entry(V6(17))).toBe(mac);
      expect(await entry(V4(17))).toBe(mac);
      expect(await entry(V6(18))).toBe(wrong);
      expect(await entry(V4(18))).toBe(wrong);
      await destroy(stack);
    } finally {
      await sh(
        alias(1),
        `ip addr del ${V4(18)}/32 dev client0 2>/dev/null; ip addr del ${V6(18)}/128 dev client0 2>/dev/null; ip -n client neigh flush dev eth0; true`,
      );
    }
  });

  it('creates a dummy interface for routed VIPs, serves through it, and deletes it on destroy', async () => {
    // GIVEN an app that places its VIPs on a dummy interface lvsform creates
    const stack = await synthStack({ vips: { dummy: 'lvsform0' } }, 'nat');
    // WHEN applied
    const report = await apply(stack);
    expect(report.outcomes.map((o) => [o.status, o.error?.message])).toEqual([['applied', undefined]]);
    // THEN the dummy interface holds both VIPs and is NOARP (the director answers on client0 as for any local address)
    const link = (await sh(alias(1), 'ip -o link show lvsform0')).stdout;
    expect(link).toContain('NOARP');
    const after = await addresses();
    expect(has(after, V4(17), 'lvsform0')).toBe(true);
    expect(has(after, V6(17), 'lvsform0')).toBe(true);
    const r = await traffic({ director: alias(1), target: `${V4(17)}:80`, count: 6 });
    expect(r.failures).toBe(0);
    // WHEN destroyed THEN the interface is gone
    await destroy(stack);
    expect((await sh(alias(1), 'ip link show lvsform0 2>&1 || true')).stdout).toMatch(/does not exist/);
  });
});

describe('IPVS timeouts and sysctls on the lab', () => {
  it('ends an idle connection after a short tcp timeout, keeps it under a long one, and destroy puts the values back', async () => {
    // GIVEN the kernel's own values
    await sh(alias(1), 'ipvsadm --set 900 120 300; echo 0 > /proc/sys/net/ipv4/vs/expire_nodest_conn; echo 0 > /proc/sys/net/ipv4/vs/conntrack');
    expect(await timeouts()).toBe('Timeout (tcp tcpfin udp): 900 120 300');
    const short = await synthStack({ vips: { interface: 'client0' }, timeouts: { tcp: 3 }, sysctls: { expireNodestConn: true, conntrack: true } }, 'nat');
    // WHEN applied with tcp 3 s
    const planned = renderPlan(await plan(short));
    expect(planned).toContain('~ timeouts tcp 900 -> 3');
    expect(planned).toContain('~ sysctl net.ipv4.vs.expire_nodest_conn 0 -> 1');
    expect((await apply(short)).outcomes[0]!.error).toBeUndefined();
    // THEN the kernel holds the values
    expect(await timeouts()).toBe('Timeout (tcp tcpfin udp): 3 120 300');
    expect(await sysctl('expire_nodest_conn')).toBe('1');
    expect(await sysctl('conntrack')).toBe('1');
    // AND an established connection idle for 6 s is gone from the connection table, and its next request fails
    const cut = await idleRequest(V4(17), 10);
    expect(cut.connections).toBe('(none)');
    expect(cut.answer).not.toMatch(/^answer HTTP\/1\.[01] 200/);
    // WHEN applied with tcp 120 s (the contrast)
    const long = await synthStack({ vips: { interface: 'client0' }, timeouts: { tcp: 120 }, sysctls: { expireNodestConn: true, conntrack: true } }, 'nat');
    expect((await apply(long)).outcomes[0]!.error).toBeUndefined();
    expect(await timeouts()).toBe('Timeout (tcp tcpfin udp): 120 120 300');
    // THEN the same idle connection is still listed ESTABLISHED and its request is answered
    const kept = await idleRequest(V4(17), 10);
    expect(kept.connections).toContain('ESTABLISHED');
    expect(kept.answer).toMatch(/^answer HTTP\/1\.[01] 200/);
    // WHEN a sysctl is changed by hand THEN the plan shows it as drift
    await sh(alias(1), 'echo 0 > /proc/sys/net/ipv4/vs/conntrack');
    expect((await plan(long)).directors[0]!.settingsDrift).toEqual(['sysctl net.ipv4.vs.conntrack (1 -> 0 outside lvsform)']);
    // AND doctor says so, beside the values that hold, the VIP on client0, and settings that do not survive a reboot
    const doctor = async () => {
      const r = (await doctorDirectors([long.directors[0]!], { stack: long.stack }))[0]!;
      expect(r.error).toBeUndefined();
      return (name: string) => r.checks.find((c) => c.name === name);
    };
    let check = await doctor();
    expect(check('sysctl net.ipv4.vs.conntrack')).toMatchObject({
      status: 'fail',
      detail: '0, drifted: lvsform set 1 (the ownership record), and it was changed outside lvsform',
    });
    expect(check('sysctl net.ipv4.vs.expire_nodest_conn')).toMatchObject({ status: 'ok', detail: '1' });
    expect(check('timeout tcp')).toMatchObject({ status: 'ok', detail: '120' });
    expect(check(`VIP ${V4(17)}`)).toMatchObject({ status: 'ok', detail: 'on client0 (added by lvsform)' });
    expect(check('settings at boot')?.status).toBe('warn');
    // WHEN the VIP is removed by hand THEN doctor finds it neither local nor routed here (the kernel's own route lookup)
    await sh(alias(1), `ip addr del ${V4(17)}/32 dev client0`);
    check = await doctor();
    expect(check(`VIP ${V4(17)}`)?.status).toBe('fail');
    expect(check(`VIP ${V4(17)}`)?.detail).toContain(`neither local nor routed here (ip route get: ${V4(17)} dev client0 src 198.51.100.1`);
    // WHEN a local route sends it here instead (an anycast range routed to the director) THEN doctor accepts that
    await sh(alias(1), `ip route add local ${V4(17)}/32 dev lo table local`);
    check = await doctor();
    await sh(alias(1), `ip route del local ${V4(17)}/32 dev lo table local; ip addr add ${V4(17)}/32 dev client0 label client0:lvs`);
    expect(check(`VIP ${V4(17)}`)).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^routed here: local 198\.51\.100\.17 dev lo/) });
    // WHEN destroyed THEN the timeouts and sysctls are back to what lvsform found
    expect((await destroy(long)).outcomes[0]!.error).toBeUndefined();
    expect(await timeouts()).toBe('Timeout (tcp tcpfin udp): 900 120 300');
    expect(await sysctl('expire_nodest_conn')).toBe('0');
    expect(await sysctl('conntrack')).toBe('0');
  });
});
