import { describe, expect, it } from 'vitest';
import { LvsError } from '../../../providers/ipvs/model/errors.ts';
import { type Service, serviceId } from '../../../providers/ipvs/model/model.ts';
import { parseSave } from '../../../providers/ipvs/read/parse-save.ts';
import { fixture } from './fixtures.ts';

function service(text: string, id: string): Service {
  const svc = parseSave(text).services.find((s) => serviceId(s.key) === id);
  if (svc === undefined) throw new Error(`no ${id}`);
  return svc;
}

function parseError(text: string): LvsError {
  try {
    parseSave(text, 'lb1.save');
  } catch (e) {
    if (e instanceof LvsError) return e;
    throw e;
  }
  throw new Error('parseSave accepted the input');
}

describe('parseSave on real ipvsadm -S -n output', () => {
  const full = fixture('full.save.txt');

  it('reads every service and real server of the captured table', () => {
    // GIVEN the captured table  WHEN parsed
    const table = parseSave(full, 'full.save.txt');
    // THEN every -A and -a line is there
    const lines = full.split('\n');
    expect(table.services).toHaveLength(lines.filter((l) => l.startsWith('-A ')).length);
    expect(table.services.reduce((n, s) => n + s.destinations.length, 0)).toBe(lines.filter((l) => l.startsWith('-a ')).length);
  });

  it('returns services sorted by serviceId and real servers by destinationId', () => {
    const table = parseSave(full);
    const ids = table.services.map((s) => serviceId(s.key));
    expect(ids).toEqual([...ids].sort());
  });

  it('reads a firewall mark printed negative (-f -1) as the unsigned mark', () => {
    expect(service(full, 'fwmark 4294967295 inet').key).toEqual({ kind: 'fwmark', mark: 4294967295, family: 'inet' });
  });

  it('keeps IPv4 and IPv6 firewall-mark services with the same mark apart', () => {
    expect(service(full, 'fwmark 1 inet').config.scheduler).toBe('wlc');
    expect(service(full, 'fwmark 1 inet6').config.scheduler).toBe('sh');
  });

  it('maps sh and mh flag names to flag bits', () => {
    expect(service(full, 'tcp 198.51.100.11:80').config.schedFlags).toEqual(['flag-1', 'flag-2']);
    expect(service(full, 'tcp 198.51.100.11:82').config.schedFlags).toEqual(['flag-1']);
    expect(service(full, 'tcp 198.51.100.11:84').config.schedFlags).toEqual(['flag-1', 'flag-3']);
  });

  it('makes the default persistence netmask explicit', () => {
    expect(service(full, 'tcp 198.51.100.12:443').config.persistence).toEqual({ timeout: 360, netmask: '255.255.255.255' });
    expect(service(full, 'tcp [2001:db8::10]:444').config.persistence).toEqual({ timeout: 60, netmask: '128' });
    expect(service(full, 'udp [2001:db8::10]:53').config.persistence).toEqual({ timeout: 300, netmask: '64' });
  });

  it('reads a persistence engine without persistence, and one-packet scheduling', () => {
    expect(service(full, 'udp 198.51.100.13:5061').config).toEqual({ scheduler: 'rr', schedFlags: [], persistenceEngine: 'sip', onePacket: false });
    expect(service(full, 'udp 198.51.100.14:53').config.onePacket).toBe(true);
  });

  it('reads every tunnel type with its port and checksum', () => {
    const dests = service(full, 'tcp 198.51.100.17:80').destinations;
    const fwd = Object.fromEntries(dests.map((d) => [d.address, d.forwarding]));
    expect(fwd['192.0.2.51']).toEqual({ method: 'tunnel', type: 'ipip' });
    expect(fwd['192.0.2.55']).toEqual({ method: 'tunnel', type: 'gue', port: 6083, checksum: 'remcsum' });
    expect(fwd['192.0.2.57']).toEqual({ method: 'tunnel', type: 'gre', checksum: 'csum' });
    expect(fwd['2001:db8::62']).toEqual({ method: 'tunnel', type: 'gue', port: 6090, checksum: 'remcsum' });
  });

  it('reads an empty table', () => {
    expect(parseSave(fixture('empty.save.txt')).services).toEqual([]);
  });

  it('rejects output made without -n, naming the service name', () => {
    const e = parseError(fixture('full.save-names.txt'));
    expect(e.code).toBe('LVS_PARSE_SAVE');
    expect(e.message).toMatch(/lb1\.save:3: .*names a service \("http-alt"\)/);
    expect(e.hint).toMatch(/-S -n/);
  });
});

