import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMPTY_TABLE_TEST, otherRecordsChunk, othersFrom } from '../../../providers/ipvs/host/requests/read-table.ts';
import { writeRecordChunk } from '../../../providers/ipvs/host/requests/write-record.ts';
import { batchTail, type BatchRecord } from '../../../providers/ipvs/host/requests/batch.ts';
import { serializeRecord } from '../../../providers/ipvs/model/record.ts';
import { recordOf } from './records.ts';
import { section, sectionLine, splitSections } from '../../../providers/ipvs/host/sections.ts';

describe('splitSections', () => {
  it('splits output at the tagged markers only', () => {
    // GIVEN output where the host printed a marker with the wrong tag
    const out = ['pre', sectionLine('t1', 'save'), '-A -t 198.51.100.10:80 -s rr', '@@lvsform-section forged end', sectionLine('t1', 'end'), ''].join('\n');
    // WHEN split with the session's tag
    const s = splitSections('t1', out);
    // THEN the forged marker stays data inside its section
    expect(s.get('save')).toBe('-A -t 198.51.100.10:80 -s rr\n@@lvsform-section forged end');
    expect(s.get('')).toBe('pre');
    expect(s.has('end')).toBe(true);
  });
});

describe('writeRecordChunk', () => {
  it('writes the record atomically with mode 0600 under a real sh', () => {
    // GIVEN a scratch state directory
    const dir = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
    // WHEN the chunk runs with lvs_dir pointing at it and a record containing quotes and a command substitution
    // (a stack name with a quote is refused: see test/unit/security/host-values.test.ts)
    const json = JSON.stringify({ a: "it's $(x)" });
    execFileSync('sh', ['-c', `umask 077; lvs_dir=${dir}\n${writeRecordChunk('we.b-1', json)}`], { encoding: 'utf8' });
    // THEN the file holds the JSON byte for byte, private to its owner
    const text = execFileSync('cat', [`${dir}/we.b-1.json`], { encoding: 'utf8' });
    const mode = execFileSync('stat', ['-c', '%a', `${dir}/we.b-1.json`], { encoding: 'utf8' }).trim();
    expect(text).toBe(`${json}\n`);
    expect(mode).toBe('600');
    execFileSync('rm', ['-rf', dir]);
  });
});

describe('writeRecordChunk, compressed', () => {
  it('writes a large record byte for byte through gzip and leaves the session stream to the next command', () => {
    // GIVEN a record larger than the compression threshold and a scratch state directory
    const dir = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
    const services = Object.fromEntries(
      Array.from({ length: 2000 }, (_, i) => [`tcp 198.51.100.10:${1000 + i}`, { path: `web/lb1/svc-${i}`, h: '0123456789abcdef' }]),
    );
    const json = JSON.stringify({ format: 1, stack: 'web', services });
    // WHEN the chunk runs in a real sh fed on stdin, followed by another command
    const out = execFileSync('sh', ['-s'], {
      input: `umask 077; lvs_dir=${dir}\n${writeRecordChunk('web', json, true)}\necho after-the-chunk\n`,
      encoding: 'utf8',
    });
    // THEN the record holds the JSON and its final newline, and the next command ran
    expect(execFileSync('cat', [`${dir}/web.json`], { encoding: 'utf8' })).toBe(`${json}\n`);
    expect(out).toContain('@@record written');
    expect(out).toContain('after-the-chunk');
    execFileSync('rm', ['-rf', dir]);
  });
});

describe('otherRecordsChunk', () => {
  it("prints every other stack's record under a real sh, and skips its own and files that are no stack's", () => {
    // GIVEN a state directory with records of stacks web, api and db, a temporary file, and a file named outside the rule
    const dir = mkdtempSync(join(tmpdir(), 'lvsform-others-'));
    const record = (stack: string, id: string) =>
      JSON.stringify({ format: 1, stack, director: 'lb1', updated: '1970-01-01T00:00:00.000Z', services: { [id]: { path: `${stack}/lb1/x` } } });
    writeFileSync(join(dir, 'web.json'), record('web', 'tcp 198.51.100.10:80'));
    writeFileSync(join(dir, 'api.json'), record('api', 'tcp 198.51.100.20:443'));
    writeFileSync(join(dir, 'db.json'), record('db', 'tcp 198.51.100.30:5432'));
    writeFileSync(join(dir, '.api.json.tmp'), 'half written');
    writeFileSync(join(dir, 'x y.json'), 'not a record');
    // WHEN stack web's chunk runs with lvs_dir pointing at it
    const out = execFileSync('sh', ['-s'], { input: `lvs_dir='${dir}'\n${otherRecordsChunk('t1', 'web')}\n${section('t1', 'end')}\n`, encoding: 'utf8' });
    // THEN the services of api and db are found with their owners, and nothing of web or the other files
    const owners = othersFrom(splitSections('t1', out), 'lb1').services;
    expect([...owners]).toEqual([
      ['tcp 198.51.100.20:443', 'api'],
      ['tcp 198.51.100.30:5432', 'db'],
    ]);
    rmSync(dir, { recursive: true });
  });

  it('prints nothing when no other stack has a record', () => {
    // GIVEN an empty state directory
    const dir = mkdtempSync(join(tmpdir(), 'lvsform-others-'));
    // WHEN the chunk runs
    const out = execFileSync('sh', ['-s'], { input: `lvs_dir='${dir}'\n${otherRecordsChunk('t1', 'web')}\n`, encoding: 'utf8' });
    // THEN it printed nothing (the unmatched glob is skipped)
    expect(out).toBe('');
    rmSync(dir, { recursive: true });
  });
});

