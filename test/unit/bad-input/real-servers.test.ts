/**
 * The bad-input catalogue, continued: real-server hosts. The constructs refuse at synth (with the construct path) what
 * the synthesized-JSON reader refuses in a hand-edited file (with the JSON path): an address that is no unicast
 * address, one claimed by two hosts, NAT gateways that name a family twice, a client network that is none, a misspelt
 * key. cdktf.out stays
 * byte-identical.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'vitest';
import { CDKTF_JSON, LIB, project } from './cli-helpers.ts';
import { expectRefused, synthesizedProject, type EdgeCase } from './edges-helpers.ts';

function app(body: string): string {
  return [
    `import { App, LvsStack, Director, RealServerHost, RealServerPool, Forwarding } from ${JSON.stringify(LIB)};`,
    `const app = new App({ outdir: process.env.CDKTF_OUTDIR ?? 'cdktf.out' });`,
    `const stack = new LvsStack(app, 'web');`,
    `const lb1 = new Director(stack, 'lb1', { ssh: { host: '203.0.113.2', user: 'root' } });`,
    `const pool = new RealServerPool(stack, 'pool', { forwarding: Forwarding.DIRECT_ROUTING, members: [{ address: '192.0.2.11' }] });`,
    `lb1.addVirtualService('http', { address: '198.51.100.10', port: 80, pools: [pool] });`,
    body,
    `app.synth();`,
  ].join('\n');
}

async function appProject(body: string): Promise<{ dir: string; argv: string[] }> {
  const dir = project({ 'cdktf.json': CDKTF_JSON, 'app.ts': app(body) });
  return { dir, argv: ['-C', dir, 'synth'] };
}

/** A good synth with one real-server host, whose resource is then edited by hand; `plan --no-synth` reads it. */
async function edited(edit: (host: any) => void): Promise<{ dir: string; argv: string[] }> {
  const dir = await synthesizedProject();
  const file = path.join(dir, 'cdktf.out/stacks/web/cdk.tf.json');
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  const host: any = { name: 'rs1', format_version: 1, construct_path: 'web/rs1', transport: 'ssh', ssh: { host: '192.0.2.11' }, addresses: ['192.0.2.11'] };
  edit(host);
  doc.resource.lvsform_real_server_host = { rs1_0A1B2C3D: host };
  fs.writeFileSync(file, JSON.stringify(doc, null, 2));
  return { dir, argv: ['-C', dir, 'plan', '--no-synth'] };
}

const SSH = `ssh: { host: '192.0.2.11', user: 'root' }`;
const RS = /cdk\.tf\.json: resource\.lvsform_real_server_host\.rs1_0A1B2C3D/.source;

describe('real-server hosts: refused at synth and in a hand-edited cdk.tf.json', () => {
  const cases: EdgeCase[] = [
    {
      name: 'an address that is no address',
      given: () => appProject(`new RealServerHost(stack, 'rs1', { ${SSH}, addresses: ['192.0.2.300'] });`),
      code: 'LVS_VALIDATION',
      message: /web\/rs1: address "192\.0\.2\.300" is not an IPv4/,
    },
    {
      name: 'one address claimed by two hosts',
      given: () =>
        appProject(
          `new RealServerHost(stack, 'rs1', { ${SSH}, addresses: ['192.0.2.11'] });\nnew RealServerHost(stack, 'rs2', { ssh: { host: '192.0.2.12' }, addresses: ['192.0.2.11'] });`,
        ),
      code: 'LVS_VALIDATION',
      message: /address 192\.0\.2\.11 is claimed by real-server hosts web\/rs1 and web\/rs2/,
    },
    {
      name: 'two IPv4 NAT gateways',
      given: () => appProject(`new RealServerHost(stack, 'rs1', { ${SSH}, addresses: ['192.0.2.11'], nat: { gateways: ['192.0.2.1', '192.0.2.2'] } });`),
      code: 'LVS_VALIDATION',
      message: /web\/rs1: nat\.gateways names two IPv4 gateways; one per family/,
    },
    {
      name: 'a client network with host bits set',
      given: () =>
        appProject(`new RealServerHost(stack, 'rs1', { ${SSH}, addresses: ['192.0.2.11'], nat: { gateways: ['192.0.2.1'], clients: ['203.0.113.7/24'] } });`),
      code: 'LVS_VALIDATION',
      message: /web\/rs1: client network "203\.0\.113\.7\/24" has host bits set; write 203\.0\.113\.0\/24/,
    },
    {
      name: 'a misspelt prop',
      given: () => appProject(`new RealServerHost(stack, 'rs1', { ${SSH}, adresses: ['192.0.2.11'] } as never);`),
      code: 'LVS_VALIDATION',
      message: /web\/rs1: a RealServerHost has no prop "adresses" \(did you mean addresses\?\)/,
    },
    {
      name: 'hand-edited: a multicast address',
      given: () => edited((h) => void (h.addresses = ['224.0.0.1'])),
      code: 'LVS_SYNTH_INVALID',
      message: new RegExp(`${RS}\\.addresses\\[0\\]: address "224\\.0\\.0\\.1" is multicast`),
      json: true,
    },
    {
      name: 'hand-edited: two IPv6 NAT gateways',
      given: () => edited((h) => void (h.nat = { gateways: ['2001:db8::1', '2001:db8::2'], manage: false })),
      code: 'LVS_SYNTH_INVALID',
      message: new RegExp(`${RS}\\.nat\\.gateways\\[1\\]: nat\\.gateways names two IPv6 gateways`),
    },
    {
      name: 'hand-edited: a client network that is no network',
      given: () => edited((h) => void (h.nat = { gateways: ['192.0.2.1'], manage: false, clients: ['203.0.113.0/33'] })),
      code: 'LVS_SYNTH_INVALID',
      message: new RegExp(`${RS}\\.nat\\.clients\\[0\\]: client network "203\\.0\\.113\\.0/33" has a prefix length above 32`),
    },
    {
      name: 'hand-edited: a misspelt key',
      given: () => edited((h) => void (h.interfaces = 'eth1')),
      code: 'LVS_SYNTH_INVALID',
      message: new RegExp(`${RS}: Unrecognized key\\(s\\) in object: 'interfaces' \\(did you mean 'interface'\\?\\)`),
    },
    {
      name: 'hand-edited: a host named as the director',
      given: () => edited((h) => void (h.name = 'lb1')),
      code: 'LVS_SYNTH_INVALID',
      message: new RegExp(`${RS}\\.name: host name "lb1" is used twice`),
    },
  ];
  for (const c of cases) it(c.name, () => expectRefused(c), 60_000);
});
