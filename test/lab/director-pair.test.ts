/**
 * A director pair on the real kernel and the real keepalived: the sync daemons and lvsform's VRRP file.
 *
 * Two lab directors (each a VM with its own client namespace, so each is its own VRRP segment) run keepalived with an
 * operator's keepalived.conf that includes lvsform's files (started by hand: the lab's init is not systemd). One apply
 * of a DirectorPair starts both sync daemons on each (read back with `ipvsadm -L --daemon`: role, interface, sync id),
 * writes the VRRP file, which keepalived accepts (`keepalived -t` before the file replaces the old one, then SIGHUP),
 * and keepalived takes the VIP in MASTER state: the VIP appears on the interface and the client's requests through it
 * are served; before the apply they fail. The next plan is empty. Destroy stops the daemons lvsform started and removes
 * its file, so keepalived lets the VIP go, while a backup daemon started by hand before the apply (the contrast) keeps
 * running and the operator's keepalived.conf stays.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Director, DirectorPair, Forwarding, LvsStack, RealServerPool } from '../../lib/index.ts';
import { renderPlan } from '../../providers/ipvs/render/render-plan.ts';
import { sh, traffic } from './helpers.ts';
import { labSsh, synthApp } from './ops-harness.ts';
import { alias, apply, destroy, plan } from './stack-harness.ts';

const VIP = '198.51.100.18';
const REALS = ['192.0.2.11', '192.0.2.12', '192.0.2.13'];
const OPERATOR_CONF = 'global_defs {\n  router_id lvsform-lab\n}\ninclude /etc/keepalived/lvsform-*.conf\n';
const KEEPALIVED = 'keepalived --vrrp -f /etc/keepalived/keepalived.conf -p /run/keepalived.pid -r /run/keepalived_vrrp.pid';

/** Stops keepalived and both daemons, removes lvsform's records and files and the VIP: the director as the lab booted it. */
const RESET = [
  '[ -r /run/keepalived.pid ] && kill "$(cat /run/keepalived.pid)" 2>/dev/null',
  'for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /run/keepalived.pid ] && kill -0 "$(cat /run/keepalived.pid)" 2>/dev/null || break; sleep 0.3; done',
  'ipvsadm --stop-daemon master 2>/dev/null; ipvsadm --stop-daemon backup 2>/dev/null',
  'ipvsadm -C; rm -rf /var/lib/lvsform; rm -f /etc/keepalived/lvsform-*.conf /etc/keepalived/keepalived.conf',
  `ip addr del ${VIP}/32 dev client0 2>/dev/null; true`,
].join('\n');

async function daemons(n: number): Promise<string> {
  return (await sh(alias(n), 'ipvsadm -L --daemon')).stdout.trim();
}

/** Whether the VIP is on client0, polled for up to `seconds` until its presence is `wanted`. */
async function vipOn(n: number, wanted: boolean, seconds = 15): Promise<boolean> {
  const script = `for i in $(seq ${seconds * 2}); do if ip -o addr show dev client0 | grep -q ' ${VIP}/'; then r=yes; else r=no; fi; [ "$r" = ${wanted ? 'yes' : 'no'} ] && break; sleep 0.5; done; echo $r`;
  return (await sh(alias(n), script)).stdout.trim() === 'yes';
}

function synthPair() {
  return synthApp((app) => {
    const stack = new LvsStack(app, 'pair');
    const lb1 = new Director(stack, 'lb1', { ssh: labSsh(1) });
    const lb2 = new Director(stack, 'lb2', { ssh: labSsh(2) });
    const edge = new DirectorPair(stack, 'edge', {
      directors: [
        { director: lb1, priority: 150 },
        { director: lb2, priority: 100 },
      ],
      vrrp: { interface: 'client0', virtualRouterId: 51, authPass: 'lvsform', garpMasterDelay: 1 },
      sync: { interface: 'client0', syncId: 51 },
    });
    const pool = new RealServerPool(stack, 'web', { forwarding: Forwarding.NAT, members: REALS.map((address) => ({ address })) });
    edge.addVirtualService('http', { address: VIP, port: 80, pools: [pool] });
  });
}