describe('EMPTY_TABLE_TEST', () => {
  const header =
    'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n';
  const cases = [
    { name: 'the header alone is an empty table', text: header, empty: '1' },
    { name: 'a service after the header is not', text: `${header}TCP  C6336410:03E8 rr\n  -> C000020B:1F40      Masq    1      0          0\n`, empty: '0' },
    { name: 'a header cut short is not', text: header.split('\n').slice(0, 2).join('\n'), empty: '0' },
    { name: 'a third line this does not know is not', text: header.replace('RemoteAddress:Port', 'Remote'), empty: '0' },
    { name: 'a missing file is not', text: undefined, empty: '0' },
  ];
  for (const c of cases) {
    it(`${c.name}, in a real sh`, () => {
      // GIVEN a stand-in for /proc/net/ip_vs
      const dir = mkdtempSync(join(tmpdir(), 'lvsform-empty-'));
      try {
        const file = join(dir, 'ip_vs');
        if (c.text !== undefined) writeFileSync(file, c.text);
        // WHEN the test runs on it
        const out = execFileSync('sh', ['-s'], { input: `${EMPTY_TABLE_TEST.replace('/proc/net/ip_vs', file)}\necho "$lvs_empty"\n`, encoding: 'utf8' });
        // THEN only the bare header reads as an empty table (and only then is the thresholds listing skipped)
        expect(out.trim()).toBe(c.empty);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('the records that ride with a batch', () => {
  it('sends the large fallback record compressed where the host has gzip, and the expected one as it is', () => {
    // GIVEN 5,000 new services beside one the stack owned before: both records are over the one-printf-word size, and
    // the pending one, which keeps the service the batch deletes, is not the expected one's services marked pending
    const kept = recordOf('web', 5000, true);
    const otherwise = { ...kept, services: { ...kept.services, 'tcp 203.0.113.9:80': { path: 'web/lb1/old', h: '00000000000000aa' } } };
    const record = { stack: 'web', expected: recordOf('web', 5000, false), otherwise };
    // WHEN the batch's script is made for a host with gzip, and for one without
    const withGzip = batchTail('t', { ...record, gzip: true });
    const without = batchTail('t', { ...record, gzip: false });
    // THEN only the fallback branch (after `else`) decodes; the expected record is one printf word in both
    const [success, failure] = withGzip.split('\nelse\n');
    expect(success).toContain(`printf '%s' '{"format":1`);
    expect(success).not.toContain('base64 -d');
    expect(failure).toMatch(/^ {2}lvs_wrote=otherwise\nif \{ \[ -d "\$lvs_dir" \] \|\| mkdir -p "\$lvs_dir"\nbase64 -d <</);
    // AND what every run sends and the shell reads before the batch shrinks by the fallback record's bytes
    expect(without.length - withGzip.length).toBeGreaterThan(0.8 * serializeRecord(record.otherwise).length);
  });

  /** Runs a batch's tail in a real sh, as after a batch that was silent or not; resolves with its record's file. */
  function tailIn(record: BatchRecord, silent: boolean): { script: string; file: string; answer: string } {
    const dir = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
    const script = batchTail('t', record);
    // (What the batch's own script sets from ipvsadm's answer: ipvsadm itself runs on the lab.)
    const answer = execFileSync('sh', ['-c', `umask 077; lvs_dir=${dir}; lvs_silent_t=${silent ? 1 : 0}\n${script}`], { encoding: 'utf8' });
    return { script, file: execFileSync('cat', [`${dir}/web.json`], { encoding: 'utf8' }), answer };
  }

  it("a first apply's pending record does not travel: the director derives it from the expected one when the batch complains", () => {
    // GIVEN a first apply's two records: 1,000 services, the expected one with their hashes, the pending one marking them
    const expected = recordOf('web', 1000, false);
    const pending = { ...recordOf('web', 1000, true), updated: '2026-01-01T00:00:01.000Z' };
    const record = { stack: 'web', expected, otherwise: pending, gzip: false };
    // WHEN the tail runs after a batch that complained, and after a silent one
    const failed = tailIn(record, false);
    const silent = tailIn(record, true);
    // THEN the pending record's text is not in the script, which holds the expected one once
    expect(failed.script).not.toContain('service-0","pending":true');
    expect(failed.script.split('"h":"0').length - 1).toBe(1000);
    // AND the director wrote exactly the pending record (at the expected one's time), or exactly the expected one
    expect(failed.answer).toContain('otherwise 0');
    expect(failed.file).toBe(`${serializeRecord({ ...pending, updated: expected.updated })}\n`);
    expect(silent.answer).toContain('expected 0');
    expect(silent.file).toBe(`${serializeRecord(expected)}\n`);
  });

  it('sends the pending record as it is when it is not the expected one marked pending', () => {
    // GIVEN a pending record that also keeps a service the batch deletes
    const expected = recordOf('web', 3, false);
    const kept = recordOf('web', 3, true);
    const otherwise = { ...kept, services: { ...kept.services, 'tcp 203.0.113.9:80': { path: 'web/lb1/old', h: '00000000000000aa' } } };
    // WHEN the tail runs after a batch that complained
    const failed = tailIn({ stack: 'web', expected, otherwise, gzip: false }, false);
    // THEN the director wrote that record, sent whole
    expect(failed.script).toContain('service-0","pending":true');
    expect(failed.file).toBe(`${serializeRecord(otherwise)}\n`);
  });
});
