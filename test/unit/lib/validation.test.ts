import path from 'node:path';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  AddressFamily,
  App,
  Director,
  Forwarding,
  LvsStack,
  PersistenceEngine,
  Protocol,
  RealServerPool,
  Scheduler,
  ValidationError,
  VirtualService,
  type VirtualServiceProps,
  type DirectorProps,
  type RealServerProps,
} from '../../../lib/index.ts';
import { filesUnder, fixture, tempOutdir } from './helpers.ts';

function thrown(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  throw new Error('expected a ValidationError');
}

describe('VirtualService props judged alone throw at once', () => {
  const vip = { address: '198.51.100.10', port: 80 };
  it.each<[string, VirtualServiceProps, RegExp]>([
    [
      'port 0 without persistence',
      { address: '198.51.100.10', port: 0 },
      /^web\/lb1\/svc: port 0 needs persistence \(ipvsadm -p\).*got port 0 without persistence$/,
    ],
    ['port above 65535', { address: '198.51.100.10', port: 65536 }, /port must be an integer 0\.\.65535; got 65536/],
    ['a fractional port', { address: '198.51.100.10', port: 80.5 }, /got 80.5/],
    ['a missing port', { address: '198.51.100.10' }, /needs a port/],
    ['no identity at all', {}, /needs address \+ port \(with protocol\) or firewallMark; got neither/],
    ['address and firewall mark together', { ...vip, firewallMark: 1 }, /either protocol \+ address \+ port or firewallMark/],
    ['family on an address service', { ...vip, family: AddressFamily.IPV6 }, /family is for firewall-mark services/],
    ['a host name as address', { address: 'www.example.com', port: 80 }, /"www.example.com" is not an IPv4/],
    ['an IPv4 address with leading zeros', { address: '198.51.100.010', port: 80 }, /is not an IPv4/],
    ['an IPv6 address with a zone', { address: 'fe80::1%eth0', port: 80 }, /is not an IPv4/],
    ['a multicast VIP', { address: '224.0.0.1', port: 80 }, /virtual address 224\.0\.0\.1 is multicast/],
    ['the broadcast VIP', { address: '255.255.255.255', port: 80 }, /is the limited broadcast address/],
    ['an unspecified VIP', { address: '0.0.0.0', port: 80 }, /is unspecified/],
    ['the IPv6 unspecified VIP', { address: '::', port: 80 }, /is unspecified \(::\)/],
    ['an IPv6 multicast VIP', { address: 'ff02::1', port: 80 }, /is multicast \(ff00::\/8\)/],
    ['an IPv4-mapped VIP', { address: '::ffff:198.51.100.10', port: 80 }, /is IPv4-mapped; use the IPv4 address 198\.51\.100\.10/],
    ['an IPv4-compatible VIP', { address: '::198.51.100.10', port: 80 }, /is IPv4-compatible/],
    ['firewall mark 0', { firewallMark: 0 }, /firewallMark must be an integer 1\.\.4294967295; got 0/],
    ['firewall mark 2^32', { firewallMark: 4294967296 }, /got 4294967296/],
    ['persistence timeout 0', { ...vip, persistence: { timeout: 0 } }, /persistence timeout must be an integer 1\.\.2678400/],
    ['persistence timeout above 31 days', { ...vip, persistence: { timeout: 2678401 } }, /got 2678401/],
    ['a netmask that is no address', { ...vip, persistence: { netmask: '/24' } }, /dotted IPv4 mask like 255\.255\.255\.0; got "\/24"/],
    ['an IPv6 address as netmask', { ...vip, persistence: { netmask: 'ffff::' } }, /dotted IPv4 mask/],
    ['prefixLength on IPv4', { ...vip, persistence: { prefixLength: 24 } }, /prefixLength is for IPv6 services/],
    ['netmask on IPv6', { address: '2001:db8:100::10', port: 80, persistence: { netmask: '255.255.255.0' } }, /netmask is for IPv4 services/],
    ['prefix length 0', { address: '2001:db8:100::10', port: 80, persistence: { prefixLength: 0 } }, /prefixLength must be an integer 1\.\.128.*got 0/],
    ['prefix length 129', { firewallMark: 2, family: AddressFamily.IPV6, persistence: { prefixLength: 129 } }, /got 129/],
    ['one-packet on TCP', { ...vip, onePacket: true }, /onePacket .* is for UDP services only; got onePacket on a tcp service/],
    ['one-packet on SCTP', { ...vip, protocol: Protocol.SCTP, onePacket: true }, /on a sctp service/],
    [
      'a persistence engine without persistence',
      { ...vip, protocol: Protocol.UDP, persistenceEngine: PersistenceEngine.SIP },
      /persistenceEngine needs persistence/,
    ],
    ['the sip engine on TCP', { ...vip, persistence: {}, persistenceEngine: PersistenceEngine.SIP }, /reads UDP datagrams only; got it on a tcp service/],
    [
      'an engine other than sip',
      { ...vip, protocol: Protocol.UDP, persistence: {}, persistenceEngine: { name: 'callid' } as never },
      /one persistence engine, sip/,
    ],
    ['a scheduler that is not a Scheduler', { ...vip, scheduler: 'rr' as never }, /scheduler must be a Scheduler/],
    ['a protocol that is not a Protocol', { ...vip, protocol: 'tcp' as never }, /protocol must be Protocol\.TCP, UDP or SCTP/],
  ])('%s', (_case, props, message) => {
    // GIVEN a director
    const { lb1 } = fixture();
    // WHEN a service is added with props that are wrong on their own
    const error = thrown(() => lb1.addVirtualService('svc', props));
    // THEN it throws at once, naming the construct path, the value and what to do
    expect(error.code).toBe('LVS_VALIDATION');
    expect(error.problems).toHaveLength(1);
    expect(error.message).toMatch(message);
  });

  it.each<[string, VirtualServiceProps]>([
    ['port 0 with persistence', { address: '198.51.100.10', port: 0, persistence: {} }],
    ['a /0 netmask (the kernel takes any IPv4 mask)', { address: '198.51.100.10', port: 80, persistence: { netmask: '0.0.0.0' } }],
    ['one-packet on a firewall-mark service (ipvsadm allows it)', { firewallMark: 1, onePacket: true }],
    [
      'the sip engine on a persistent UDP service',
      { address: '198.51.100.10', port: 5060, protocol: Protocol.UDP, persistence: {}, persistenceEngine: PersistenceEngine.SIP },
    ],
    ['a loopback VIP', { address: '127.0.0.1', port: 80 }],
    ['firewall mark 2^32-1', { firewallMark: 4294967295 }],
    ['a service with no real servers', { address: '198.51.100.10', port: 80 }],
  ])('accepts %s', (_case, props) => {
    // GIVEN a director
    const { lb1 } = fixture();
    // WHEN a legal service is added
    const service = lb1.addVirtualService('svc', props);
    // THEN it is created and passes validation
    expect(service.node.validate()).toEqual([]);
  });
});

