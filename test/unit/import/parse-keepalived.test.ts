import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLvsError } from '../../../providers/ipvs/model/errors.ts';
import { type Service, destinationId, serviceId } from '../../../providers/ipvs/model/model.ts';
import { MAX_KEEPALIVED_BYTES, parseKeepalived } from '../../../providers/ipvs/read/parse-keepalived.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures/keepalived');
const GOLDEN = join(import.meta.dirname, '__golden__');

/** Services of a configuration by identity, with their destinations as `addr:port method weight upper/lower`. */
function summary(conf: string): { services: Record<string, Service>; warnings: string[] } {
  const { table, warnings } = parseKeepalived(conf, 'k.conf');
  return { services: Object.fromEntries(table.services.map((s) => [serviceId(s.key), s])), warnings };
}

function dests(s: Service | undefined): string[] {
  return (s?.destinations ?? []).map((d) => {
    const f = d.forwarding;
    const how = f.method === 'tunnel' ? `tunnel/${f.type}${f.port ? `/${f.port}` : ''}${f.checksum ? `/${f.checksum}` : ''}` : f.method;
    return `${destinationId(d)} ${how} ${d.weight} ${d.upperThreshold}/${d.lowerThreshold}`;
  });
}

const vs = (head: string, body: string): string => `virtual_server ${head} {\n${body}\n}\n`;

describe('parseKeepalived on the fixture corpus', () => {
  const files = readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.conf'))
    .sort();

  it('has a varied corpus of at least six configurations', () => {
    // GIVEN the fixture directory WHEN listing it THEN the corpus is there
    expect(files.length).toBeGreaterThanOrEqual(6);
  });

  it.each(files)('%s reads to its golden table and warnings', (file) => {
    // GIVEN a realistic keepalived.conf
    const text = readFileSync(join(FIXTURES, file), 'utf8');
    // WHEN it is parsed
    const result = parseKeepalived(text, file);
    // THEN table and warnings match the golden file (regenerate on purpose with UPDATE_GOLDEN=1)
    const golden = join(GOLDEN, file.replace(/\.conf$/, '.json'));
    const actual = `${JSON.stringify(result, null, 2)}\n`;
    if (process.env.UPDATE_GOLDEN === '1') {
      mkdirSync(GOLDEN, { recursive: true });
      writeFileSync(golden, actual);
    }
    expect(actual).toBe(readFileSync(golden, 'utf8'));
  });
});

