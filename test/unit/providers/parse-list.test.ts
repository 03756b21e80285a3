import { describe, expect, it } from 'vitest';
import type { LvsError } from '../../../providers/ipvs/model/errors.ts';
import { parseSave } from '../../../providers/ipvs/read/parse-save.ts';
import { mergeThresholds, parseCounters, parseListVersion, parseRate, parseStats, parseThresholds } from '../../../providers/ipvs/read/parse-list.ts';
import { fixture } from './fixtures.ts';

describe('parseListVersion', () => {
  it('reads the version header of a listing', () => {
    expect(parseListVersion(fixture('full.list.txt'))).toEqual({ version: '1.2.1', size: 4096 });
  });
  it('reads the version header of /proc/net/ip_vs', () => {
    expect(parseListVersion(fixture('empty.proc.txt'))).toEqual({ version: '1.2.1', size: 4096 });
  });
  it('fails on text without the header', () => {
    expect(() => parseListVersion(fixture('full.list-service.txt'))).toThrow(/no "IP Virtual Server version" header/);
  });
});

describe('parseThresholds and mergeThresholds', () => {
  it('reads the thresholds of each real server keyed serviceId -> destinationId', () => {
    const t = parseThresholds(fixture('full.thresholds.txt'));
    expect(t.get('tcp 198.51.100.16:80 -> 192.0.2.46:80')).toEqual({ upper: 100, lower: 50 });
    expect(t.get('tcp 198.51.100.16:80 -> 192.0.2.47:80')).toEqual({ upper: 2147483647, lower: 0 });
    expect(t.get('tcp 198.51.100.18:80 -> 192.0.2.71:80')).toEqual({ upper: 9, lower: 3 });
  });

  it('reads a one-service listing, which has no version header', () => {
    expect(parseThresholds(fixture('full.list-service.txt')).get('tcp 198.51.100.16:80 -> 192.0.2.49:80')).toEqual({ upper: 9, lower: 9 });
  });

  it('fills the thresholds into the table read with -S -n', () => {
    // GIVEN the save output (no thresholds) and the thresholds listing of the same kernel
    const table = mergeThresholds(parseSave(fixture('full.save.txt')), fixture('full.thresholds.txt'));
    // THEN the real server carries them
    const d = table.services.find((s) => s.key.kind === 'addr' && s.key.address === '198.51.100.16')!.destinations.find((x) => x.address === '192.0.2.48')!;
    expect([d.upperThreshold, d.lowerThreshold]).toEqual([20, 0]);
  });

  it('reports a table that changed between the two reads', () => {
    // GIVEN thresholds read after the edits, against the table read before
    const e = (() => {
      try {
        mergeThresholds(parseSave(fixture('full.save.txt')), fixture('empty.list.txt'));
      } catch (x) {
        return x as LvsError;
      }
      return undefined;
    })();
    expect(e?.code).toBe('LVS_PARSE_LIST');
    expect(e?.hint).toMatch(/changed between the two reads/);
  });

  it('rejects a listing made without -n', () => {
    expect(() => parseThresholds(fixture('full.list-names.txt'))).toThrow(/"192\.0\.2\.11:http-alt" has no numeric port/);
  });
});

describe('counters', () => {
  it('reads --stats totals for services and real servers', () => {
    const s = parseStats(fixture('full.stats.txt'));
    expect(s.get('tcp 198.51.100.10:8001')).toEqual({ conns: 2, inPackets: 4, outPackets: 0, inBytes: 240, outBytes: 0 });
    expect(s.get('tcp 198.51.100.10:8001 -> 192.0.2.11:8080')).toEqual({ conns: 1, inPackets: 2, outPackets: 0, inBytes: 120, outBytes: 0 });
    expect(s.get('fwmark 4294967295 inet')?.conns).toBe(0);
    expect(s.get('fwmark 9 inet6')?.conns).toBe(0);
  });

  it('reads --exact --stats the same way', () => {
    expect(parseStats(fixture('full.list-exact.txt'))).toEqual(parseStats(fixture('full.stats.txt')));
  });

  it('reads suffixed large numbers as approximate values', () => {
    const text = 'TCP  198.51.100.10:80               1234K   100M  2G  3T  99999999\n';
    expect(parseStats(text).get('tcp 198.51.100.10:80')).toEqual({ conns: 1_234_000, inPackets: 100e6, outPackets: 2e9, inBytes: 3e12, outBytes: 99_999_999 });
  });

  it('reads --rate', () => {
    // GIVEN the captured rate row of one service (the estimator's values vary from capture to capture)
    const text = fixture('full.rate.txt');
    const row = text.split('\n').find((l) => l.startsWith('TCP  198.51.100.10:8001 '))!;
    const [cps = 0, inPps = 0, outPps = 0, inBps = 0, outBps = 0] = row.trim().split(/\s+/).slice(2).map(Number);
    // WHEN parsed  THEN the five columns in order
    expect(parseRate(text).get('tcp 198.51.100.10:8001')).toEqual({
      connsPerSecond: cps,
      inPacketsPerSecond: inPps,
      outPacketsPerSecond: outPps,
      inBytesPerSecond: inBps,
      outBytesPerSecond: outBps,
    });
    expect(inBps).toBeGreaterThan(0);
  });

  it('merges active and inactive connections from -L -n with --stats into Counters', () => {
    const c = parseCounters(fixture('full.list.txt'), fixture('full.stats.txt'));
    expect(c.get('tcp 198.51.100.12:443')).toEqual({ activeConns: 2, inactiveConns: 0, conns: 2, inPackets: 4, outPackets: 0, inBytes: 240, outBytes: 0 });
    expect(c.get('tcp 198.51.100.12:443 -> 192.0.2.15:443')?.activeConns).toBe(2);
  });

  it('rejects a row with the wrong number of columns', () => {
    expect(() => parseStats('TCP  198.51.100.10:80 1 2 3\n')).toThrow(/:1: expected 5 counters, got 3/);
  });
});