describe('RealServerPool members judged alone throw at once', () => {
  it.each<[string, RealServerProps, RegExp]>([
    ['a bad address', { address: '192.0.2.300' }, /member address: "192.0.2.300" is not an IPv4/],
    ['a multicast real server', { address: '239.1.1.1' }, /real server 239\.1\.1\.1 is multicast/],
    ['an IPv4-mapped real server', { address: '::ffff:192.0.2.11' }, /is IPv4-mapped/],
    ['port 65536', { address: '192.0.2.11', port: 65536 }, /real server 192\.0\.2\.11: port must be an integer 0\.\.65535; got 65536/],
    ['weight 2147483648', { address: '192.0.2.11', weight: 2147483648 }, /weight must be an integer 0\.\.2147483647; got 2147483648/],
    ['a negative weight', { address: '192.0.2.11', weight: -1 }, /got -1/],
    ['a fractional weight', { address: '192.0.2.11', weight: 1.5 }, /got 1.5/],
    ['an upper threshold above INT_MAX', { address: '192.0.2.11', upperThreshold: 2 ** 31 }, /upperThreshold must be an integer 0\.\.2147483647/],
    ['a negative lower threshold', { address: '192.0.2.11', lowerThreshold: -5 }, /lowerThreshold must be an integer/],
    [
      'lower above upper',
      { address: '192.0.2.11', upperThreshold: 10, lowerThreshold: 20 },
      /lowerThreshold must not exceed upperThreshold.*got lower 20 > upper 10/,
    ],
    ['lower above an upper of 0', { address: '192.0.2.11', lowerThreshold: 5 }, /even when upper is 0.*got lower 5 > upper 0/],
    ['a forwarding that is not a Forwarding', { address: '192.0.2.11', forwarding: 'masq' as never }, /forwarding must be Forwarding\.NAT/],
  ])('%s', (_case, member, message) => {
    // GIVEN a pool
    const { stack } = fixture();
    const pool = new RealServerPool(stack, 'pool');
    // WHEN a bad member is added
    const error = thrown(() => pool.addMember(member));
    // THEN it throws at once with the pool's path
    expect(error.problems[0]!.path).toBe('web/pool');
    expect(error.message).toMatch(message);
  });

  it('refuses a pool whose own defaults are out of range', () => {
    // GIVEN a stack
    const { stack } = fixture();
    // WHEN a pool is given a default weight above INT_MAX
    const error = thrown(() => new RealServerPool(stack, 'pool', { weight: 2 ** 31 }));
    // THEN it throws at once
    expect(error.message).toBe('web/pool: pool weight must be an integer 0..2147483647; got 2147483648');
  });

  it('checks a member against the pool defaults it inherits', () => {
    // GIVEN a pool whose lower threshold is 50
    const { stack } = fixture();
    const pool = new RealServerPool(stack, 'pool', { upperThreshold: 100, lowerThreshold: 50 });
    // WHEN a member lowers only its upper threshold below 50
    const error = thrown(() => pool.addMember({ address: '192.0.2.11', upperThreshold: 40 }));
    // THEN the combination is refused
    expect(error.message).toMatch(/got lower 50 > upper 40/);
  });
});

