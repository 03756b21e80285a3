import { describe, expect, it } from 'vitest';
import { LvsError } from '../../../providers/ipvs/model/errors.ts';
import { readSynth } from '../../../providers/ipvs/read/read-synth.ts';

function doc(service: Record<string, unknown> = {}, director: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '//': { metadata: { stackName: 'web', backend: 'local', version: '0.21.0' } },
    resource: {
      lvsform_director: { lb1_ABC: { name: 'lb1', format_version: 1, transport: 'ssh', ssh: { host: '203.0.113.2', port: 22, user: 'root' }, ...director } },
      lvsform_virtual_service: {
        web_http_DEF: {
          '//': { metadata: { path: 'web/lb1/http', uniqueId: 'web_http_DEF' } },
          director: 'lb1',
          construct_path: 'web/lb1/http',
          protocol: 'tcp',
          address: '198.51.100.10',
          port: 80,
          scheduler: 'rr',
          scheduler_flags: [],
          one_packet: false,
          real_server: [{ address: '192.0.2.11', port: 8080, forwarding: 'masq', weight: 1, upper_threshold: 0, lower_threshold: 0, pool: 'web/web-pool' }],
          depends_on: ['lvsform_director.lb1_ABC'],
          ...service,
        },
      },
    },
  };
}

function error(json: unknown): LvsError {
  try {
    readSynth(json, 'cdktf.out/stacks/web/cdk.tf.json');
  } catch (e) {
    if (e instanceof LvsError) return e;
    throw e;
  }
  throw new Error('readSynth accepted the document');
}

describe('readSynth', () => {
  it('reads the stack name, the director, its table and construct paths', () => {
    const out = readSynth(doc(), 'cdk.tf.json');
    expect(out.stack).toBe('web');
    expect(out.directors).toHaveLength(1);
    const d = out.directors[0]!;
    expect([d.name, d.transport, d.ssh]).toEqual(['lb1', 'ssh', { host: '203.0.113.2', port: 22, user: 'root' }]);
    expect(d.table).toEqual({
      services: [
        {
          key: { kind: 'addr', protocol: 'tcp', address: '198.51.100.10', port: 80 },
          config: { scheduler: 'rr', schedFlags: [], onePacket: false },
          destinations: [{ address: '192.0.2.11', port: 8080, forwarding: { method: 'masq' }, weight: 1, upperThreshold: 0, lowerThreshold: 0 }],
        },
      ],
    });
    expect(d.paths).toEqual(new Map([['tcp 198.51.100.10:80', 'web/lb1/http']]));
  });

  it('reads ssh.plan_user as planUser, and refuses one that is not a login name', () => {
    // GIVEN a director with a plan user, and one whose plan user is hostile
    const good = doc({}, { ssh: { host: '203.0.113.2', user: 'deploy', sudo: true, plan_user: 'lvsform-plan' } });
    const bad = doc({}, { ssh: { host: '203.0.113.2', plan_user: 'x;id' } });
    // WHEN they are read
    const out = readSynth(good, 'x');
    // THEN the first keeps it; the second is refused as invalid synth output
    expect(out.directors[0]!.ssh).toEqual({ host: '203.0.113.2', user: 'deploy', sudo: true, planUser: 'lvsform-plan' });
    expect(error(bad).code).toBe('LVS_SYNTH_INVALID');
  });

  it('canonicalizes IPv6 addresses and makes the IPv6 netmask explicit', () => {
    const out = readSynth(
      doc({ address: '2001:DB8:0:0:0:0:0:10', persistence: { timeout: 360 }, real_server: [{ address: '2001:db8:0::11', forwarding: 'droute' }] }),
      'x',
    );
    const svc = out.directors[0]!.table.services[0]!;
    expect(svc.key).toEqual({ kind: 'addr', protocol: 'tcp', address: '2001:db8::10', port: 80 });
    expect(svc.config.persistence).toEqual({ timeout: 360, netmask: '128' });
    expect(svc.destinations[0]).toMatchObject({ address: '2001:db8::11', port: 80, weight: 1 });
  });

  it('reads firewall-mark services, flags, engines and every tunnel type', () => {
    const out = readSynth(
      doc({
        protocol: undefined,
        address: undefined,
        port: undefined,
        firewall_mark: 7,
        family: 'inet6',
        scheduler: 'sh',
        scheduler_flags: ['sh-port', 'flag-1'],
        persistence: { timeout: 60, netmask: '64' },
        persistence_engine: 'sip',
        real_server: [
          { address: '2001:db8::1', port: 0, forwarding: 'tunnel', tunnel_type: 'gue', tunnel_port: 6080, tunnel_checksum: 'remcsum' },
          { address: '192.0.2.2', forwarding: 'tunnel', tunnel_type: 'gre' },
          { address: '2001:db8::3', forwarding: 'tunnel' },
        ],
      }),
      'x',
    );
    const svc = out.directors[0]!.table.services[0]!;
    expect(svc.key).toEqual({ kind: 'fwmark', mark: 7, family: 'inet6' });
    expect(svc.config).toEqual({
      scheduler: 'sh',
      schedFlags: ['flag-1', 'flag-2'],
      persistence: { timeout: 60, netmask: '64' },
      persistenceEngine: 'sip',
      onePacket: false,
    });
    expect(svc.destinations.map((d) => d.forwarding)).toEqual([
      { method: 'tunnel', type: 'gre', checksum: 'nocsum' },
      { method: 'tunnel', type: 'gue', port: 6080, checksum: 'remcsum' },
      { method: 'tunnel', type: 'ipip' },
    ]);
  });

  it('reads a local director without ssh settings', () => {
    const out = readSynth(doc({}, { transport: 'local', ssh: undefined }), 'x');
    expect(out.directors[0]).toMatchObject({ name: 'lb1', transport: 'local' });
    expect(out.directors[0]!.ssh).toBeUndefined();
  });
});