describe('parseSave on hand-written save files', () => {
  const cases: { name: string; text: string; expected: unknown }[] = [
    {
      name: 'long option forms',
      text:
        '--add-service --tcp-service 198.51.100.18:80 --scheduler wrr --persistent 100 --netmask 255.255.255.0\n' +
        '--add-server --tcp-service 198.51.100.18:80 --real-server 192.0.2.71:80 --masquerading --weight 7 --u-threshold 9 --l-threshold 3\n',
      expected: {
        services: [
          {
            key: { kind: 'addr', protocol: 'tcp', address: '198.51.100.18', port: 80 },
            config: { scheduler: 'wrr', schedFlags: [], persistence: { timeout: 100, netmask: '255.255.255.0' }, onePacket: false },
            destinations: [{ address: '192.0.2.71', port: 80, forwarding: { method: 'masq' }, weight: 7, upperThreshold: 9, lowerThreshold: 3 }],
          },
        ],
      },
    },
    {
      name: 'defaults: scheduler wlc, direct routing, weight 1, service port, IPv6 in RFC 5952 form',
      text: '# saved\n\n-A -t [2001:DB8:0:0:0:0:0:10]:80\n-a -t [2001:db8::10]:80 -r [2001:db8:0:0:0:0:0:11]:8080\n',
      expected: {
        services: [
          {
            key: { kind: 'addr', protocol: 'tcp', address: '2001:db8::10', port: 80 },
            config: { scheduler: 'wlc', schedFlags: [], onePacket: false },
            destinations: [{ address: '2001:db8::11', port: 80, forwarding: { method: 'droute' }, weight: 1, upperThreshold: 0, lowerThreshold: 0 }],
          },
        ],
      },
    },
    {
      name: 'bare -p before another option, --opt=value, udp and sctp',
      text: '-A -u 198.51.100.13:5060 -s rr -p --pe=sip -o\n-A --sctp-service 198.51.100.15:3868 -s rr\n',
      expected: {
        services: [
          {
            key: { kind: 'addr', protocol: 'sctp', address: '198.51.100.15', port: 3868 },
            config: { scheduler: 'rr', schedFlags: [], onePacket: false },
            destinations: [],
          },
          {
            key: { kind: 'addr', protocol: 'udp', address: '198.51.100.13', port: 5060 },
            config: { scheduler: 'rr', schedFlags: [], persistence: { timeout: 360, netmask: '255.255.255.255' }, persistenceEngine: 'sip', onePacket: true },
            destinations: [],
          },
        ],
      },
    },
    {
      name: 'an IPv6 firewall mark with a real server without port',
      text: '-A -f 2 -6 -s rr\n-a -f 2 -6 -r 2001:db8::31 -m\n',
      expected: {
        services: [
          {
            key: { kind: 'fwmark', mark: 2, family: 'inet6' },
            config: { scheduler: 'rr', schedFlags: [], onePacket: false },
            destinations: [{ address: '2001:db8::31', port: 0, forwarding: { method: 'masq' }, weight: 1, upperThreshold: 0, lowerThreshold: 0 }],
          },
        ],
      },
    },
  ];
  for (const c of cases) {
    it(`reads ${c.name}`, () => {
      // GIVEN a save file  WHEN parsed  THEN the canonical table
      expect(parseSave(c.text)).toEqual(c.expected);
    });
  }
});

