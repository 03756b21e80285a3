import { describe, expect, it } from 'vitest';
import { buildStatus, humanCount, renderStatus, shareBar } from '../../../providers/ipvs/ops/status.ts';
import { parseStatus, statusChunk } from '../../../providers/ipvs/host/requests/status.ts';
import { sectionLine } from '../../../providers/ipvs/host/sections.ts';
import { RECORD_FORMAT } from '../../../providers/ipvs/model/record.ts';

// Captured from the lab (UML 6.1, ipvsadm 1.31) after 30 requests through nat-web, plus a hand-made UDP service.
const SAVE = `-A -t 198.51.100.10:80 -s rr
-a -t 198.51.100.10:80 -r 192.0.2.11:80 -m -w 1
-a -t 198.51.100.10:80 -r 192.0.2.12:80 -m -w 2
-A -u 198.51.100.12:53 -s rr
`;
const LIST = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  198.51.100.10:80 rr
  -> 192.0.2.11:80                Masq    1      1          14
  -> 192.0.2.12:80                Masq    2      0          15
UDP  198.51.100.12:53 rr
`;
const STATS = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  198.51.100.10:80                   30      180      150    11520    19200
  -> 192.0.2.11:80                      15       90       75     5760     9600
  -> 192.0.2.12:80                      15       90       75     5760     9600
UDP  198.51.100.12:53                    0        0        0        0        0
`;
const RATE = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS
  -> RemoteAddress:Port
TCP  198.51.100.10:80                    6       35       29     2240     3730
  -> 192.0.2.11:80                       3       17       14     1120     1865
  -> 192.0.2.12:80                       3       18       15     1120     1865