describe('Director props judged alone throw at once', () => {
  it.each<[string, DirectorProps, RegExp]>([
    ['neither ssh nor local', {}, /needs a way to reach it.*got neither/],
    ['both ssh and local', { ssh: { host: '203.0.113.2' }, local: true }, /either over ssh or locally, not both/],
    ['a name with a space', { local: true, name: 'lb 1' }, /director name must match .*got "lb 1"/],
    ['a name with a shell metacharacter', { local: true, name: 'lb1;rm' }, /director name must match/],
    ['a name starting with a dot', { local: true, name: '.lb1' }, /director name must match/],
    ['a name of 64 characters', { local: true, name: 'a'.repeat(64) }, /director name must match/],
    ['ssh with host and alias', { ssh: { host: '203.0.113.2', alias: 'lb1', configFile: 'ssh.cfg' } }, /host or alias .* not both/],
    ['ssh with neither host nor alias', { ssh: {} }, /ssh needs host, or configFile \+ alias; got neither/],
    ['an alias without a config file', { ssh: { alias: 'lb1' } }, /ssh alias lb1 needs configFile/],
    ['a host with a shell metacharacter', { ssh: { host: 'lb1$(reboot)' } }, /ssh host must be a host name or an IP address/],
    ['a host starting with a dash', { ssh: { host: '-oProxyCommand=x' } }, /ssh host must be/],
    ['ssh port 0', { ssh: { host: '203.0.113.2', port: 0 } }, /ssh port must be an integer 1\.\.65535; got 0/],
    ['a user with a space', { ssh: { host: '203.0.113.2', user: 'ro ot' } }, /ssh user must be a login name/],
    ['an identity file with a newline', { ssh: { host: '203.0.113.2', identityFile: 'key\nrm' } }, /ssh identityFile must be a file path/],
    ['a config file starting with a dash', { ssh: { alias: 'lb1', configFile: '-F' } }, /ssh configFile must be a file path/],
    ['an alias with a slash', { ssh: { alias: 'a/b', configFile: 'ssh.cfg' } }, /ssh alias must be a Host name/],
    ['a plan user with a shell metacharacter', { ssh: { host: '203.0.113.2', planUser: 'plan;id' } }, /ssh planUser must be a login name other than root/],
    ['root as the plan user', { ssh: { host: '203.0.113.2', planUser: 'root' } }, /ssh planUser must be a login name other than root/],
  ])('%s', (_case, props, message) => {
    // GIVEN a stack
    const app = new App({ outdir: tempOutdir() });
    const stack = new LvsStack(app, 'web');
    // WHEN a director is declared with bad props
    const error = thrown(() => new Director(stack, 'lb1', props));
    // THEN it throws at once with the director's path
    expect(error.problems[0]!.path).toBe('web/lb1');
    expect(error.message).toMatch(message);
  });

  it.each([
    ['a stack name with a space', 'my stack'],
    ['a stack name with a slash', 'a/b'],
    ['an empty stack name', ''],
  ])('LvsStack refuses %s', (_case, id) => {
    // GIVEN an app
    const app = new App({ outdir: tempOutdir() });
    // WHEN a stack is named with characters unsafe in a shell or file name
    const make = () => new LvsStack(app, id);
    // THEN it throws at once
    expect(make).toThrow(/stack name must match/);
  });
});

