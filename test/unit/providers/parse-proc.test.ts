import { describe, expect, it } from 'vitest';
import { parseProcIpvs, procFingerprint } from '../../../providers/ipvs/read/parse-proc.ts';
import { fixture } from './fixtures.ts';

describe('parseProcIpvs', () => {
  const digest = parseProcIpvs(fixture('full.proc.txt'));
  const find = (id: string) => digest.services.filter((s) => s.id === id);

  it('decodes hex IPv4 addresses, ports, timeouts in ticks and netmasks', () => {
    expect(find('tcp 198.51.100.12:445')).toEqual([
      { id: 'tcp 198.51.100.12:445', scheduler: 'wlc', onePacket: false, persistence: { timeoutTicks: 60000, netmask: '255.255.255.0' }, destinations: [] },
    ]);
  });

  it('decodes IPv6 addresses to RFC 5952 and the byte-swapped IPv6 prefix', () => {
    const [svc] = find('udp [2001:db8::10]:53');
    expect(svc?.persistence).toEqual({ timeoutTicks: 30000, netmask: '64' });
    expect(find('tcp [2001:db8::10]:80')[0]?.destinations.map((d) => `${d.id} ${d.forward} ${d.weight}`)).toEqual([
      '192.0.2.19:80 Tunnel 1',
      '[2001:db8:0:1::11]:80 Masq 3',
      '[2001:db8:0:1::12]:80 Route 1',
      '[2001:db8:0:1::13]:80 Tunnel 1',
    ]);
  });

  it('reads firewall marks and one-packet scheduling', () => {
    expect(find('fwmark 4').map((s) => s.onePacket)).toEqual([true]);
    expect(find('fwmark 1')).toHaveLength(2); // IPv4 and IPv6: /proc does not tell them apart
  });

  it('holds every service of the table', () => {
    expect(digest.services).toHaveLength(
      fixture('full.save.txt')
        .split('\n')
        .filter((l) => l.startsWith('-A ')).length,
    );
  });
});

describe('procFingerprint', () => {
  it('ignores connection counters', () => {
    // GIVEN the same table with different active/inactive counts
    const text = fixture('full.proc.txt');
    const busier = text.replace(/(Masq\s+1\s+)2(\s+)/, '$17$2');
    expect(busier).not.toBe(text);
    // THEN the same fingerprint
    expect(procFingerprint(busier)).toBe(procFingerprint(text));
  });

  it('ignores the hash order of services', () => {
    const text = fixture('full.proc.txt');
    const lines = text.split('\n');
    const head = lines.slice(0, 3);
    const blocks: string[][] = [];
    for (const l of lines.slice(3)) {
      if (l.startsWith('  ->')) blocks[blocks.length - 1]!.push(l);
      else if (l !== '') blocks.push([l]);
    }
    const reversed = [...head, ...blocks.reverse().flat(), ''].join('\n');
    expect(procFingerprint(reversed)).toBe(procFingerprint(text));
  });

  it('changes when the table changes (the edits captured on the kernel)', () => {
    expect(procFingerprint(fixture('edited.proc.txt'))).not.toBe(procFingerprint(fixture('full.proc.txt')));
  });

  it('rejects text that is not /proc/net/ip_vs', () => {
    expect(() => procFingerprint('hello\n')).toThrow(/\/proc\/net\/ip_vs:1: no "IP Virtual Server version" header/);
  });
});