UDP  198.51.100.12:53                    0        0        0        0        0
`;
const RECORD = {
  format: RECORD_FORMAT,
  stack: 'nat-web',
  director: 'lb1',
  updated: '2026-01-01T00:00:00.000Z',
  services: { 'tcp 198.51.100.10:80': { path: 'nat-web/lb1/http' } },
};

describe('status', () => {
  const status = buildStatus('lb1', 'lb1 (lab)', { save: SAVE, list: LIST, stats: STATS, rate: RATE }, RECORD);

  it('joins counts, totals and rates per service and real server', () => {
    // GIVEN the four listings WHEN they are joined THEN the owned service carries every figure
    const web = status.services[0]!;
    expect(web).toMatchObject({
      id: 'tcp 198.51.100.10:80',
      owned: true,
      path: 'nat-web/lb1/http',
      activeConns: 1,
      inactiveConns: 29,
      conns: 30,
      connsPerSecond: 6,
      inBytes: 11520,
      outBytes: 19200,
    });
    expect(web.realServers.map((r) => [r.id, r.forwarding, r.weight, r.activeConns, r.inactiveConns, r.conns, r.connsPerSecond])).toEqual([
      ['192.0.2.11:80', 'masq', 1, 1, 14, 15, 3],
      ['192.0.2.12:80', 'masq', 2, 0, 15, 15, 3],
    ]);
  });

  it('marks a service missing from the ownership record as not owned', () => {
    expect(status.services[1]).toMatchObject({ id: 'udp 198.51.100.12:53', owned: false, realServers: [] });
    expect(status.services[1]).not.toHaveProperty('path');
  });

  it('owns nothing when the director has no record for the stack', () => {
    const none = buildStatus('lb1', 'lb1', { save: SAVE, list: LIST, stats: STATS, rate: RATE }, undefined);
    expect(none.services.map((s) => s.owned)).toEqual([false, false]);
  });

  it('renders one aligned row per service and real server', () => {
    const text = renderStatus([status]);
    expect(text.split('\n')[0]).toBe('lb1 (lab)');
    expect(text).toMatch(/tcp 198\.51\.100\.10:80 rr owned \(nat-web\/lb1\/http\)\s+1\s+29\s+30\s+6\s+180\/150\s+11\.5K\/19\.2K\s+2240\/3730/);
    expect(text).toMatch(/-> 192\.0\.2\.12:80 masq w=2\s+0\s+15\s+15\s+3/);
    expect(text).toMatch(/udp 198\.51\.100\.12:53 rr not owned/);
  });

  it("draws each real server's share of its service's connections as a bar", () => {
    // GIVEN 15 and 15 connections on the two real servers of a service WHEN rendered THEN each has a half bar and 50%
    const text = renderStatus([buildStatus('lb1', 'lb1 (lab)', { save: SAVE, list: LIST, stats: STATS, rate: RATE }, undefined)]);
    expect(text).toContain('SHARE OF CONNS');
    expect(text).toMatch(/-> 192\.0\.2\.11:80 .* {2}██████████ {10} {2}50%$/m);
    expect(text).toMatch(/-> 192\.0\.2\.12:80 .* {2}██████████ {10} {2}50%$/m);
  });

  it.each([
    [1, 4, '█████               ', ' 25%'],
    [1, 3, '██████▋             ', ' 33%'],
    [3, 3, '████████████████████', '100%'],
    [0, 3, '                    ', '  0%'],
  ])('draws %d of %d as a bar to an eighth of a character', (part, total, bar, pct) => {
    expect(shareBar(part, total)).toBe(`${bar} ${pct}`);
  });

  it('draws no bar for a service that has had no connections', () => {
    expect(shareBar(0, 0)).toBe('');
  });

  it('renders an unreachable director with its error and hint', () => {
    const text = renderStatus([
      { director: 'lb2', where: 'lb2 (x)', services: [], error: { code: 'LVS_HOST_UNREACHABLE', message: 'no route', hint: 'check ssh' } },
    ]);
    expect(text).toContain('error [LVS_HOST_UNREACHABLE]: no route');
    expect(text).toContain('check ssh');
  });

  it.each([
    [999, '999'],
    [12_345, '12.3K'],
    [4_500_000, '4.5M'],
    [123_000_000_000, '123G'],
  ])('writes %d as %s', (n, text) => {
    expect(humanCount(n)).toBe(text);
  });

  it('reads the save and the three listings one ipvsadm process printed in one section, as four sections give them', () => {
    // GIVEN the same reads in the sh host's layout (one section) and in the read-only script's (one section each)
    const mark = (name: string) => sectionLine('t', name);
    const lines = (text: string) => text.replace(/\n$/, '');
    const one = [mark('save'), lines(SAVE), lines(LIST), lines(STATS), lines(RATE), mark('save-status'), '0', mark('record'), '@@none', mark('end'), ''];
    const four = [mark('save'), lines(SAVE), mark('save-status'), '0', mark('list'), lines(LIST), mark('stats'), lines(STATS), mark('rate'), lines(RATE)];
    const reply = parseStatus('t', one.join('\n'), 'web', 'lb1');
    // THEN both give the same reply, each read as ipvsadm printed it
    expect(reply).toEqual(parseStatus('t', [...four, mark('record'), '@@none', mark('end'), ''].join('\n'), 'web', 'lb1'));
    expect([reply.save, reply.list, reply.stats, reply.rate]).toEqual([SAVE, LIST, STATS, RATE].map(lines));
    // AND an answer that stops after two of the reads is refused by name, not read as empty listings
    const cut = [mark('save'), lines(SAVE), lines(LIST), mark('save-status'), '0', mark('record'), '@@none', mark('end'), ''];
    expect(() => parseStatus('t', cut.join('\n'), 'web', 'lb1')).toThrow('director lb1: ipvsadm printed 2 of the 4 reads of the status');
  });

  it('quotes the stack name in the chunk that reads the record', () => {
    expect(statusChunk('t', "x'; rm -rf /")).toContain(`"$lvs_dir"/'x'\\''; rm -rf /.json'`);
  });
});