describe('rules that depend on later calls surface at synth', () => {
  type Case = [string, (f: ReturnType<typeof fixture>) => void, RegExp];
  it.each<Case>([
    [
      'an IPv6 real server on an IPv4 NAT service',
      ({ lb1 }) => {
        lb1.addVirtualService('http', { address: '198.51.100.10', port: 80 }).addRealServer({ address: '2001:db8::11' });
      },
      /web\/lb1\/http: real server \[2001:db8::11\]:80 .* is IPv6 but the service is IPv4; the kernel mixes families only under tunnelling/,
    ],
    [
      'an IPv4 real server on an IPv6 direct-routing service',
      ({ lb1 }) => {
        lb1
          .addVirtualService('http', { address: '2001:db8:100::20', port: 80 })
          .addRealServer({ address: '192.0.2.11', forwarding: Forwarding.DIRECT_ROUTING });
      },
      /is IPv4 but the service is IPv6.*got droute/,
    ],
    [
      'an IPv4 real server on an IPv6 firewall-mark service',
      ({ lb1 }) => {
        lb1.addVirtualService('m', { firewallMark: 2, family: AddressFamily.IPV6 }).addRealServer({ address: '192.0.2.11' });
      },
      /is IPv4 but the service is IPv6/,
    ],
    [
      'a real-server port that differs under direct routing',
      ({ lb1 }) => {
        lb1
          .addVirtualService('http', { address: '198.51.100.20', port: 80 })
          .addRealServer({ address: '192.0.2.11', port: 8080, forwarding: Forwarding.DIRECT_ROUTING });
      },
      /under direct routing the kernel uses the service port 80 and ignores the real-server port; got port 8080/,
    ],
    [
      'a real-server port that differs under tunnelling',
      ({ lb1 }) => {
        lb1
          .addVirtualService('http', { address: '198.51.100.30', port: 80 })
          .addRealServer({ address: '192.0.2.11', port: 8080, forwarding: Forwarding.tunnel() });
      },
      /under tunnelling the kernel uses the service port 80/,
    ],
    [
      'real-server port 0 under NAT on a port-80 service',
      ({ lb1 }) => {
        lb1.addVirtualService('http', { address: '198.51.100.10', port: 80 }).addRealServer({ address: '192.0.2.11', port: 0 });
      },
      /port 0 under NAT would rewrite packets to port 0/,
    ],
    [
      'the same real server twice in one pool',
      ({ lb1 }) => {
        lb1
          .addVirtualService('http', { address: '198.51.100.10', port: 80 })
          .addRealServer({ address: '192.0.2.11' })
          .addRealServer({ address: '192.0.2.11', port: 80 });
      },
      /real server 192\.0\.2\.11:80 .* is already in the service/,
    ],
    [
      'the same real server through two pools',
      ({ stack, lb1 }) => {
        const a = new RealServerPool(stack, 'a', { members: [{ address: '192.0.2.11' }] });
        const b = new RealServerPool(stack, 'b', { members: [{ address: '192.0.2.11', weight: 5 }] });
        lb1.addVirtualService('http', { address: '198.51.100.10', port: 80, pools: [a, b] });
      },
      /real server 192\.0\.2\.11:80 \(pool web\/b\) is already in the service from pool web\/a/,
    ],
    [
      'the same IPv6 real server written two ways',
      ({ lb1 }) => {
        lb1
          .addVirtualService('http', { address: '2001:db8:100::10', port: 80 })
          .addRealServer({ address: '2001:db8::11' })
          .addRealServer({ address: '2001:DB8:0:0::11' });
      },
      /\[2001:db8::11\]:80 .* is already in the service/,
    ],
    [
      'the same service identity twice on a director',
      ({ lb1 }) => {
        lb1.addVirtualService('a', { address: '198.51.100.10', port: 80 });
        lb1.addVirtualService('b', { protocol: Protocol.TCP, address: '198.51.100.10', port: 80 });
      },
      /web\/lb1: service tcp 198\.51\.100\.10:80 is defined twice on director lb1: web\/lb1\/a and web\/lb1\/b/,
    ],
    [
      'the same firewall mark and family twice',
      ({ lb1 }) => {
        lb1.addVirtualService('a', { firewallMark: 1 });
        lb1.addVirtualService('b', { firewallMark: 1, family: AddressFamily.IPV4 });
      },
      /service fwmark 1 inet is defined twice/,
    ],
    [
      'two directors with the same host, port 22 given and not',
      ({ stack }) => {
        new Director(stack, 'lb2', { ssh: { host: '203.0.113.2', port: 22 } });
      },
      /^web: directors web\/lb1 and web\/lb2 reach the same machine \(203\.0\.113\.2:22\)/m,
    ],
    [
      'two directors with the same host name in other case',
      ({ stack }) => {
        new Director(stack, 'a', { ssh: { host: 'LB.example.net' } });
        new Director(stack, 'b', { ssh: { host: 'lb.example.net.' } });
      },
      /reach the same machine \(lb\.example\.net:22\)/,
    ],
    ...['127.1', '2130706433', '0177.0.0.1', 'localhost', 'LOCALHOST.', '::ffff:127.0.0.1', '::1', '127.0.0.2'].map(
      (spelling): [string, (f: ReturnType<typeof fixture>) => void, RegExp] => [
        `127.0.0.1 and ${spelling}`,
        ({ stack }) => {
          new Director(stack, 'a', { ssh: { host: '127.0.0.1' } });
          new Director(stack, 'b', { ssh: { host: spelling } });
        },
        /directors web\/a and web\/b reach the same machine \(loopback:22\)/,
      ],
    ),
    [
      'a local director and ssh to this machine on port 22',
      ({ stack }) => {
        new Director(stack, 'a', { local: true });
        new Director(stack, 'b', { ssh: { host: '127.0.0.1', port: 22 } });
      },
      /reach the same machine \(loopback:22\)/,
    ],
    [
      'two directors with the same alias and config file',
      ({ stack }) => {
        new Director(stack, 'a', { ssh: { alias: 'lb', configFile: 'lab.ssh' } });
        new Director(stack, 'b', { ssh: { alias: 'LB', configFile: './x/../lab.ssh' } });
      },
      new RegExp(`reach the same machine \\(alias lb in ${path.resolve('lab.ssh').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)`),
    ],
    [
      'two local directors',
      ({ stack }) => {
        new Director(stack, 'a', { local: true });
        new Director(stack, 'b', { local: true });
      },
      /reach the same machine \(loopback:22\)/,
    ],
    [
      'two directors with the same name',
      ({ stack }) => {
        new Director(stack, 'other', { ssh: { host: '203.0.113.3' }, name: 'lb1' });
      },
      /share the name lb1/,
    ],
  ])('%s', (_case, build, message) => {
    // GIVEN an app whose problem only shows once everything is declared
    const f = fixture();
    build(f);
    // WHEN it is synthesized
    const error = thrown(() => f.app.synth());
    // THEN synth throws a ValidationError naming the construct path
    expect(error.code).toBe('LVS_VALIDATION');
    expect(error.message).toMatch(message);
  });

  it.each<[string, (f: ReturnType<typeof fixture>) => void]>([
    [
      'an IPv6 real server on an IPv4 service under tunnelling',
      ({ lb1 }) => {
        lb1.addVirtualService('http', { address: '198.51.100.30', port: 80 }).addRealServer({ address: '2001:db8::11', forwarding: Forwarding.tunnel() });
      },
    ],
    [
      'real-server port 0 on a firewall-mark service',
      ({ lb1 }) => {
        lb1.addVirtualService('m', { firewallMark: 1 }).addRealServer({ address: '192.0.2.11', port: 0 });
      },
    ],
    [
      'any real-server port under direct routing on a firewall-mark service',
      ({ lb1 }) => {
        lb1.addVirtualService('m', { firewallMark: 1 }).addRealServer({ address: '192.0.2.11', port: 80, forwarding: Forwarding.DIRECT_ROUTING });
      },
    ],
    [
      'one pool on two services of one director',
      ({ stack, lb1 }) => {
        const pool = new RealServerPool(stack, 'pool', { members: [{ address: '192.0.2.11' }] });
        lb1.addVirtualService('a', { address: '198.51.100.10', port: 80, pools: [pool] });
        lb1.addVirtualService('b', { address: '198.51.100.10', port: 8080, pools: [pool] });
      },
    ],
    [
      'the same address on TCP and UDP',
      ({ lb1 }) => {
        lb1.addVirtualService('a', { address: '198.51.100.10', port: 53 });
        lb1.addVirtualService('b', { address: '198.51.100.10', port: 53, protocol: Protocol.UDP });
      },
    ],
    [
      'the same real server on two ports',
      ({ lb1 }) => {
        lb1
          .addVirtualService('a', { address: '198.51.100.10', port: 80 })
          .addRealServer({ address: '192.0.2.11', port: 80 })
          .addRealServer({ address: '192.0.2.11', port: 8080 });
      },
    ],
  ])('accepts %s', (_case, build) => {
    // GIVEN a legal app
    const f = fixture();
    build(f);
    // WHEN it is synthesized
    // THEN nothing is thrown
    expect(() => f.app.synth()).not.toThrow();
  });
});

