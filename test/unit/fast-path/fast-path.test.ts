import { gzipSync } from 'node:zlib';
import { parseRecord } from '../../../providers/ipvs/model/record.ts';
import { describe, expect, it } from 'vitest';
import { fastStateOf, listingMismatch, parseStoredTable, procAgrees, STORED_TABLE_FORMAT, storedTableText } from '../../../providers/ipvs/apply/fast-path.ts';
import { decodeSection } from '../../../providers/ipvs/host/requests/gzip.ts';
import { fastReadChunk } from '../../../providers/ipvs/host/requests/fast-read.ts';
import { parseListing } from '../../../providers/ipvs/host/requests/proc.ts';
import { writeTableChunk } from '../../../providers/ipvs/host/requests/store-table.ts';
import { normalizeTable } from '../../../providers/ipvs/model/model.ts';
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
    expect(listingMismatch(svc, parseListing(LISTING))).toBeUndefined();
  });

  it('reports thresholds, flags and persistence that differ', () => {
    expect(listingMismatch({ ...svc, destinations: [{ ...svc.destinations[0]!, upperThreshold: 11 }] }, parseListing(LISTING))).toMatch(/thresholds/);
    expect(listingMismatch({ ...svc, config: { ...svc.config, schedFlags: [] } }, parseListing(LISTING))).toMatch(/flags/);
    expect(listingMismatch({ ...svc, config: { ...svc.config, persistence: { timeout: 60, netmask: '255.255.255.255' } } }, parseListing(LISTING))).toMatch(
      /persistence/,
    );
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

describe('the stored table', () => {
  it('reads back exactly the table it stored, as compressed JSON that needs no ipvsadm parsing', () => {
    // GIVEN an owned table with flags, persistence and thresholds
    const table = { services: [svc] };
    // WHEN it is stored and read back
    const text = storedTableText(table);
    // THEN the text is the compressed JSON under its header and reads back to the same table
    expect(text.split('\n')[0]).toBe(STORED_TABLE_FORMAT);
    expect(parseStoredTable(text, 'web.table')).toEqual(normalizeTable(table));
  });

  it('still reads a table stored by an older lvsform as ipvsadm -R lines', () => {
    // GIVEN the older form WHEN it is read THEN it gives the same model as parseSave
    const lines = '-A -t 198.51.100.10:80 -s rr\n-a -t 198.51.100.10:80 -r 192.0.2.11:80 -m -w 1\n';
    expect(parseStoredTable(lines, 'web.table')?.services.map((s) => s.destinations.length)).toEqual([1]);
  });

  it('reports a stored text in no known form as unreadable instead of throwing', () => {
    // GIVEN JSON of another format and broken JSON WHEN read THEN neither is taken for a table
    expect(parseStoredTable('lvsform-owned-table/9 other\nAAAA\n', 'web.table')).toBeUndefined();
    expect(parseStoredTable(`${STORED_TABLE_FORMAT}\nbm90IGd6aXA=\n`, 'web.table')).toBeUndefined();
  });
});