describe('parseKeepalived follows keepalived 2.2.7', () => {
  const rs = (a: string, body = ''): string => `  real_server ${a} {\n${body}\n  }`;

  it.each([
    {
      name: 'defaults: wlc, NAT, weight 1, and UDP when no protocol is set',
      conf: vs('198.51.100.10 80', rs('192.0.2.1 8080')),
      id: 'udp 198.51.100.10:80',
      sched: 'wlc',
      dests: ['192.0.2.1:8080 masq 1 0/0'],
    },
    {
      name: 'a NAT real server without a port takes the virtual port',
      conf: vs('198.51.100.10 80', `protocol TCP\n${rs('192.0.2.1')}`),
      id: 'tcp 198.51.100.10:80',
      sched: 'wlc',
      dests: ['192.0.2.1:80 masq 1 0/0'],
    },
    {
      name: 'direct routing uses the virtual port whatever the real server says',
      conf: vs('198.51.100.10 80', `protocol TCP\nlvs_method DR\n${rs('192.0.2.1 8080')}`),
      id: 'tcp 198.51.100.10:80',
      sched: 'wlc',
      dests: ['192.0.2.1:80 droute 1 0/0'],
    },
    {
      name: 'a firewall-mark service clears the port of direct-routing real servers',
      conf: vs('fwmark 7', `lvs_method DR\n${rs('192.0.2.1 80')}`),
      id: 'fwmark 7 inet',
      sched: 'wlc',
      dests: ['192.0.2.1:0 droute 1 0/0'],
    },
    {
      name: 'a firewall-mark service keeps the port of NAT real servers',
      conf: vs('fwmark 7', rs('192.0.2.1 8080')),
      id: 'fwmark 7 inet',
      sched: 'wlc',
      dests: ['192.0.2.1:8080 masq 1 0/0'],
    },
    {
      name: 'the virtual server weight is the default of its real servers',
      conf: vs('198.51.100.10 80', `protocol TCP\nweight 7\n${rs('192.0.2.1 80')}\n${rs('192.0.2.2 80', 'weight 2')}`),
      id: 'tcp 198.51.100.10:80',
      sched: 'wlc',
      dests: ['192.0.2.1:80 masq 7 0/0', '192.0.2.2:80 masq 2 0/0'],
    },
    {
      name: 'lb_algo and lb_kind are the old names of lvs_sched and lvs_method',
      conf: vs('198.51.100.10 80', `protocol TCP\nlb_algo rr\nlb_kind DR\n${rs('192.0.2.1 80')}`),
      id: 'tcp 198.51.100.10:80',
      sched: 'rr',
      dests: ['192.0.2.1:80 droute 1 0/0'],
    },
    {
      name: 'the virtual lvs_method is the default of real servers listed before it too',
      conf: vs('198.51.100.10 80', `protocol TCP\n${rs('192.0.2.1 80')}\nlvs_method TUN type gue port 6080 csum`),
      id: 'tcp 198.51.100.10:80',
      sched: 'wlc',
      dests: ['192.0.2.1:80 tunnel/gue/6080/csum 1 0/0'],
    },
    {
      name: 'a real-server lvs_method TUN without type is ipip even under a gue default',
      conf: vs('198.51.100.10 80', `protocol TCP\nlvs_method TUN type gue port 6080\n${rs('192.0.2.1 80', 'lvs_method TUN')}`),
      id: 'tcp 198.51.100.10:80',
      sched: 'wlc',
      dests: ['192.0.2.1:80 tunnel/ipip 1 0/0'],
    },
    {
      name: 'thresholds are read from uthreshold and lthreshold',
      conf: vs('198.51.100.10 80', `protocol TCP\n${rs('192.0.2.1 80', 'uthreshold 100\nlthreshold 20')}`),
      id: 'tcp 198.51.100.10:80',
      sched: 'wlc',
      dests: ['192.0.2.1:80 masq 1 100/20'],
    },
    {
      name: 'a duplicate real server is dropped',
      conf: vs('198.51.100.10 80', `protocol TCP\n${rs('192.0.2.1 80', 'weight 5')}\n${rs('192.0.2.1 80', 'weight 9')}`),
      id: 'tcp 198.51.100.10:80',
      sched: 'wlc',
      dests: ['192.0.2.1:80 masq 5 0/0'],
    },
    {
      name: 'a non-tunnelled real server of the other family is dropped',
      conf: vs('198.51.100.10 80', `protocol TCP\n${rs('192.0.2.1 80')}\n${rs('2001:db8::1 80')}`),
      id: 'tcp 198.51.100.10:80',
      sched: 'wlc',
      dests: ['192.0.2.1:80 masq 1 0/0'],
    },
    {
      name: 'a tunnelled real server may be of the other family',
      conf: vs('198.51.100.10 80', `protocol TCP\nlvs_method TUN\n${rs('2001:DB8::1 80')}`),
      id: 'tcp 198.51.100.10:80',
      sched: 'wlc',
      dests: ['[2001:db8::1]:80 tunnel/ipip 1 0/0'],
    },
    {
      name: 'an unknown scheduler is ignored and the default kept',
      conf: vs('198.51.100.10 80', `protocol TCP\nlvs_sched bogus\n${rs('192.0.2.1 80')}`),
      id: 'tcp 198.51.100.10:80',
      sched: 'wlc',
      dests: ['192.0.2.1:80 masq 1 0/0'],
    },
  ])('$name', ({ conf, id, sched, dests: expected }) => {
    // GIVEN a keepalived.conf WHEN parsed
    const { services } = summary(conf);
    // THEN the one service has the expected identity, scheduler and destinations
    expect(Object.keys(services)).toEqual([id]);
    expect(services[id]!.config.scheduler).toBe(sched);
    expect(dests(services[id])).toEqual(expected);
  });

  it.each([
    { name: 'sh-port and sh-fallback after lvs_sched sh set flag-2 and flag-1', body: 'lvs_sched sh\nsh-port\nsh-fallback', flags: ['flag-1', 'flag-2'] },
    { name: 'mh-port after lvs_sched mh sets flag-2', body: 'lvs_sched mh\nmh-port', flags: ['flag-2'] },
    { name: 'sh-port before lvs_sched sh is ignored', body: 'sh-port\nlvs_sched sh', flags: [] },
    { name: 'mh-fallback on an sh service is ignored', body: 'lvs_sched sh\nmh-fallback', flags: [] },
    { name: 'flag-1..3 apply to any scheduler', body: 'lvs_sched wrr\nflag-3\nflag-1', flags: ['flag-1', 'flag-3'] },
  ])('$name', ({ body, flags }) => {
    // GIVEN scheduler flag keywords in a given order
    const conf = vs('198.51.100.10 80', `protocol TCP\n${body}\n  real_server 192.0.2.1 80 {\n}`);
    // WHEN parsed
    const s = Object.values(summary(conf).services)[0];
    // THEN the kernel bits are the ones keepalived would set
    expect(s?.config.schedFlags).toEqual(flags);
  });

  it.each([
    {
      name: 'persistence_timeout without a value means 360 s',
      head: '198.51.100.10 80',
      body: 'persistence_timeout',
      expected: { timeout: 360, netmask: '255.255.255.255' },
    },
    {
      name: 'persistence_granularity alone makes the service persistent for 360 s',
      head: '198.51.100.10 80',
      body: 'persistence_granularity 255.255.255.0',
      expected: { timeout: 360, netmask: '255.255.255.0' },
    },
    { name: 'a port-0 service becomes persistent', head: '198.51.100.10 0', body: '', expected: { timeout: 360, netmask: '255.255.255.255' } },
    {
      name: 'an IPv6 granularity is a prefix length',
      head: '2001:db8::10 443',
      body: 'persistence_timeout 60\npersistence_granularity 48',
      expected: { timeout: 60, netmask: '48' },
    },
    { name: 'a service without persistence keywords is not persistent', head: '198.51.100.10 80', body: '', expected: undefined },
  ])('$name', ({ head, body, expected }) => {
    // GIVEN persistence keywords
    const family6 = head.includes(':');
    const conf = vs(head, `protocol TCP\n${body}\n  real_server ${family6 ? '2001:db8::1' : '192.0.2.1'} 443 {\n}`);
    // WHEN parsed
    const s = Object.values(summary(conf).services)[0];
    // THEN persistence is what keepalived programs
    expect(s?.config.persistence).toEqual(expected);
  });

  it.each([
    { name: 'a range of last octets', entries: '198.51.100.10-12 80', ids: ['tcp 198.51.100.10:80', 'tcp 198.51.100.11:80', 'tcp 198.51.100.12:80'] },
    { name: 'a range to a full end address', entries: '198.51.100.255-198.51.101.0 80', ids: ['tcp 198.51.100.255:80', 'tcp 198.51.101.0:80'] },
    { name: 'a prefix', entries: '198.51.100.8/31 443', ids: ['tcp 198.51.100.8:443', 'tcp 198.51.100.9:443'] },
    { name: 'an IPv6 range in hex', entries: '2001:db8::9-a 80', ids: ['tcp [2001:db8::9]:80', 'tcp [2001:db8::a]:80'] },
    { name: 'firewall marks with and without family', entries: 'fwmark 3\nfwmark 4 inet6', ids: ['fwmark 3 inet', 'fwmark 4 inet6'] },
  ])('a virtual_server_group expands $name into services', ({ entries, ids }) => {
    // GIVEN a group used by a virtual server with tunnelled real servers
    const conf = `virtual_server_group G {\n${entries}\n}\n${vs('group G', 'protocol TCP\nlvs_method TUN\n  real_server 192.0.2.1 {\n}')}`;
    // WHEN parsed
    const { services } = summary(conf);
    // THEN each entry is one service with the same real server
    expect(Object.keys(services)).toEqual(ids);
    expect(Object.values(services).every((s) => s.destinations.length === 1)).toBe(true);
  });

  it.each([
    { name: 'ip_family inet6 on a firewall mark', body: 'ip_family inet6\nlvs_method TUN\n  real_server 192.0.2.1 {\n}', id: 'fwmark 9 inet6' },
    { name: 'the family of non-tunnelled real servers', body: 'lvs_method DR\n  real_server 2001:db8::1 {\n}', id: 'fwmark 9 inet6' },
    {
      name: 'the family of an IPv4 granularity',
      body: 'persistence_granularity 255.255.255.0\nlvs_method TUN\n  real_server 2001:db8::1 {\n}',
      id: 'fwmark 9 inet',
    },
  ])('a firewall-mark service takes its family from $name', ({ body, id }) => {
    // GIVEN a fwmark virtual server WHEN parsed
    const { services } = summary(vs('fwmark 9', body));
    // THEN its family is the one keepalived derives
    expect(Object.keys(services)).toEqual([id]);
  });

  it.each([
    { name: 'no protocol', conf: vs('198.51.100.10 80', '  real_server 192.0.2.1 80 {\n}'), warning: /no protocol set - keepalived defaults to UDP/ },
    {
      name: 'a sorry server',
      conf: vs('198.51.100.10 80', 'protocol TCP\nsorry_server 192.0.2.9 80\n  real_server 192.0.2.1 80 {\n}'),
      warning: /k\.conf:3: sorry_server 192\.0\.2\.9 80 is not imported/,
    },
    { name: 'include', conf: 'include /etc/keepalived/conf.d/*.conf\n', warning: /k\.conf:1: include \/etc\/keepalived\/conf\.d\/\*\.conf is not followed/ },
    {
      name: 'health checks',
      conf: vs('198.51.100.10 80', 'protocol TCP\n  real_server 192.0.2.1 80 {\n TCP_CHECK {\n connect_timeout 3\n }\n }'),
      warning: /k\.conf:4: health checks are not imported \(1: TCP_CHECK x1\)/,
    },
    {
      name: 'ops on TCP',
      conf: vs('198.51.100.10 80', 'protocol TCP\nops\n  real_server 192.0.2.1 80 {\n}'),
      warning: /one-packet scheduling \(ops\) needs UDP/,
    },
    { name: 'a virtual server without real servers', conf: vs('198.51.100.10 80', 'protocol TCP'), warning: /has no real servers - ignored/ },
    {
      name: 'a service defined twice',
      conf: vs('198.51.100.10 80', 'protocol TCP\n  real_server 192.0.2.1 80 {\n}').repeat(2),
      warning: /tcp 198\.51\.100\.10:80 is defined again \(first at k\.conf:1\)/,
    },
    {
      name: 'a gue tunnel without a port',
      conf: vs('198.51.100.10 80', 'protocol TCP\nlvs_method TUN type gue\n  real_server 192.0.2.1 80 {\n}'),
      warning: /gue tunnels require a port/,
    },
    {
      name: 'a persistence engine without persistence',
      conf: vs('198.51.100.10 5060', 'protocol UDP\npersistence_engine sip\n  real_server 192.0.2.1 5060 {\n}'),
      warning: /persistence_engine sip without persistence_timeout has no effect/,
    },
    {
      name: 'an unknown keyword',
      conf: vs('198.51.100.10 80', 'protocol TCP\nlvs_shed rr\n  real_server 192.0.2.1 80 {\n}'),
      warning: /unknown virtual_server keyword "lvs_shed" ignored/,
    },
  ])('warns about $name', ({ conf, warning }) => {
    // GIVEN a configuration with something the table cannot carry WHEN parsed
    const { warnings } = summary(conf);
    // THEN a warning names it with file and line
    expect(
      warnings.some((w) => warning.test(w)),
      warnings.join('\n'),
    ).toBe(true);
  });

  it('reads one vrrp_instance as a director pair, and says what the pair leaves: a script, static addresses', () => {
    // GIVEN a director pair's keepalived configuration without a virtual_server
    const conf = [
      'global_defs {',
      ' router_id X',
      ' lvs_sync_daemon eth1 VI_1 id 7',
      '}',
      'vrrp_instance VI_1 {',
      ' state MASTER',
      ' lvs_sync_daemon_interface eth1',
      ' virtual_ipaddress {',
      ' 198.51.100.10/24 dev eth0',
      ' 2001:db8:100::10/64',
      ' }',
      '}',
      'static_ipaddress {',
      ' 192.0.2.1/24 dev eth1',
      '}',
      'vrrp_script chk { script "/bin/true" }',
    ].join('\n');
    // WHEN parsed
    const result = summary(conf);
    const { pair } = parseKeepalived(conf, 'k.conf');
    // THEN the table is empty, the instance is a pair with its sync daemon, and what it leaves is named with its line
    expect(result.services).toEqual({});
    expect(result.warnings).toEqual([
      'k.conf:13: static_ipaddress ("192.0.2.1/24") is not imported: keepalived adds those addresses',
      'k.conf:5: vrrp_instance "VI_1" is not imported: it names no interface or virtual_router_id',
    ]);
    expect(pair).toBeUndefined();
    // AND with its interface and router id the instance is a pair, whose sync id is global_defs' own
    const full = conf.replace(' state MASTER', ' state MASTER\n interface eth1\n virtual_router_id 51\n priority 150\n nopreempt');
    const read = parseKeepalived(full, 'k.conf');
    expect(read.pair).toEqual({
      interface: 'eth1',
      virtualRouterId: 51,
      priority: 150,
      state: 'MASTER',
      addresses: [
        { address: '198.51.100.10', prefix: 24, device: 'eth0' },
        { address: '2001:db8:100::10', prefix: 64 },
      ],
      sync: { interface: 'eth1', syncId: 7 },
    });
    // AND nopreempt on an instance that starts as MASTER is reported, as keepalived drops it there too
    expect(read.warnings).toContain('k.conf:10: nopreempt in vrrp_instance "VI_1" is not imported: keepalived ignores it with state MASTER');
  });

  it('carries nopreempt, preempt_delay and garp_master_delay of a BACKUP instance; reports what keepalived would drop', () => {
    const instance = (lines: string[]) =>
      parseKeepalived(
        [
          'vrrp_instance VI_1 {',
          ' state BACKUP',
          ' interface eth1',
          ' virtual_router_id 51',
          ...lines,
          ' virtual_ipaddress {',
          '  198.51.100.10',
          ' }',
          '}',
        ].join('\n'),
        'k.conf',
      );
    // GIVEN a BACKUP instance with nopreempt and garp_master_delay WHEN parsed THEN both are carried, without a warning
    const a = instance([' nopreempt', ' garp_master_delay 3']);
    expect([a.pair?.nopreempt, a.pair?.garpMasterDelay, a.pair?.preemptDelay, a.warnings]).toEqual([true, 3, undefined, []]);
    // GIVEN preempt_delay alone THEN it is carried
    const b = instance([' preempt_delay 30']);
    expect([b.pair?.nopreempt, b.pair?.preemptDelay, b.warnings]).toEqual([undefined, 30, []]);
    // GIVEN both THEN nopreempt is carried and preempt_delay reported (keepalived resets it with nopreempt)
    const c = instance([' nopreempt', ' preempt_delay 30']);
    expect([c.pair?.nopreempt, c.pair?.preemptDelay, c.warnings]).toEqual([
      true,
      undefined,
      ['k.conf:6: preempt_delay in vrrp_instance "VI_1" is not imported: keepalived ignores it with nopreempt'],
    ]);
    // GIVEN a fraction of a second, keepalived's default 0, or the old `preempt` keyword
    const d = instance([' preempt_delay 4.5', ' preempt']);
    expect([d.pair?.preemptDelay, d.warnings]).toEqual([
      undefined,
      ['k.conf:5: preempt_delay "4.5" in vrrp_instance "VI_1" is not imported: lvsform takes whole seconds 1..1000'],
    ]);
    expect(instance([' preempt_delay 0']).warnings).toEqual([]);
  });

  it('reads comments, quoted strings with braces and one-line blocks', () => {
    // GIVEN lexical variety keepalived accepts
    const conf = [
      '! comment',
      'virtual_server 198.51.100.10 80 {   # trailing comment',
      '  protocol TCP',
      '  quorum_up "/bin/notify { up }"',
      '  lvs_sched rr',
      '  real_server 192.0.2.1 80 { weight 4 }',
      '  real_server 192.0.2.2 80',
      '  {',
      '    weight 5',
      '  }',
      '}',
    ].join('\r\n');
    // WHEN parsed
    const s = summary(conf).services['tcp 198.51.100.10:80'];
    // THEN every statement landed where it belongs
    expect([s?.config.scheduler, ...dests(s)]).toEqual(['rr', '192.0.2.1:80 masq 4 0/0', '192.0.2.2:80 masq 5 0/0']);
  });
});