describe('parseSave errors name the source, the line and the token', () => {
  const cases: { name: string; text: string; message: RegExp }[] = [
    { name: 'an unknown option', text: '-A -t 198.51.100.1:80 -s rr\n-A -t 198.51.100.2:80 --bogus\n', message: /^lb1\.save:2: unknown option "--bogus"/ },
    { name: 'a host name', text: '-A -t lb.example.com:80 -s rr\n', message: /:1: .*"lb\.example\.com:80" is a host name/ },
    { name: 'a bad address', text: '-A -t 198.51.100.300:80\n', message: /:1: virtual service "198\.51\.100\.300:80" is not an IPv4 or IPv6 address/ },
    { name: 'a port out of range', text: '-A -t 198.51.100.1:70000\n', message: /:1: virtual service .* no valid port/ },
    {
      name: 'a real server before its service',
      text: '-a -t 198.51.100.1:80 -r 192.0.2.1:80 -m\n',
      message: /:1: real server for "tcp 198\.51\.100\.1:80", which no earlier -A line defines/,
    },
    { name: 'a duplicate service', text: '-A -t 198.51.100.1:80\n-A -t 198.51.100.1:80\n', message: /:2: service .* defined twice/ },
    { name: 'a missing value', text: '-A -t\n', message: /:1: option "-t" needs a value/ },
    { name: 'a NUL byte', text: '-A -t 198.51.100.1:80\0\n', message: /:1: .*NUL/ },
    { name: 'an edit command', text: '-E -t 198.51.100.1:80 -s rr\n', message: /:1: -E does not describe a table/ },
    { name: 'port 0 without persistence', text: '-A -t 198.51.100.1:0 -s rr\n', message: /port 0 but no persistence/ },
    { name: 'one-packet on TCP', text: '-A -t 198.51.100.1:80 -o\n', message: /only for UDP/ },
    { name: 'an sh flag on wlc', text: '-A -t 198.51.100.1:80 -s wlc -b sh-port\n', message: /"sh-port" is for sh, not wlc/ },
    {
      name: 'lower threshold above upper',
      text: '-A -t 198.51.100.1:80\n-a -t 198.51.100.1:80 -r 192.0.2.1 -m -x 0 -y 7\n',
      message: /:2: lower threshold 7 is above upper threshold 0/,
    },
    { name: 'gue without port', text: '-A -t 198.51.100.1:80\n-a -t 198.51.100.1:80 -r 192.0.2.1 -i --tun-type gue\n', message: /needs --tun-port/ },
    { name: 'mixed families under masq', text: '-A -t 198.51.100.1:80\n-a -t 198.51.100.1:80 -r [2001:db8::1]:80 -m\n', message: /another address family/ },
    { name: 'firewall mark 0', text: '-A -f 0\n', message: /mark 0/ },
    {
      name: 'an ipvsadm -L -n listing given as saved rules',
      text: 'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n',
      message: /^lb1\.save:1: this is an `ipvsadm -L -n` listing, not saved rules$/,
    },
    { name: 'a listing without its header', text: 'TCP  198.51.100.1:80 rr\n', message: /:1: this is an `ipvsadm -L -n` listing/ },
    { name: 'a keepalived configuration', text: '! keepalived\nvirtual_server 198.51.100.1 80 {\n', message: /:1: this is a keepalived configuration/ },
    {
      name: 'a line of prose',
      text: 'hello world\n',
      message: /:1: unexpected "hello": expected an option \(a line of `ipvsadm -S -n` starts with -A or -a\)/,
    },
  ];
  for (const c of cases) {
    it(`reports ${c.name}`, () => {
      const e = parseError(c.text);
      expect(e.code).toBe('LVS_PARSE_SAVE');
      expect(e.message).toMatch(c.message);
      if (/listing|keepalived/.test(c.name)) expect(e.hint).toMatch(/ipvsadm -S -n > FILE|--keepalived FILE/);
    });
  }

  it('rejects a 5 MB line quickly and quotes only the start of the token', () => {
    // GIVEN one huge unknown token
    const text = `-A -t 198.51.100.1:80 --${'x'.repeat(5_000_000)}\n`;
    const started = performance.now();
    // WHEN parsed
    const e = parseError(text);
    // THEN a short message, fast
    expect(performance.now() - started).toBeLessThan(1000);
    expect(e.message.length).toBeLessThan(200);
  });

  it('rejects binary garbage without crashing', () => {
    const garbage = Array.from({ length: 2000 }, (_, i) => String.fromCharCode((i * 7919) % 256)).join('');
    expect(parseError(garbage).code).toBe('LVS_PARSE_SAVE');
  });
});

describe('options as popt reads them', () => {
  it('takes a value attached to its short option, and several flags in one word', () => {
    // GIVEN lines written with attached values (-w3, -p360, -t…), an `=` popt skips, and bundled flags (-gm is -g -m)
    const bundled = parseSave(
      ['-A -t198.51.100.10:80 -s rr -p360', '-a -t 198.51.100.10:80 -r 192.0.2.11:80 -m -w3', '-a -t 198.51.100.10:80 -r 192.0.2.12:80 -m -w=5'].join('\n'),
    );
    // WHEN read THEN it is the table the spaced-out lines give
    const spaced = parseSave(
      ['-A -t 198.51.100.10:80 -s rr -p 360', '-a -t 198.51.100.10:80 -r 192.0.2.11:80 -m -w 3', '-a -t 198.51.100.10:80 -r 192.0.2.12:80 -m -w 5'].join('\n'),
    );
    expect(bundled).toEqual(spaced);
  });

  it('still refuses a word that is not made of its short options, by name', () => {
    // GIVEN an option popt would not know either WHEN read THEN it is refused, naming the word
    expect(() => parseSave('-A -t 198.51.100.10:80 -s rr -Zw3')).toThrow(/unknown option "-Zw3"/);
  });
});
