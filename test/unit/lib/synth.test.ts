import fs from 'node:fs';
import path from 'node:path';
import { TerraformStack } from '../../../lib/cdktf.ts';
import { describe, expect, it } from 'vitest';
import {
  AddressFamily,
  App,
  Director,
  FORMAT_VERSION,
  Forwarding,
  LvsStack,
  PersistenceEngine,
  Protocol,
  RealServerPool,
  Scheduler,
  TunnelChecksum,
  TunnelType,
} from '../../../lib/index.ts';
import { fixture, onlyResource, synthJson, tempOutdir } from './helpers.ts';

describe('lvsform_director', () => {
  it.each([
    ['ssh by host, only set keys', { ssh: { host: '203.0.113.2' } }, { transport: 'ssh', ssh: { host: '203.0.113.2' } }],
    [
      'ssh with every key',
      {
        ssh: { host: 'lb1.example.net', port: 2222, user: 'root', identityFile: '/k/id', knownHostsFile: '/k/known', configFile: '/k/cfg' },
      },
      {
        transport: 'ssh',
        ssh: { host: 'lb1.example.net', port: 2222, user: 'root', identity_file: '/k/id', known_hosts_file: '/k/known', config_file: '/k/cfg' },
      },
    ],
    [
      'ssh by config file and alias',
      { ssh: { configFile: 'lab/ssh_config', alias: 'director' } },
      { transport: 'ssh', ssh: { config_file: 'lab/ssh_config', alias: 'director' } },
    ],
    ['local', { local: true }, { transport: 'local' }],
  ])('%s', (_case, props, expected) => {
    // GIVEN a director
    const outdir = tempOutdir();
    const app = new App({ outdir });
    new Director(new LvsStack(app, 'web'), 'lb1', props);
    // WHEN the app is synthesized
    const json = synthJson(app, outdir);
    // THEN the director resource carries name, format version, transport and the ssh keys that were set
    expect(onlyResource(json, 'lvsform_director')).toEqual({ name: 'lb1', format_version: FORMAT_VERSION, ...expected });
  });

  it('uses the name prop over the construct id', () => {
    // GIVEN a director whose name differs from its id
    const outdir = tempOutdir();
    const app = new App({ outdir });
    new Director(new LvsStack(app, 'web'), 'primary', { local: true, name: 'lb-a' });
    // WHEN synthesized
    // THEN the name is the prop
    expect(onlyResource(synthJson(app, outdir), 'lvsform_director').name).toBe('lb-a');
  });
});

