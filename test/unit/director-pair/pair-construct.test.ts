/**
 * The DirectorPair construct: each director a normal Director in the synth, with the same table, its sync daemons
 * and its VRRP instance (the highest priority MASTER, the others BACKUP), and the VIPs left to VRRP.
 */
import { describe, expect, it } from 'vitest';
import { App, Director, DirectorPair, Forwarding, LvsStack, RealServerPool } from '../../../lib/index.ts';
import { synthJson, tempOutdir } from '../lib/helpers.ts';
import { keepalivedContent } from '../../../providers/ipvs/plan/keepalived-conf.ts';
import { vrrpProblems } from '../../../providers/ipvs/model/rules.ts';

function app() {
  const outdir = tempOutdir();
  const a = new App({ outdir });
  const stack = new LvsStack(a, 'web');
  const pool = new RealServerPool(stack, 'pool', { forwarding: Forwarding.NAT, members: [{ address: '192.0.2.11' }] });
  return { app: a, stack, pool, outdir };
}

const pool6 = (stack: LvsStack) => new RealServerPool(stack, 'pool6', { forwarding: Forwarding.NAT, members: [{ address: '2001:db8::11' }] });
const directors = (json: any) => Object.values(json.resource.lvsform_director) as any[];
const services = (json: any) => Object.values(json.resource.lvsform_virtual_service) as any[];