beforeAll(async () => {
  for (const n of [1, 2]) {
    await sh(alias(n), RESET);
    // The operator's keepalived, its configuration including lvsform's files, running before lvsform writes one.
    await sh(alias(n), `mkdir -p /etc/keepalived && cat > /etc/keepalived/keepalived.conf && ${KEEPALIVED}`, { input: OPERATOR_CONF });
  }
  // The contrast on lb1: a backup daemon started by hand, as the app asks for it, which lvsform must never stop.
  await sh(alias(1), 'ipvsadm --start-daemon backup --mcast-interface client0 --syncid 51');
}, 60_000);

afterAll(async () => {
  for (const n of [1, 2]) await sh(alias(n), RESET, { allowFailure: true });
}, 60_000);

describe('a director pair on the lab', () => {
  it('starts the sync daemons, keepalived takes the VIP and serves it, and destroy stops only what lvsform started', async () => {
    // GIVEN the VIP on neither director: the client's requests through it fail
    expect(await vipOn(1, false, 1)).toBe(false);
    expect((await traffic({ director: alias(1), target: `${VIP}:80`, count: 2, timeoutMs: 500 })).failures).toBe(2);
    const stack = await synthPair();
    // WHEN planned THEN lb1 starts the master daemon only (the backup runs already), lb2 both, and each gets its file;
    // no address is added by lvsform
    const planned = await plan(stack);
    const text = renderPlan(planned);
    expect(planned.directors.find((d) => d.director === 'lb1')!.settings!.map((c) => `${c.kind} ${c.action}`)).toEqual(['daemon create', 'keepalived create']);
    expect(planned.directors.find((d) => d.director === 'lb2')!.settings!.map((c) => `${c.kind} ${c.action}`)).toEqual([
      'daemon create',
      'daemon create',
      'keepalived create',
    ]);
    expect(text).toContain('+ master sync daemon (mcast=client0, syncid=51)  (ipvsadm --start-daemon master)');
    expect(text).toContain('+ keepalived file /etc/keepalived/lvsform-pair-edge.conf  (checked with keepalived -t, keepalived reloaded)');
    expect(text).not.toContain('+ address');
    // WHEN applied
    const report = await apply(stack);
    expect(report.outcomes.map((o) => [o.director, o.status, o.error?.message])).toEqual([
      ['lb1', 'applied', undefined],
      ['lb2', 'applied', undefined],
    ]);
    // THEN both daemons run on each director with the pair's interface and sync id (the kernel's own listing)
    for (const n of [1, 2]) {
      const listed = await daemons(n);
      expect(listed).toMatch(/^master sync daemon \(mcast=client0, syncid=51\b/m);
      expect(listed).toMatch(/^backup sync daemon \(mcast=client0, syncid=51\b/m);
    }
    // AND keepalived took the file (its own check, then its reload) and holds the VIP in MASTER state on lb1: the
    // client's requests through it are served by the real servers
    expect((await sh(alias(1), 'keepalived -t -f /etc/keepalived/keepalived.conf >/dev/null 2>&1; echo $?')).stdout.trim()).toBe('0');
    expect(await vipOn(1, true)).toBe(true);
    const served = await traffic({ director: alias(1), target: `${VIP}:80`, count: 6 });
    expect(served.failures).toBe(0);
    // AND the next plan has nothing to do on either director
    const again = await plan(stack);
    for (const d of again.directors) {
      expect(d.changes).toEqual([]);
      expect(d.settings ?? []).toEqual([]);
    }
    // WHEN destroyed
    const gone = await destroy(stack);
    expect(gone.outcomes.map((o) => o.status)).toEqual(['applied', 'applied']);
    // THEN the daemons lvsform started are stopped, the hand-started backup on lb1 still runs, lvsform's file is gone,
    // the operator's keepalived.conf stays, and keepalived lets the VIP go
    expect(await daemons(1)).toMatch(/^backup sync daemon \(mcast=client0, syncid=51\b[^\n]*$/);
    expect(await daemons(2)).toBe('');
    for (const n of [1, 2]) {
      expect((await sh(alias(n), 'ls /etc/keepalived/')).stdout.split('\n').filter(Boolean).sort()).toContain('keepalived.conf');
      expect((await sh(alias(n), 'ls /etc/keepalived/lvsform-* 2>/dev/null | wc -l')).stdout.trim()).toBe('0');
    }
    expect(await vipOn(1, false)).toBe(false);
  }, 240_000);
});