describe('lvsform_virtual_service', () => {
  it('writes every default explicitly for a NAT service', () => {
    // GIVEN a service with one real server and nothing else set
    const { app, lb1, outdir } = fixture();
    lb1.addVirtualService('http', { address: '198.51.100.10', port: 80 }).addRealServer({ address: '192.0.2.11' });
    // WHEN synthesized
    const json = synthJson(app, outdir);
    // THEN the resource spells out scheduler, flags, one-packet and each real server's port, weight and thresholds
    const director = Object.keys(json.resource.lvsform_director)[0];
    expect(onlyResource(json, 'lvsform_virtual_service')).toEqual({
      director: 'lb1',
      construct_path: 'web/lb1/http',
      protocol: 'tcp',
      address: '198.51.100.10',
      port: 80,
      scheduler: 'wlc',
      scheduler_flags: [],
      one_packet: false,
      real_server: [
        {
          address: '192.0.2.11',
          port: 80,
          forwarding: 'masq',
          weight: 1,
          upper_threshold: 0,
          lower_threshold: 0,
          pool: 'web/lb1/http/RealServers',
        },
      ],
      depends_on: [`lvsform_director.${director}`],
    });
  });

  it('writes a firewall-mark service with family, persistence and scheduler flags', () => {
    // GIVEN an IPv6 fwmark service, persistent per /64, Maglev with fallback and port
    const { app, lb1, outdir } = fixture();
    lb1
      .addVirtualService('mark', {
        firewallMark: 2,
        family: AddressFamily.IPV6,
        scheduler: Scheduler.maglevHash({ fallback: true, port: true }),
        persistence: { timeout: 600, prefixLength: 64 },
      })
      .addRealServer({ address: '2001:db8::11' });
    // WHEN synthesized
    const svc = onlyResource(synthJson(app, outdir), 'lvsform_virtual_service');
    // THEN identity is mark + family, the prefix is written as decimal text, members default to port 0
    expect(svc).toMatchObject({
      firewall_mark: 2,
      family: 'inet6',
      scheduler: 'mh',
      scheduler_flags: ['flag-1', 'flag-2'],
      persistence: { timeout: 600, netmask: '64' },
    });
    expect(svc).not.toHaveProperty('protocol');
    expect(svc).not.toHaveProperty('address');
    expect(svc.real_server[0].port).toBe(0);
  });

  it.each([
    ['an IPv4 service', { address: '198.51.100.10', port: 80, persistence: {} }, { timeout: 360, netmask: '255.255.255.255' }],
    ['an IPv6 service', { address: '2001:db8:100::10', port: 80, persistence: {} }, { timeout: 360, netmask: '128' }],
    [
      'an IPv4 fwmark service with a /24',
      { firewallMark: 1, persistence: { timeout: 300, netmask: '255.255.255.0' } },
      { timeout: 300, netmask: '255.255.255.0' },
    ],
  ])('writes persistence defaults for %s', (_case, props, expected) => {
    // GIVEN a persistent service
    const { app, lb1, outdir } = fixture();
    lb1.addVirtualService('svc', props);
    // WHEN synthesized
    // THEN timeout and netmask are explicit
    expect(onlyResource(synthJson(app, outdir), 'lvsform_virtual_service').persistence).toEqual(expected);
  });

  it('omits persistence and persistence_engine when unset, and writes them when set', () => {
    // GIVEN one plain and one SIP-persistent UDP service
    const { app, lb1, outdir } = fixture();
    lb1.addVirtualService('plain', { address: '198.51.100.10', port: 80 });
    lb1.addVirtualService('sip', {
      protocol: Protocol.UDP,
      address: '198.51.100.11',
      port: 5060,
      persistence: {},
      persistenceEngine: PersistenceEngine.SIP,
      onePacket: true,
    });
    // WHEN synthesized
    const services = Object.values(synthJson(app, outdir).resource.lvsform_virtual_service) as any[];
    const plain = services.find((s) => s.port === 80);
    const sip = services.find((s) => s.port === 5060);
    // THEN the plain one has neither key and the SIP one has both
    expect(plain).not.toHaveProperty('persistence');
    expect(plain).not.toHaveProperty('persistence_engine');
    expect(sip).toMatchObject({ protocol: 'udp', persistence_engine: 'sip', one_packet: true });
  });

  it.each([
    ['ipip', Forwarding.tunnel(), { forwarding: 'tunnel', tunnel_type: 'ipip' }],
    [
      'gue',
      Forwarding.tunnel({ type: TunnelType.GUE, port: 6080 }),
      { forwarding: 'tunnel', tunnel_type: 'gue', tunnel_port: 6080, tunnel_checksum: 'nocsum' },
    ],
    [
      'gre with checksum',
      Forwarding.tunnel({ type: TunnelType.GRE, checksum: TunnelChecksum.CHECKSUM }),
      { forwarding: 'tunnel', tunnel_type: 'gre', tunnel_checksum: 'csum' },
    ],
    ['direct routing', Forwarding.DIRECT_ROUTING, { forwarding: 'droute' }],
  ])('writes the %s forwarding of a real server', (_case, forwarding, expected) => {
    // GIVEN a real server with that forwarding
    const { app, lb1, outdir } = fixture();
    lb1.addVirtualService('svc', { address: '198.51.100.30', port: 80 }).addRealServer({ address: '192.0.2.11', forwarding });
    // WHEN synthesized
    const rs = onlyResource(synthJson(app, outdir), 'lvsform_virtual_service').real_server[0];
    // THEN only the tunnel keys that apply are present
    const { address, port, weight, upper_threshold, lower_threshold, pool, ...rest } = rs;
    expect(rest).toEqual(expected);
  });

  it('writes addresses in canonical form and sorts real servers by address:port text', () => {
    // GIVEN an IPv6 service with members given in mixed case, uncompressed and out of order
    const { app, lb1, outdir } = fixture();
    lb1
      .addVirtualService('svc', { address: '2001:DB8:100:0:0:0:0:10', port: 80 })
      .addRealServer({ address: '2001:db8:0:0::13' })
      .addRealServer({ address: '2001:0db8::11', port: 8080 })
      .addRealServer({ address: '2001:db8::11' });
    // WHEN synthesized
    const svc = onlyResource(synthJson(app, outdir), 'lvsform_virtual_service');
    // THEN addresses are RFC 5952 and destinations sorted as the provider model sorts them
    expect(svc.address).toBe('2001:db8:100::10');
    expect(svc.real_server.map((r: any) => `${r.address} ${r.port}`)).toEqual(['2001:db8::11 80', '2001:db8::11 8080', '2001:db8::13 80']);
  });

  it('lets a member override its pool and inherit the rest', () => {
    // GIVEN a DR pool with weight 5 and thresholds, and a member overriding weight only
    const { app, stack, lb1, outdir } = fixture();
    const pool = new RealServerPool(stack, 'pool', {
      forwarding: Forwarding.DIRECT_ROUTING,
      weight: 5,
      upperThreshold: 100,
      lowerThreshold: 10,
      members: [{ address: '192.0.2.11', weight: 0 }, { address: '192.0.2.12' }],
    });
    lb1.addVirtualService('svc', { address: '198.51.100.20', port: 80 }).addPool(pool);
    // WHEN synthesized
    const reals = onlyResource(synthJson(app, outdir), 'lvsform_virtual_service').real_server;
    // THEN the override wins and the other values come from the pool
    expect(reals.map((r: any) => [r.address, r.forwarding, r.weight, r.upper_threshold, r.lower_threshold, r.pool])).toEqual([
      ['192.0.2.11', 'droute', 0, 100, 10, 'web/pool'],
      ['192.0.2.12', 'droute', 5, 100, 10, 'web/pool'],
    ]);
  });

  it('lets one service take several pools', () => {
    // GIVEN two pools on one service
    const { app, stack, lb1, outdir } = fixture();
    const a = new RealServerPool(stack, 'a', { members: [{ address: '192.0.2.12' }] });
    const b = new RealServerPool(stack, 'b').addMember({ address: '192.0.2.11' });
    lb1
      .addVirtualService('svc', { address: '198.51.100.10', port: 80, pools: [a] })
      .addPool(b)
      .addPool(a);
    // WHEN synthesized
    const reals = onlyResource(synthJson(app, outdir), 'lvsform_virtual_service').real_server;
    // THEN both pools' members are present once each
    expect(reals.map((r: any) => [r.address, r.pool])).toEqual([
      ['192.0.2.11', 'web/b'],
      ['192.0.2.12', 'web/a'],
    ]);
  });
});

