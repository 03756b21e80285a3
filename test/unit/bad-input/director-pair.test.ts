/**
 * The bad-input catalogue, continued: director pairs. The constructs refuse at synth (with the construct path) what
 * the synthesized-JSON reader refuses in a hand-edited file (with the JSON path): a pair of one director, a VIP that
 * both `vips` and VRRP would own, keepalived's bounds (router id, priority, password), unicast peers that are not one
 * unicast address of the pair's family per director, a sync id out of range, a misspelt key. cdktf.out stays byte-identical.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'vitest';
import { CDKTF_JSON, LIB, project } from './cli-helpers.ts';
import { expectRefused, synthesizedProject, type EdgeCase } from './edges-helpers.ts';

function app(body: string): string {
  return [
    `import { App, LvsStack, Director, DirectorPair, RealServerPool, Forwarding } from ${JSON.stringify(LIB)};`,
    `const app = new App({ outdir: process.env.CDKTF_OUTDIR ?? 'cdktf.out' });`,
    `const stack = new LvsStack(app, 'web');`,
    `const pool = new RealServerPool(stack, 'pool', { forwarding: Forwarding.DIRECT_ROUTING, members: [{ address: '198.51.100.11' }] });`,
    body,
    `app.synth();`,
  ].join('\n');
}

async function appProject(body: string): Promise<{ dir: string; argv: string[] }> {
  const dir = project({ 'cdktf.json': CDKTF_JSON, 'app.ts': app(body) });
  return { dir, argv: ['-C', dir, 'synth'] };
}

const LB = (extra = '') => `{ id: 'lb1', ssh: { host: '203.0.113.2' }${extra} }, { id: 'lb2', ssh: { host: '203.0.113.6' } }`;
const pair = (vrrp: string, members = LB(), rest = '') =>
  `const edge = new DirectorPair(stack, 'edge', { directors: [${members}], vrrp: ${vrrp}${rest} });\nedge.addVirtualService('http', { address: '198.51.100.20', port: 80, pools: [pool] });`;
const VRRP = `{ interface: 'eth1', virtualRouterId: 51 }`;

/** A good synth whose director lb1 is then edited by hand; `plan --no-synth` reads it. */
async function edited(edit: (director: any) => void): Promise<{ dir: string; argv: string[] }> {
  const dir = await synthesizedProject();
  const file = path.join(dir, 'cdktf.out/stacks/web/cdk.tf.json');
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  const [key] = Object.keys(doc.resource.lvsform_director);
  edit(doc.resource.lvsform_director[key!]);
  fs.writeFileSync(file, JSON.stringify(doc, null, 2));
  return { dir, argv: ['-C', dir, 'plan', '--no-synth'] };
}

const GOOD_VRRP = {
  instance: 'web-edge',
  interface: 'eth1',
  virtual_router_id: 51,
  priority: 150,
  state: 'MASTER',
  advert_int: 1,
  addresses: [{ address: '198.51.100.10', prefix: 32 }],
};