describe('all errors at once', () => {
  it('lists every problem of every stack in one error and writes nothing', () => {
    // GIVEN an app with three deferred problems spread over two stacks
    const outdir = tempOutdir();
    const app = new App({ outdir });
    const one = new LvsStack(app, 'one');
    const lb1 = new Director(one, 'lb1', { local: true });
    lb1.addVirtualService('http', { address: '198.51.100.10', port: 80 }).addRealServer({ address: '2001:db8::11' });
    lb1.addVirtualService('again', { address: '198.51.100.10', port: 80 });
    const two = new LvsStack(app, 'two');
    new Director(two, 'a', { local: true });
    new Director(two, 'b', { local: true });
    // WHEN it is synthesized
    const error = thrown(() => app.synth());
    // THEN one error lists all three problems with their paths
    expect(error.problems.map((p) => p.path)).toEqual(['one/lb1', 'one/lb1/http', 'two']);
    expect(error.message).toMatch(/^3 problems in the app:\n {2}- one\/lb1: service tcp/);
    // AND nothing was written
    expect(filesUnder(outdir)).toEqual([]);
    expect(fs.existsSync(outdir)).toBe(false);
  });

  it('is thrown by the stack itself when the app is a plain cdktn App', async () => {
    // GIVEN an LvsStack under the engine's own App (cdktn) with two problems
    const { CdktfApp } = await import('../../../lib/cdktf.ts');
    const outdir = tempOutdir();
    const app = new CdktfApp({ outdir });
    const stack = new LvsStack(app, 'web');
    new Director(stack, 'a', { local: true });
    new Director(stack, 'b', { local: true, name: 'a' });
    // WHEN it is synthesized
    const error = thrown(() => app.synth());
    // THEN both problems come in one ValidationError and no stack file is written
    expect(error.problems).toHaveLength(2);
    expect(filesUnder(outdir)).toEqual([]);
  });
});