describe('synthesis', () => {
  function build(outdir: string): App {
    const app = new App({ outdir });
    const stack = new LvsStack(app, 'web');
    const pool = new RealServerPool(stack, 'pool', { members: [{ address: '192.0.2.13' }, { address: '192.0.2.11' }] });
    for (const id of ['lb1', 'lb2']) {
      const d = new Director(stack, id, { ssh: { host: `${id}.example.net` } });
      d.addVirtualService('http', { address: '198.51.100.10', port: 80, pools: [pool] });
      d.addVirtualService('dns', { protocol: Protocol.UDP, address: '198.51.100.10', port: 53 }).addRealServer({ address: '192.0.2.11' });
    }
    return app;
  }

  it('is deterministic: the same app gives the same bytes', () => {
    // GIVEN the same app built twice
    const [a, b] = [tempOutdir(), tempOutdir()];
    build(a).synth();
    build(b).synth();
    // WHEN both outputs are read
    const read = (d: string) => fs.readFileSync(path.join(d, 'stacks', 'web', 'cdk.tf.json'));
    // THEN they are byte-for-byte equal
    expect(read(a).equals(read(b))).toBe(true);
  });

  it('writes valid Terraform JSON with a relative local backend and the cdktf manifest', () => {
    // GIVEN an app
    const outdir = tempOutdir();
    build(outdir).synth();
    // WHEN the outputs are read
    const json = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', 'web', 'cdk.tf.json'), 'utf8'));
    const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
    // THEN resources sit under lvsform_* types and the state path does not depend on the working directory
    expect(Object.keys(json.resource).sort()).toEqual(['lvsform_director', 'lvsform_virtual_service']);
    expect(Object.keys(json.resource.lvsform_virtual_service)).toHaveLength(4);
    expect(json.terraform.backend.local.path).toBe('terraform.web.tfstate');
    expect(Object.keys(manifest.stacks)).toEqual(['web']);
  });

  it('renders exactly what cdktf would render through its token resolver', () => {
    // GIVEN an app
    const outdir = tempOutdir();
    const app = build(outdir);
    const stack = app.node.findChild('web') as LvsStack;
    // WHEN the stack is rendered by the fast path and by cdktf's own TerraformStack.toTerraform
    const fast = stack.toTerraform();
    const slow = TerraformStack.prototype.toTerraform.call(stack);
    // THEN both are equal
    expect(fast).toEqual(slow);
  });
});