describe('director pairs: refused at synth and in a hand-edited cdk.tf.json', () => {
  const cases: EdgeCase[] = [
    {
      name: 'a pair of one director',
      given: () => appProject(`new DirectorPair(stack, 'edge', { directors: [{ id: 'lb1', ssh: { host: '203.0.113.2' } }], vrrp: ${VRRP} });`),
      code: 'LVS_VALIDATION',
      message: /web\/edge: directors lists the pair's two \(or more\) directors/,
    },
    {
      name: 'a VIP that vips and VRRP would both own',
      given: () => appProject(pair(VRRP, LB(`, vips: { interface: 'eth1' }`))),
      code: 'LVS_VALIDATION',
      message: /director web\/lb1 has vips, which puts 198\.51\.100\.20 on it, and the pair's VRRP moves them: an address has one owner/,
    },
    {
      name: 'a router id out of range',
      given: () => appProject(pair(`{ interface: 'eth1', virtualRouterId: 256 }`)),
      code: 'LVS_VALIDATION',
      message: /web\/edge: vrrp\.virtualRouterId must be an integer 1\.\.255/,
    },
    {
      name: 'a password keepalived would cut',
      given: () => appProject(pair(`{ interface: 'eth1', virtualRouterId: 51, authPass: 'much-too-long' }`)),
      code: 'LVS_VALIDATION',
      message: /web\/edge: vrrp\.authPass is 1 to 8 characters/,
    },
    {
      name: 'two directors of one priority',
      given: () =>
        appProject(pair(VRRP, `{ id: 'lb1', ssh: { host: '203.0.113.2' }, priority: 100 }, { id: 'lb2', ssh: { host: '203.0.113.6' }, priority: 100 }`)),
      code: 'LVS_VALIDATION',
      message: /web\/edge: each director of a pair needs its own VRRP priority; got 100, 100/,
    },
    {
      name: 'a sync id out of range',
      given: () => appProject(pair(VRRP, LB(), `, sync: { interface: 'eth1', syncId: 300 }`)),
      code: 'LVS_VALIDATION',
      message: /web\/edge: sync\.syncId must be an integer 0\.\.255/,
    },
    {
      name: 'a misspelt vrrp prop',
      given: () => appProject(pair(`{ interface: 'eth1', virtualRouterID: 51 } as never`)),
      code: 'LVS_VALIDATION',
      message: /web\/edge: vrrp has no prop "virtualRouterID" \(did you mean virtualRouterId\?\)/,
    },
    {
      name: 'nopreempt with a preemptDelay',
      given: () => appProject(pair(`{ interface: 'eth1', virtualRouterId: 51, nopreempt: true, preemptDelay: 30 }`)),
      code: 'LVS_VALIDATION',
      message: /web\/edge: vrrp\.preemptDelay delays a preemption that vrrp\.nopreempt turns off \(keepalived drops it\): give one of them/,
    },
    {
      name: "a preemptDelay beyond keepalived's range",
      given: () => appProject(pair(`{ interface: 'eth1', virtualRouterId: 51, preemptDelay: 1001 }`)),
      code: 'LVS_VALIDATION',
      message: /web\/edge: vrrp\.preemptDelay must be an integer 1\.\.1000 seconds; got 1001/,
    },
    {
      name: 'hand-edited: nopreempt on an instance that starts as MASTER',
      given: () => edited((d) => void (d.vrrp = { ...GOOD_VRRP, nopreempt: true })),
      code: 'LVS_SYNTH_INVALID',
      message:
        /lvsform_director\.[A-Za-z0-9_]+\.vrrp\.state: vrrp\.nopreempt needs state BACKUP on every director \(keepalived ignores it on one that starts as MASTER\); got MASTER/,
    },
    {
      name: 'hand-edited: a priority of 255',
      given: () => edited((d) => void (d.vrrp = { ...GOOD_VRRP, priority: 255 })),
      code: 'LVS_SYNTH_INVALID',
      message: /lvsform_director\.[A-Za-z0-9_]+\.vrrp\.priority: vrrp\.priority must be an integer 1\.\.254/,
    },
    {
      name: 'unicast peers that are not one per director',
      given: () => appProject(pair(`{ interface: 'eth1', virtualRouterId: 51, unicastPeers: ['203.0.113.2'] }`)),
      code: 'LVS_VALIDATION',
      message: /web\/edge: vrrp\.unicastPeers lists each director's own address on the VRRP interface, one per director in the order of directors \(2\)/,
    },
    {
      name: 'a unicast peer listed twice',
      given: () => appProject(pair(`{ interface: 'eth1', virtualRouterId: 51, unicastPeers: ['203.0.113.2', '203.0.113.2'] }`)),
      code: 'LVS_VALIDATION',
      message: /web\/edge: vrrp\.unicastPeers lists 203\.0\.113\.2 twice: each director has its own address/,
    },
    {
      name: 'a unicast peer of the other family',
      given: () => appProject(pair(`{ interface: 'eth1', virtualRouterId: 51, unicastPeers: ['203.0.113.2', '2001:db8::6'] }`)),
      code: 'LVS_VALIDATION',
      message: /web\/edge: vrrp\.unicastPeers\[1\] "2001:db8::6" is not IPv4, the family the instance advertises in/,
    },
    {
      name: 'a multicast address as a unicast peer',
      given: () => appProject(pair(`{ interface: 'eth1', virtualRouterId: 51, unicastPeers: ['224.0.0.18', '203.0.113.6'] }`)),
      code: 'LVS_VALIDATION',
      message: /web\/edge: vrrp\.unicastPeers\[0\] "224\.0\.0\.18" is multicast/,
    },
    {
      name: 'hand-edited: unicast peers without the own address',
      given: () => edited((d) => void (d.vrrp = { ...GOOD_VRRP, unicast_peer: ['203.0.113.6'] })),
      code: 'LVS_SYNTH_INVALID',
      message: /lvsform_director\.[A-Za-z0-9_]+\.vrrp\.unicast_src_ip: vrrp\.unicast_src_ip is missing: unicast VRRP needs the director's own address/,
    },
    {
      name: "hand-edited: the director's own address among its unicast peers",
      given: () => edited((d) => void (d.vrrp = { ...GOOD_VRRP, unicast_src_ip: '203.0.113.2', unicast_peer: ['203.0.113.2'] })),
      code: 'LVS_SYNTH_INVALID',
      message: /vrrp\.unicast_peer\[0\]: vrrp\.unicast_peer\[0\] "203\.0\.113\.2" is the director's own address \(unicast_src_ip\)/,
    },
    {
      name: 'hand-edited: a sync daemon on no interface',
      given: () => edited((d) => void (d.sync_daemon = { interface: 'eth 1', sync_id: 5, roles: ['master'] })),
      code: 'LVS_SYNTH_INVALID',
      message: /lvsform_director\.[A-Za-z0-9_]+\.sync_daemon\.interface: the sync daemon's interface is 1 to 15/,
    },
  ];
  for (const c of cases) it(c.name, () => expectRefused(c), 60_000);
});