describe('readSynth rejects bad JSON with the file and the JSON path', () => {
  const svcPath = 'resource.lvsform_virtual_service.web_http_DEF';
  const cases: { name: string; json: unknown; message: string }[] = [
    { name: 'not an object', json: 'hello', message: '(top level)' },
    { name: 'no stack name', json: { resource: {} }, message: '//' },
    { name: 'a bad address', json: doc({ address: '198.51.100.300' }), message: `${svcPath}.address: "198.51.100.300" is not an IPv4 or IPv6 address` },
    { name: 'a port out of range', json: doc({ port: 70000 }), message: `${svcPath}.port:` },
    { name: 'an unknown key (a typo)', json: doc({ sheduler: 'rr' }), message: `${svcPath}: Unrecognized key(s) in object: 'sheduler'` },
    {
      name: 'a weight as text',
      json: doc({ real_server: [{ address: '192.0.2.11', forwarding: 'masq', weight: '5' }] }),
      message: `${svcPath}.real_server[0].weight: Expected number, received string`,
    },
    { name: 'an unknown director', json: doc({ director: 'lb9' }), message: `${svcPath}.director: no lvsform_director is named "lb9"` },
    {
      name: 'a wrong format version',
      json: doc({}, { format_version: 2 }),
      message: 'resource.lvsform_director.lb1_ABC.format_version: format_version must be 1',
    },
    {
      name: 'gue without port',
      json: doc({ real_server: [{ address: '192.0.2.11', port: 80, forwarding: 'tunnel', tunnel_type: 'gue' }] }),
      message: `${svcPath}.real_server[0].tunnel_port: real server 192.0.2.11:80: a gue tunnel port must be an integer 1..65535`,
    },
    {
      name: 'direct routing on another port',
      json: doc({ real_server: [{ address: '192.0.2.11', port: 8080, forwarding: 'droute' }] }),
      message: `${svcPath}.real_server[0].port: real server 192.0.2.11:8080: under droute the kernel uses the service port 80`,
    },
    {
      name: 'lower threshold above upper',
      json: doc({ real_server: [{ address: '192.0.2.11', forwarding: 'masq', lower_threshold: 7 }] }),
      message: `${svcPath}.real_server[0].lower_threshold: real server 192.0.2.11:80: lower threshold 7 is above upper threshold 0`,
    },
    {
      name: 'mixed families outside a tunnel',
      json: doc({ real_server: [{ address: '2001:db8::1', forwarding: 'masq' }] }),
      message: `${svcPath}.real_server[0].forwarding: real server [2001:db8::1]:80 is IPv6 but the service is IPv4`,
    },
    {
      name: 'an mh flag on sh',
      json: doc({ scheduler: 'sh', scheduler_flags: ['mh-port'] }),
      message: `${svcPath}.scheduler_flags[0]: scheduler flag mh-port is read by the mh scheduler only; got it on sh`,
    },
    {
      name: 'a bad IPv4 netmask',
      json: doc({ persistence: { timeout: 60, netmask: '64' } }),
      message: `${svcPath}.persistence.netmask: an IPv4 netmask is dotted`,
    },
    { name: 'port 0 without persistence', json: doc({ port: 0 }), message: `${svcPath}.port: port 0 (all ports) needs persistence` },
    {
      name: 'a duplicate real server',
      json: doc({
        real_server: [
          { address: '192.0.2.11', forwarding: 'masq' },
          { address: '192.0.2.11', port: 80, forwarding: 'masq' },
        ],
      }),
      message: `${svcPath}.real_server[1]: real server 192.0.2.11:80 appears twice`,
    },
    {
      name: 'an ssh director without host or alias',
      json: doc({}, { ssh: { user: 'root' } }),
      message: 'resource.lvsform_director.lb1_ABC.ssh: an ssh director needs ssh.host or ssh.alias',
    },
  ];
  for (const c of cases) {
    it(`reports ${c.name}`, () => {
      const e = error(c.json);
      expect(e.code).toBe('LVS_SYNTH_INVALID');
      expect(e.message).toContain('cdktf.out/stacks/web/cdk.tf.json: ');
      expect(e.message).toContain(c.message);
    });
  }

  it('reports one service declared twice on a director', () => {
    const json = doc() as { resource: { lvsform_virtual_service: Record<string, unknown> } };
    json.resource.lvsform_virtual_service.copy_GHI = { ...(json.resource.lvsform_virtual_service.web_http_DEF as object), construct_path: 'web/lb1/copy' };
    expect(error(json).message).toContain(
      'resource.lvsform_virtual_service.copy_GHI: service tcp 198.51.100.10:80 on director lb1 is also declared by web/lb1/http',
    );
  });
});
