import { gzipSync } from 'node:zlib';
import { parseRecord } from '../../../providers/ipvs/host/record.ts';
import { describe, expect, it } from 'vitest';
import { decodeSection, fastReadChunk, fastStateOf, listingMismatch, procAgrees, writeTableChunk } from '../../../providers/ipvs/host/fast-path.ts';
import type { Service } from '../../../providers/ipvs/model/model.ts';
import { parseProcIpvs } from '../../../providers/ipvs/read/parse-proc.ts';

const svc: Service = {
  key: { kind: 'addr', protocol: 'tcp', address: '198.51.100.10', port: 80 },
  config: { scheduler: 'sh', schedFlags: ['flag-2'], onePacket: false, persistence: { timeout: 30, netmask: '255.255.255.255' } },
  destinations: [{ address: '192.0.2.11', port: 80, forwarding: { method: 'masq' }, weight: 3, upperThreshold: 10, lowerThreshold: 5 }],
};

// Captured in the lab (ipvsadm 1.31, kernel 6.1).
const LISTING = `Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn
  -> RemoteAddress:Port
TCP  198.51.100.10:80 sh (sh-port) persistent 30
  -> 192.0.2.11:80                10         5          0          0
`;
const PROC = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
TCP  C633640A:0050 sh  persistent 3000 FFFFFFFF
  -> C000020B:0050      Masq    3      0          0
`;

describe('fast path', () => {
  it('accepts a per-service listing that shows the desired service', () => {
    // GIVEN the listing of the service as the kernel holds it / WHEN compared / THEN no difference
    expect(listingMismatch(svc, LISTING)).toBeUndefined();
  });

  it('reports thresholds, flags and persistence that differ', () => {
    expect(listingMismatch({ ...svc, destinations: [{ ...svc.destinations[0]!, upperThreshold: 11 }] }, LISTING)).toMatch(/thresholds/);
    expect(listingMismatch({ ...svc, config: { ...svc.config, schedFlags: [] } }, LISTING)).toMatch(/flags/);
    expect(listingMismatch({ ...svc, config: { ...svc.config, persistence: { timeout: 60, netmask: '255.255.255.255' } } }, LISTING)).toMatch(/persistence/);
  });

  it('finds /proc in agreement with the table, and not after a weight change', () => {
    expect(procAgrees(parseProcIpvs(PROC), { services: [svc] })).toBe(true);
    expect(procAgrees(parseProcIpvs(PROC.replace('Masq    3', 'Masq    4')), { services: [svc] })).toBe(false);
  });

  it('decodes gzip+base64 sections and passes plain text through', () => {
    const b64 = gzipSync('hello\n').toString('base64');
    expect(decodeSection(`@@gz\n${b64.slice(0, 10)}\n${b64.slice(10)}\n`)).toBe('hello\n');
    expect(decodeSection('plain\n')).toBe('plain\n');
  });

  it('refuses stack names that could leave the state directory', () => {
    expect(() => fastReadChunk('t', '../etc')).toThrow(/plain file name/);
    expect(() => writeTableChunk('a b', '', false)).toThrow(/plain file name/);
  });

  it('reads the fast state of a record only when it is well formed', () => {
    const base = { format: 1, stack: 's', director: 'd', updated: '', services: {} };
    const read = (r: object) => parseRecord(JSON.stringify(r), 's', 'd');
    expect(fastStateOf(read({ ...base, fast: { proc: 'p', table: 't' } }))).toEqual({ proc: 'p', table: 't' });
    expect(fastStateOf(read({ ...base, fast: { proc: 1 } }))).toBeUndefined();
    expect(fastStateOf(read(base))).toBeUndefined();
  });
});