describe('constructs', () => {
  it('VirtualService can be created directly on a director', () => {
    // GIVEN a director
    const { lb1 } = fixture();
    // WHEN a service is constructed with new
    const svc = new VirtualService(lb1, 'dns', { protocol: Protocol.UDP, address: '198.51.100.21', port: 53 });
    // THEN the director lists it
    expect(lb1.virtualServices).toEqual([svc]);
    expect(svc.serviceId).toBe('udp 198.51.100.21:53');
  });

  it('a Director refuses a scope that is not an LvsStack', () => {
    // GIVEN a construct that is not a stack
    const { lb1 } = fixture();
    // WHEN a director is put under it
    const make = () => new Director(lb1 as never, 'inner', { local: true });
    // THEN it throws
    expect(make).toThrow(/a Director belongs directly to an LvsStack/);
  });

  it('defaults a service to TCP and wlc', () => {
    // GIVEN a director
    const { lb1 } = fixture();
    // WHEN a service names only address and port
    const svc = lb1.addVirtualService('http', { address: '198.51.100.10', port: 80 });
    // THEN protocol and scheduler take ipvsadm's defaults
    expect(svc.serviceId).toBe('tcp 198.51.100.10:80');
    expect(svc.scheduler).toBe(Scheduler.WEIGHTED_LEAST_CONNECTION);
  });
});