describe('parseKeepalived on hostile input', () => {
  it.each([
    {
      name: 'an unclosed block',
      text: 'virtual_server 198.51.100.10 80 {\n  protocol TCP\n  real_server 192.0.2.1 80 {\n',
      message: /^bad\.conf:3: the block opened here is never closed/,
    },
    { name: 'a stray closing brace', text: 'global_defs {\n}\n}\n', message: /^bad\.conf:3: '}' closes no block/ },
    { name: 'a brace without a keyword', text: '{\n}\n', message: /^bad\.conf:1: '\{' without a keyword/ },
    { name: 'a NUL byte', text: 'global_defs {\n router_id \u0000X\n}\n', message: /^bad\.conf:2: NUL byte/ },
    { name: 'an unterminated quote', text: 'virtual_server 198.51.100.10 80 {\n quorum_up "/bin/x\n}\n', message: /^bad\.conf:2: unterminated quoted string/ },
    { name: 'absurd nesting', text: `${'a {\n'.repeat(100_000)}`, message: /^bad\.conf:33: blocks nest deeper than 32 levels/ },
    { name: 'a huge file', text: `# ${'x'.repeat(MAX_KEEPALIVED_BYTES)}`, message: /^bad\.conf:1: the file is \d+ bytes/ },
    {
      name: 'a group range of millions of addresses',
      text: `virtual_server_group G {\n 2001:db8::/64 80\n}\n${vs('group G', 'protocol TCP\n real_server 2001:db8::1 80 {\n}')}`,
      message: /^bad\.conf:2: G: 2001:db8::\/64 expands to \d+ addresses/,
    },
    {
      name: 'saved ipvsadm rules given as a keepalived configuration',
      text: '# saved\n-A -t 198.51.100.10:80 -s rr\n-a -t 198.51.100.10:80 -r 192.0.2.1:80 -m -w 1\n',
      message: /^bad\.conf:2: these are saved ipvsadm rules \(`ipvsadm -S -n`\), not a keepalived configuration$/,
    },
    {
      name: 'an ipvsadm -L -n listing given as a keepalived configuration',
      text: 'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\nTCP  198.51.100.10:80 rr\n',
      message: /^bad\.conf:1: this is an `ipvsadm -L -n` listing, not a keepalived configuration$/,
    },
    {
      name: 'a listing without its header',
      text: 'TCP  198.51.100.10:80 rr\n  -> 192.0.2.1:80 Masq 1 0 0\n',
      message: /^bad\.conf:1: this is an `ipvsadm -L -n` listing, not a keepalived configuration$/,
    },
  ])('rejects $name with LVS_PARSE_KEEPALIVED, file and line', ({ text, message }) => {
    // GIVEN hostile input
    // WHEN parsed
    let caught: unknown;
    const started = Date.now();
    try {
      parseKeepalived(text, 'bad.conf');
    } catch (e) {
      caught = e;
    }
    // THEN a clear error, quickly
    expect(isLvsError(caught) && caught.code).toBe('LVS_PARSE_KEEPALIVED');
    expect((caught as Error).message).toMatch(message);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('says once that lines with no keepalived keyword are ignored, as keepalived logs them, and reads the rest', () => {
    // GIVEN a configuration with two stray lines of ipvsadm rules among its blocks
    const text = `-A -t 198.51.100.10:80\n${vs('198.51.100.10 80', 'protocol TCP\n real_server 192.0.2.1 80 {\n}')}-a -t x\n`;
    // WHEN parsed
    const { services, warnings } = summary(text);
    // THEN the virtual_server is read, and one warning names the first stray line and counts the other
    expect(Object.keys(services)).toEqual(['tcp 198.51.100.10:80']);
    expect(warnings).toEqual(['k.conf:1: "-A" is no keepalived keyword (and 1 more line(s) like it) - ignored, as keepalived does']);
  });

  it('never fails with anything but LVS_PARSE_KEEPALIVED on random noise', () => {
    // GIVEN 300 pseudo-random documents built from keepalived-ish tokens (seeded, reproducible)
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    const tokens = [
      'virtual_server',
      'real_server',
      'virtual_server_group',
      'G',
      'group',
      'fwmark',
      '1',
      '198.51.100.1-300',
      '198.51.100.1',
      '2001:db8::1',
      '80',
      '{',
      '}',
      '\n',
      '"',
      '#',
      'lvs_method',
      'TUN',
      'type',
      'gue',
      'port',
      'weight',
      '-1',
      'persistence_granularity',
      '999',
      'ip_family',
      'inet6',
      'lvs_sched',
      'sh',
      'sh-port',
      '\\\n',
    ];
    const outcomes = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const text = Array.from({ length: 1 + rand(80) }, () => tokens[rand(tokens.length)]).join(' ');
      // WHEN parsed
      try {
        parseKeepalived(text, 'fuzz.conf');
        outcomes.add('ok');
      } catch (e) {
        // THEN the only failure is the parse error
        outcomes.add(isLvsError(e) ? e.code : `unexpected ${String(e)}`);
      }
    }
    expect([...outcomes].filter((o) => o !== 'ok' && o !== 'LVS_PARSE_KEEPALIVED')).toEqual([]);
  });
});

describe('lines as keepalived 2.2.7 reads them (lib/parser.c)', () => {
  const one = (body: string) => summary(vs('198.51.100.10 80', `protocol TCP\n${body}`));
  const weightOf = (line: string) => {
    const { services, warnings } = one(`weight 9\nreal_server 192.0.2.1 80 {\n${line}\n}`);
    return { weight: services['tcp 198.51.100.10:80']?.destinations[0]?.weight, warnings };
  };

  it('reads a quoted number with leading blanks as the number, as read_unsigned() does', () => {
    // GIVEN weight "  7" WHEN read THEN 7, without a warning
    const { weight, warnings } = weightOf('weight "  7"');
    expect([weight, warnings.filter((w) => w.includes('weight'))]).toEqual([7, []]);
  });

  it.each([
    ['weight 7x', 7, /k\.conf:5: weight "7x" is not a number; keepalived warns and reads it as 7/],
    ['weight abc', 0, /k\.conf:5: weight "abc" is not a number; keepalived warns and reads it as 0/],
    ['weight -0', 0, /k\.conf:5: weight "-0" is negative; keepalived warns and reads it as 0/],
    ['weight -3', 9, /k\.conf:5: weight "-3" is outside 0\.\.65535 - ignored/],
    ['weight 70000', 9, /k\.conf:5: weight "70000" is outside 0\.\.65535 - ignored/],
  ])('%s: keepalived reads weight %s, and the import says how', (line, expected, warning) => {
    // GIVEN a weight word keepalived's lenient reader takes (or refuses, leaving the virtual server's weight 9)
    const { weight, warnings } = weightOf(line);
    // WHEN read THEN the weight keepalived programs, and a warning naming the line
    expect(weight).toBe(expected);
    expect(warnings).toContainEqual(expect.stringMatching(warning));
  });

  it.each([
    ['80x', ['192.0.2.1:80 masq 1 0/0', '192.0.2.2:81 masq 1 0/0'], /^k\.conf:3: port "80x" is not a number; keepalived warns and reads it as 80$/],
    ['http', ['192.0.2.2:81 masq 1 0/0'], /^k\.conf:3: real_server "192\.0\.2\.1 http": not an IP address and port - real server skipped/],
    ['70000x', ['192.0.2.2:81 masq 1 0/0'], /^k\.conf:3: real_server "192\.0\.2\.1 70000x": not an IP address and port/],
  ])("reads a real server's port %s as keepalived does (its lenient read_unsigned)", (port, expected, warning) => {
    // GIVEN a real server whose port word has more after its digits, or none, and a second real server
    const { services, warnings } = one(`real_server 192.0.2.1 ${port} {\n}\nreal_server 192.0.2.2 81 {\n}`);
    // WHEN read THEN the port its digits make (with the line), or the real server skipped; the other one kept
    expect(dests(services['tcp 198.51.100.10:80'])).toEqual(expected);
    expect(warnings).toContainEqual(expect.stringMatching(warning));
  });

  it("reads a virtual server's port 443x as 443, with a warning at its line", () => {
    // GIVEN virtual_server 198.51.100.10 443x WHEN read
    const { services, warnings } = summary(vs('198.51.100.10 443x', 'protocol TCP\nreal_server 192.0.2.1 443 {\n}'));
    // THEN the service on port 443, and the warning names line 1
    expect(Object.keys(services)).toEqual(['tcp 198.51.100.10:443']);
    expect(warnings).toContainEqual(expect.stringMatching(/^k\.conf:1: port "443x" is not a number; keepalived warns and reads it as 443$/));
  });

  it('refuses what a strict keyword refuses: persistence_timeout "60s" is ignored', () => {
    // GIVEN a persistence timeout with a unit WHEN read THEN not persistent, with the line
    const { services, warnings } = one('persistence_timeout 60s\nreal_server 192.0.2.1 80 {\n}');
    expect(services['tcp 198.51.100.10:80']?.config.persistence).toBeUndefined();
    expect(warnings).toContainEqual(expect.stringMatching(/^k\.conf:3: persistence_timeout "60s" must be 1\.\.2678400 - ignored/));
  });

  it('ends a line at # or ! anywhere outside quotes, and keeps an escaped \\# in the word', () => {
    // GIVEN a comment glued to a word, and a quoted # WHEN read
    const { services, warnings } = one('quorum_up "/bin/x #1"\nreal_server 192.0.2.1 80 {\nweight 3#four\n}\nreal_server 192.0.2.2 80 {\nweight 4\\#\n}');
    // THEN weight 3 (the comment went), and "4#" read leniently as 4
    expect(dests(services['tcp 198.51.100.10:80'])).toEqual(['192.0.2.1:80 masq 3 0/0', '192.0.2.2:80 masq 4 0/0']);
    expect(warnings).toContainEqual(expect.stringMatching(/^k\.conf:8: weight "4#" is not a number/));
  });

  it('does not continue a line that ends in \\ (only a definition goes on), and says so', () => {
    // GIVEN lvs_sched \ / rr on two lines WHEN read
    const { services, warnings } = one('lvs_sched \\\nrr\nreal_server 192.0.2.1 80 {\n}');
    // THEN the scheduler stays wlc, as in keepalived, and the line is named
    expect(services['tcp 198.51.100.10:80']?.config.scheduler).toBe('wlc');
    expect(warnings).toContainEqual(expect.stringMatching(/^k\.conf:3: the line ends in \\, which keepalived does not continue/));
  });

  it('takes $NAME = value (a space before =) for no definition, and says so', () => {
    // GIVEN a spaced definition used in the virtual server WHEN read
    const { services, warnings } = summary(`$PORT = 80\n${vs('198.51.100.10 $PORT', 'protocol TCP\nreal_server 192.0.2.1 80 {\n}')}`);
    // THEN no service (keepalived reads the port "$PORT"), and the definition line is named
    expect(Object.keys(services)).toEqual([]);
    expect(warnings).toContainEqual(expect.stringMatching(/^k\.conf:1: "\$PORT = 80" is not a definition for keepalived/));
  });

  it('replaces a definition at use, with the values defined by then', () => {
    // GIVEN $NET defined through $HOST, which changes between two uses
    const rs = 'protocol TCP\nreal_server 192.0.2.1 80 {\n}';
    const conf = `$NET=198.51.100.\${HOST}\n$HOST=10\n${vs('${NET} 80', rs)}$HOST=11\n${vs('${NET} 80', rs)}`;
    // WHEN read THEN each use took the value of its time
    expect(Object.keys(summary(conf).services)).toEqual(['tcp 198.51.100.10:80', 'tcp 198.51.100.11:80']);
  });

  it('reads a multi-line definition, used on its own line, as the lines it holds', () => {
    // GIVEN keepalived.conf(5)'s multi-line example: a real server template used twice
    const conf = [
      '$RS=real_server 192.0.2.${N} 80 { \\',
      '  weight ${W} \\',
      '}',
      'virtual_server 198.51.100.10 80 {',
      '  protocol TCP',
      '  $N=1',
      '  $W=2',
      '  $RS',
      '  $N=2',
      '  $W=3',
      '  $RS',
      '}',
    ].join('\n');
    // WHEN read THEN two real servers with their weights
    const { services, warnings } = summary(conf);
    expect(dests(services['tcp 198.51.100.10:80'])).toEqual(['192.0.2.1:80 masq 2 0/0', '192.0.2.2:80 masq 3 0/0']);
    expect(warnings).toEqual([]);
  });

  it('reads a line again when a replacement makes it conditional (keepalived.conf(5): $IF_MAIN=@main)', () => {
    // GIVEN a definition holding @lb1, used before a real server
    const conf = vs('198.51.100.10 80', 'protocol TCP\nreal_server 192.0.2.1 80 {\n}\n$IF_LB1=@lb1\n$IF_LB1 real_server 192.0.2.2 80 { weight 2 }');
    // WHEN read for lb1 and for lb2 THEN the second real server is there for lb1 only
    const read = (configId: string) => dests(parseKeepalived(conf, 'k.conf', { configId }).table.services[0]);
    expect([read('lb1'), read('lb2')]).toEqual([['192.0.2.1:80 masq 1 0/0', '192.0.2.2:80 masq 2 0/0'], ['192.0.2.1:80 masq 1 0/0']]);
  });

  describe('@ID lines, for one config id (keepalived -i)', () => {
    const conf = [
      '@lb1 $W=3',
      '@^lb1 $W=5',
      'virtual_server 198.51.100.10 80 {',
      '  protocol TCP',
      '  real_server 192.0.2.1 80 {',
      '    weight $W',
      '  }',
      '  @lb2 real_server 192.0.2.2 80 { weight 2 }',
      '}',
    ].join('\n');
    const read = (configId?: string) => {
      const { table, warnings } = parseKeepalived(conf, 'k.conf', configId === undefined ? {} : { configId });
      return { dests: dests(table.services[0]), warnings };
    };

    it('with --config-id lb1: the @lb1 line, not the @^lb1 nor the @lb2 ones', () => {
      // GIVEN config id lb1 WHEN read THEN weight 3 and one real server, nothing to report
      expect(read('lb1')).toEqual({ dests: ['192.0.2.1:80 masq 3 0/0'], warnings: [] });
    });

    it('with --config-id lb2: the @^lb1 and the @lb2 lines', () => {
      // GIVEN config id lb2 WHEN read THEN weight 5 and both real servers
      expect(read('lb2')).toEqual({ dests: ['192.0.2.1:80 masq 5 0/0', '192.0.2.2:80 masq 2 0/0'], warnings: [] });
    });

    it('without a config id: each conditional line is reported with its line, as for an id none of them names', () => {
      // GIVEN no config id WHEN read
      const { dests: got, warnings } = read();
      // THEN @^lb1 is taken, the @ lines are not, and each of the three is named
      expect(got).toEqual(['192.0.2.1:80 masq 5 0/0']);
      expect(warnings).toEqual([
        expect.stringMatching(/^k\.conf:1: "@lb1 \$W=3" is for config id lb1 only - not imported; pass --config-id lb1/),
        expect.stringMatching(/^k\.conf:2: "@\^lb1 \$W=5" is for every config id but lb1 - imported as for a config id none/),
        expect.stringMatching(/^k\.conf:8: "@lb2 real_server 192\.0\.2\.2 80 \{ weight 2 \}" is for config id lb2 only - not imported/),
      ]);
    });
  });
});

describe('virtual and real server addresses are read as keepalived reads them (inet_stosockaddr)', () => {
  it.each([
    [
      'a virtual server with a prefix',
      'virtual_server 192.0.2.1/32 80',
      'real_server 10.0.0.1 80',
      'tcp 192.0.2.1:80',
      '10.0.0.1:80',
      /k\.conf:1: virtual_server "192\.0\.2\.1\/32": keepalived drops "\/32"/,
    ],
    [
      'a real server with a prefix',
      'virtual_server 192.0.2.2 80',
      'real_server 10.0.0.3/24 80',
      'tcp 192.0.2.2:80',
      '10.0.0.3:80',
      /k\.conf:3: real_server "10\.0\.0\.3\/24": keepalived drops "\/24"/,
    ],
    ['a virtual server with a range', 'virtual_server 192.0.2.3-9 80', 'real_server 10.0.0.1 80', 'tcp 192.0.2.3:80', '10.0.0.1:80', /keepalived drops "-9"/],
    [
      'an IPv6 real server with a prefix',
      'virtual_server 2001:db8::1 80',
      'real_server 2001:db8::5/64 80',
      'tcp [2001:db8::1]:80',
      '[2001:db8::5]:80',
      /keepalived drops "\/64"/,
    ],
  ])('%s: the address before the suffix, with a warning', (_name, head, real, id, dest, warning) => {
    // GIVEN a server line whose address carries a prefix or range
    const conf = `${head} {\n  protocol TCP\n  ${real} {\n  }\n}\n`;
    // WHEN it is imported
    const { services, warnings } = summary(conf);
    // THEN keepalived's address is imported, and the dropped suffix is said at its line
    expect(Object.keys(services)).toEqual([id]);
    expect(services[id]!.destinations.map((d) => destinationId(d))).toEqual([dest]);
    expect(warnings.some((w) => warning.test(w))).toBe(true);
  });

  it('a word keepalived cannot read is still skipped', () => {
    // GIVEN a real server whose address is not one even without its suffix
    const { services, warnings } = summary(vs('192.0.2.1 80', 'protocol TCP\n  real_server 10.0.0/24 80 {\n  }\n  real_server 10.0.0.2 80 {\n  }'));
    // THEN it is skipped as before; the other is imported
    expect(dests(services['tcp 192.0.2.1:80'])).toEqual(['10.0.0.2:80 masq 1 0/0']);
    expect(warnings.some((w) => /not an IP address and port - real server skipped/.test(w))).toBe(true);
  });

  it('virtual_server_group ranges stay ranges', () => {
    // GIVEN a group with a range entry
    const { services } = summary('virtual_server_group G {\n  192.0.2.1-3 80\n}\nvirtual_server group G {\n protocol TCP\n real_server 10.0.0.1 80 {\n }\n}\n');
    // THEN every address of the range is a service
    expect(Object.keys(services).sort()).toEqual(['tcp 192.0.2.1:80', 'tcp 192.0.2.2:80', 'tcp 192.0.2.3:80']);
  });
});

describe('what keepalived does not read is said, never dropped in silence', () => {
  const service = (vip: string) => `virtual_server ${vip} 80 {\n  protocol TCP\n  real_server 10.0.0.1 80 {\n  }\n}\n`;

  it.each([
    [
      'inside global_defs (a closing brace moved down)',
      `global_defs {\n  router_id LB1\n${service('192.0.2.1')}}\n`,
      /k\.conf:3: "virtual_server 192\.0\.2\.1 80" is inside global_defs \(k\.conf:1\), where keepalived does not read it - not imported/,
    ],
    [
      'inside one of two vrrp_instances',
      `vrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n${service('192.0.2.1')}}\nvrrp_instance B {\n  interface eth0\n  virtual_router_id 2\n}\n`,
      /k\.conf:4: "virtual_server 192\.0\.2\.1 80" is inside vrrp_instance \(k\.conf:1\)/,
    ],
    [
      'inside the one vrrp_instance',
      `vrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n${service('192.0.2.1')}}\n`,
      /k\.conf:4: "virtual_server 192\.0\.2\.1 80" is inside vrrp_instance \(k\.conf:1\)/,
    ],
    ['inside an unknown block', `http {\n${service('192.0.2.1')}}\n`, /k\.conf:2: "virtual_server 192\.0\.2\.1 80" is inside http \(k\.conf:1\)/],
    [
      'a misspelt virtual_server',
      service('192.0.2.1').replace('virtual_server', 'virtual_sever'),
      /k\.conf:1: unknown keyword "virtual_sever" and its \{ \} block ignored, as keepalived ignores it - did you mean virtual_server\?/,
    ],
    [
      'virtual_server in another case',
      service('192.0.2.1').replace('virtual_server', 'Virtual_Server'),
      /k\.conf:1: unknown keyword "Virtual_Server" .* did you mean virtual_server\?/,
    ],
    ['a real_server at the top', 'real_server 10.0.0.1 80 {\n}\n', /k\.conf:1: "real_server 10\.0\.0\.1 80" stands outside any virtual_server - not imported/],
    ['an unknown one-word keyword', 'lvs_flush\n', /k\.conf:1: unknown keyword "lvs_flush" ignored, as keepalived ignores it$/],
  ])('%s', (_name, conf, warning) => {
    // GIVEN a configuration with something keepalived does not read where it stands WHEN imported
    const { services, warnings } = summary(conf);
    // THEN nothing of it is imported, and a warning names its line
    expect(services).toEqual({});
    expect(warnings.filter((w) => warning.test(w))).toHaveLength(1);
  });

  it('says a misplaced virtual_server once, not again as a setting the pair lacks', () => {
    // GIVEN a virtual_server inside the one vrrp_instance
    const { warnings } = summary(`vrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n${service('192.0.2.1')}}\n`);
    // THEN one warning names line 4
    expect(warnings.filter((w) => w.startsWith('k.conf:4:'))).toHaveLength(1);
  });

  it('says known keywords of other parts of keepalived nothing about', () => {
    // GIVEN a configuration with a vrrp_script, SSL and a global setting, and a service
    const { warnings } = summary(`vrrp_script chk {\n  script "/bin/true"\n}\nSSL {\n  password x\n}\nuse_pid_dir\n${service('192.0.2.1')}`);
    // THEN nothing is said
    expect(warnings).toEqual([]);
  });

  it('names the first unknown keywords one by one and counts the rest', () => {
    // GIVEN 25 unknown keywords
    const { warnings } = summary(Array.from({ length: 25 }, (_, i) => `word${i}`).join('\n'));
    // THEN 20 are named, and the rest counted at the 21st
    expect(warnings).toHaveLength(21);
    expect(warnings[20]).toBe('k.conf:21: 5 more unknown keyword(s) from here on ignored, as keepalived ignores them');
  });
});

describe('a real server the kernel refuses is skipped as keepalived goes on without it', () => {
  it('lthreshold without uthreshold: that real server skipped, the rest imported', () => {
    // GIVEN a real server with lthreshold 50 and no uthreshold (0, no limit), beside another
    const { services, warnings } = summary(
      vs('192.0.2.1 80', 'protocol TCP\n  real_server 10.0.0.1 80 {\n  lthreshold 50\n  }\n  real_server 10.0.0.2 80 {\n  }'),
    );
    // THEN the other is imported, and the skipped one is named at its line with why
    expect(dests(services['tcp 192.0.2.1:80'])).toEqual(['10.0.0.2:80 masq 1 0/0']);
    expect(warnings).toContain(
      'k.conf:3: real server 10.0.0.1:80: lthreshold 50 above uthreshold 0 (0 = no limit) - the kernel refuses this real server (ERANGE) and keepalived goes on without it: skipped; give it an uthreshold above its lthreshold',
    );
  });
});