describe('DirectorPair', () => {
  it('adds each service to every director and gives each its sync daemons and VRRP instance', () => {
    // GIVEN a pair of two new directors with sync, and one NAT service
    const { app: a, stack, pool, outdir } = app();
    const edge = new DirectorPair(stack, 'edge', {
      directors: [
        { id: 'lb1', ssh: { host: '203.0.113.2' } },
        { id: 'lb2', ssh: { host: '203.0.113.6' } },
      ],
      vrrp: { interface: 'eth1', virtualRouterId: 51, authPass: 'secret', addresses: [{ address: '192.0.2.1', prefixLength: 24, interface: 'eth2' }] },
      sync: { interface: 'eth1', syncId: 51 },
    });
    const added = edge.addVirtualService('http', { address: '198.51.100.20', port: 80, pools: [pool] });
    // WHEN synthesized
    const json = synthJson(a, outdir);
    // THEN one service per director, and each director runs both daemons and has its VRRP instance
    expect(added.map((s) => s.node.path)).toEqual(['web/lb1/http', 'web/lb2/http']);
    expect(
      services(json)
        .map((s) => s.director)
        .sort(),
    ).toEqual(['lb1', 'lb2']);
    const [lb1, lb2] = directors(json).sort((x, y) => (x.name < y.name ? -1 : 1));
    expect(lb1.sync_daemon).toEqual({ interface: 'eth1', sync_id: 51, roles: ['master', 'backup'] });
    expect(lb1.vrrp).toEqual({
      instance: 'web-edge',
      interface: 'eth1',
      virtual_router_id: 51,
      advert_int: 1,
      auth_pass: 'secret',
      priority: 150,
      state: 'MASTER',
      addresses: [
        { address: '198.51.100.20', prefix: 32 },
        { address: '192.0.2.1', prefix: 24, interface: 'eth2' },
      ],
    });
    expect(lb2.vrrp).toMatchObject({ priority: 100, state: 'BACKUP' });
    // AND neither places the VIP itself
    expect(lb1.vips).toBeUndefined();
    expect(lb2.vips).toBeUndefined();
  });

  it('takes existing Directors with their priorities, the highest being MASTER', () => {
    // GIVEN two Directors made elsewhere, the second with the higher priority
    const { app: a, stack, pool, outdir } = app();
    const lb1 = new Director(stack, 'lb1', { ssh: { host: '203.0.113.2' } });
    const lb2 = new Director(stack, 'lb2', { ssh: { host: '203.0.113.6' } });
    const edge = new DirectorPair(stack, 'edge', {
      directors: [
        { director: lb1, priority: 90 },
        { director: lb2, priority: 200 },
      ],
      vrrp: { interface: 'eth1', virtualRouterId: 7 },
    });
    edge.addVirtualService('dns', {
      address: '2001:db8:100::20',
      port: 53,
      pools: [new RealServerPool(stack, 'v6', { forwarding: Forwarding.NAT, members: [{ address: '2001:db8::11' }] })],
    });
    lb1.addVirtualService('http', { address: '198.51.100.21', port: 80, pools: [pool] });
    // WHEN synthesized
    const [d1, d2] = directors(synthJson(a, outdir)).sort((x, y) => (x.name < y.name ? -1 : 1));
    // THEN lb2 is MASTER, and every VIP of the pair's directors moves, IPv4 and IPv6
    expect(d2.vrrp).toMatchObject({ priority: 200, state: 'MASTER' });
    expect(d1.vrrp).toMatchObject({ priority: 90, state: 'BACKUP' });
    expect(d1.vrrp.addresses).toEqual([
      { address: '198.51.100.21', prefix: 32 },
      { address: '2001:db8:100::20', prefix: 128 },
    ]);
    expect(d1.sync_daemon).toBeUndefined();
  });

  it("writes keepalived's file with the IPv6 VIPs beside the IPv4 ones, never a virtual_server", () => {
    // GIVEN a member's instance with an IPv4 and an IPv6 VIP
    const text = keepalivedContent({
      instance: 'web-edge',
      interface: 'eth1',
      virtualRouterId: 51,
      priority: 150,
      state: 'MASTER',
      advertInterval: 1,
      authPass: 'secret',
      garpMasterDelay: 1,
      addresses: [
        { address: '198.51.100.20', prefix: 32 },
        { address: '2001:db8:100::20', prefix: 128 },
        { address: '192.0.2.1', prefix: 24, device: 'eth2' },
      ],
    });
    // THEN the file is this, word for word
    expect(text).toBe(
      [
        '# Written by lvsform: VRRP for the VIPs of director pair web-edge. lvsform rewrites it; change the app instead.',
        'vrrp_instance web-edge {',
        '    state MASTER',
        '    interface eth1',
        '    virtual_router_id 51',
        '    priority 150',
        '    advert_int 1',
        '    garp_master_delay 1',
        '    authentication {',
        '        auth_type PASS',
        '        auth_pass secret',
        '    }',
        '    virtual_ipaddress {',
        '        198.51.100.20/32 dev eth1',
        '        192.0.2.1/24 dev eth2',
        '    }',
        '    virtual_ipaddress_excluded {',
        '        2001:db8:100::20/128 dev eth1',
        '    }',
        '}',
        '',
      ].join('\n'),
    );
    expect(text).not.toContain('virtual_server');
  });

  it("starts every director as BACKUP with nopreempt or preemptDelay, and writes them into keepalived's file", () => {
    // GIVEN a pair with nopreempt, and another with a preemption delay
    const { app: a, stack, pool, outdir } = app();
    const members = (n: number) => [
      { id: `lb${n}`, ssh: { host: `203.0.113.${n}` } },
      { id: `lb${n + 1}`, ssh: { host: `203.0.113.${n + 1}` } },
    ];
    new DirectorPair(stack, 'edge', { directors: members(1), vrrp: { interface: 'eth1', virtualRouterId: 51, nopreempt: true } }).addVirtualService('http', {
      address: '198.51.100.20',
      port: 80,
      pools: [pool],
    });
    new DirectorPair(stack, 'core', { directors: members(3), vrrp: { interface: 'eth1', virtualRouterId: 52, preemptDelay: 30 } }).addVirtualService('http', {
      address: '198.51.100.21',
      port: 80,
      pools: [pool],
    });
    // WHEN synthesized
    const byName: Record<string, { state: string; priority: number; nopreempt?: boolean; preempt_delay?: number }> = Object.fromEntries(
      directors(synthJson(a, outdir)).map((d) => [d.name, d.vrrp]),
    );
    // THEN no director starts as MASTER: the priorities still say who takes the VIPs first
    expect(Object.entries(byName).map(([n, v]) => [n, v.state, v.priority, v.nopreempt, v.preempt_delay])).toEqual([
      ['lb1', 'BACKUP', 150, true, undefined],
      ['lb2', 'BACKUP', 100, true, undefined],
      ['lb3', 'BACKUP', 150, undefined, 30],
      ['lb4', 'BACKUP', 100, undefined, 30],
    ]);
    // AND keepalived's file says so after advert_int
    const base = { instance: 'x', interface: 'eth1', virtualRouterId: 51, priority: 150, state: 'BACKUP' as const, advertInterval: 1 };
    const addresses = [{ address: '198.51.100.20', prefix: 32 }];
    expect(
      keepalivedContent({ ...base, nopreempt: true, addresses })
        .split('\n')
        .slice(6, 8),
    ).toEqual(['    advert_int 1', '    nopreempt']);
    expect(
      keepalivedContent({ ...base, preemptDelay: 30, addresses })
        .split('\n')
        .slice(6, 8),
    ).toEqual(['    advert_int 1', '    preempt_delay 30']);
  });

  it("gives each director its own address and the others' for unicast VRRP, and writes them into keepalived's file", () => {
    // GIVEN a pair of three directors with unicast peers (a network without multicast)
    const { app: a, stack, pool, outdir } = app();
    new DirectorPair(stack, 'edge', {
      directors: [1, 2, 3].map((n) => ({ id: `lb${n}`, ssh: { host: `203.0.113.${n}` } })),
      vrrp: { interface: 'eth1', virtualRouterId: 51, unicastPeers: ['192.0.2.1', '192.0.2.2', '192.0.2.3'] },
    }).addVirtualService('http', { address: '198.51.100.20', port: 80, pools: [pool] });
    // WHEN synthesized THEN each director advertises from its own address to the two others
    expect(directors(synthJson(a, outdir)).map((d) => [d.name, d.vrrp.unicast_src_ip, d.vrrp.unicast_peer])).toEqual([
      ['lb1', '192.0.2.1', ['192.0.2.2', '192.0.2.3']],
      ['lb2', '192.0.2.2', ['192.0.2.1', '192.0.2.3']],
      ['lb3', '192.0.2.3', ['192.0.2.1', '192.0.2.2']],
    ]);
    // AND keepalived's file says so after the authentication, before the addresses
    const base = { instance: 'x', interface: 'eth1', virtualRouterId: 51, priority: 150, state: 'MASTER' as const, advertInterval: 1 };
    const text = keepalivedContent({
      ...base,
      addresses: [{ address: '198.51.100.20', prefix: 32 }],
      unicast: { source: '192.0.2.1', peers: ['192.0.2.2', '192.0.2.3'] },
    });
    expect(text.split('\n').slice(6, 12)).toEqual([
      '    advert_int 1',
      '    unicast_src_ip 192.0.2.1',
      '    unicast_peer {',
      '        192.0.2.2',
      '        192.0.2.3',
      '    }',
    ]);
    // AND a pair that moves IPv6 addresses only takes IPv6 peers (it advertises over IPv6), and refuses IPv4 ones
    const six = app();
    new DirectorPair(six.stack, 'edge', {
      directors: [1, 2].map((n) => ({ id: `lb${n}`, ssh: { host: `203.0.113.${n}` } })),
      vrrp: { interface: 'eth1', virtualRouterId: 52, unicastPeers: ['2001:db8::1', '2001:db8::2'] },
    }).addVirtualService('http', { address: '2001:db8:100::20', port: 80, pools: [pool6(six.stack)] });
    expect(directors(synthJson(six.app, six.outdir)).map((d) => [d.vrrp.unicast_src_ip, d.vrrp.unicast_peer])).toEqual([
      ['2001:db8::1', ['2001:db8::2']],
      ['2001:db8::2', ['2001:db8::1']],
    ]);
    // AND two spellings of one address are one address: written canonical, and refused when listed twice
    const spelt = app();
    new DirectorPair(spelt.stack, 'edge', {
      directors: [1, 2].map((n) => ({ id: `lb${n}`, ssh: { host: `203.0.113.${n}` } })),
      vrrp: { interface: 'eth1', virtualRouterId: 52, unicastPeers: ['2001:DB8:0::1', '2001:db8::2'] },
    }).addVirtualService('http', { address: '2001:db8:100::20', port: 80, pools: [pool6(spelt.stack)] });
    expect(directors(synthJson(spelt.app, spelt.outdir)).map((d) => d.vrrp.unicast_src_ip)).toEqual(['2001:db8::1', '2001:db8::2']);
    expect(
      () =>
        new DirectorPair(app().stack, 'edge', {
          directors: [1, 2].map((n) => ({ id: `lb${n}`, ssh: { host: `203.0.113.${n}` } })),
          vrrp: { interface: 'eth1', virtualRouterId: 52, unicastPeers: ['2001:DB8::1', '2001:db8:0::1'] },
        }),
    ).toThrow(/vrrp\.unicastPeers lists 2001:db8::1 twice/);
    // AND the rules of a hand-edited file compare addresses, not their text
    const six6 = { instance: 'x', interface: 'eth1', virtual_router_id: 52, priority: 100, state: 'BACKUP', advert_int: 1 };
    const addresses = [{ address: '2001:db8:100::20', prefix: 128 }];
    expect(vrrpProblems({ ...six6, addresses, unicast_src_ip: '2001:db8::1', unicast_peer: ['2001:DB8:0::1'] }).map((p) => p.message)).toEqual([
      'vrrp.unicast_peer[0] "2001:DB8:0::1" is the director\'s own address (unicast_src_ip)',
    ]);
    expect(vrrpProblems({ ...six6, addresses, unicast_src_ip: '2001:db8::1', unicast_peer: ['2001:db8::2', '2001:DB8::2'] }).map((p) => p.message)).toEqual([
      'vrrp.unicast_peer[1] "2001:DB8::2" is listed twice',
    ]);
    const four = app();
    new DirectorPair(four.stack, 'edge', {
      directors: [1, 2].map((n) => ({ id: `lb${n}`, ssh: { host: `203.0.113.${n}` } })),
      vrrp: { interface: 'eth1', virtualRouterId: 52, unicastPeers: ['192.0.2.1', '192.0.2.2'] },
    }).addVirtualService('http', { address: '2001:db8:100::20', port: 80, pools: [pool6(four.stack)] });
    expect(() => synthJson(four.app, four.outdir)).toThrow(/vrrp\.unicastPeers\[0\] "192\.0\.2\.1" is not IPv6/);
    // AND without unicastPeers there is none of it (multicast, as before)
    expect(keepalivedContent({ ...base, addresses: [{ address: '198.51.100.20', prefix: 32 }] })).not.toContain('unicast');
  });

  it('refuses a director in two pairs', () => {
    // GIVEN lb1 already in one pair WHEN it joins a second THEN the second pair's construction throws
    const { stack } = app();
    const lb1 = new Director(stack, 'lb1', { ssh: { host: '203.0.113.2' } });
    const lb2 = new Director(stack, 'lb2', { ssh: { host: '203.0.113.6' } });
    const lb3 = new Director(stack, 'lb3', { ssh: { host: '203.0.113.10' } });
    new DirectorPair(stack, 'a', { directors: [lb1, lb2], vrrp: { interface: 'eth1', virtualRouterId: 1 } });
    expect(() => new DirectorPair(stack, 'b', { directors: [lb1, lb3], vrrp: { interface: 'eth1', virtualRouterId: 2 } })).toThrow(
      /web\/b: director web\/lb1 is already in director pair web\/a; a director belongs to one pair/,
    );
  });
});
