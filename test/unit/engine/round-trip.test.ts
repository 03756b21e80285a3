/**
 * A round trip as the `sh` host sends it, run by a real POSIX shell in a scratch state directory: the requests'
 * scripts composed in order, the ones after the lock guarded by it, every answer parsed from its own tagged section.
 * (The kernel parts are proven on the lab; these requests touch only the state directory.)
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { shQuote } from '../../../providers/ipvs/host/shell-quote.ts';
import type { HostRequest } from '../../../providers/ipvs/host/requests/index.ts';
import { newTag, sectionLine } from '../../../providers/ipvs/host/sections.ts';
import { preludeChunk } from '../../../providers/ipvs/host/host-script.ts';
import { parseRoundTrip, roundTripScript } from '../../../providers/ipvs/host/sh-director-host.ts';
import type { OwnershipRecord } from '../../../providers/ipvs/model/record.ts';

const target = { name: 'lb1', transport: 'local' as const };
const record: OwnershipRecord = { format: 1, stack: 'web', director: 'lb1', updated: '2026-01-01T00:00:00.000Z', services: {} };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Runs a round trip's script in `sh -s` with the state directory at `dir`; resolves with the parsed replies. */
function roundTrip(dir: string, requests: readonly HostRequest[], underLock = true) {
  const tag = newTag();
  const script = `umask 077\nlvs_dir=${shQuote(dir)}\n${roundTripScript(requests, tag, underLock)}\n`;
  const stdout = execFileSync('sh', ['-s'], { input: script, encoding: 'utf8' });
  return parseRoundTrip(requests, tag, stdout, target);
}

function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), 'lvsform-rt-'));
  dirs.push(d);
  return join(d, 'state');
}

describe('a round trip in a real shell', () => {
  it('takes the lock, writes the record and the stored table, and reads them back, each answer in its section', () => {
    // GIVEN an empty state directory WHEN one round trip locks, writes, then a second reads fast
    const dir = scratch();
    const [lock, written, stored] = roundTrip(dir, [
      { kind: 'lock', exclusive: true, waitSeconds: 0, holder: 'apply by test' },
      { kind: 'write-record', stack: 'web', record, gzip: false },
      { kind: 'store-table', stack: 'web', text: 'lvsform-owned-table/2 json+gzip+base64\nAAAA' },
    ]);
    // THEN every answer is confirmed, and the files hold what was sent
    expect(lock).toEqual({ kind: 'lock' });
    expect(written).toEqual({ kind: 'write-record', confirmed: true, said: '' });
    expect(stored).toEqual({ kind: 'store-table', confirmed: true, said: '' });
    expect(JSON.parse(readFileSync(join(dir, 'web.json'), 'utf8'))).toEqual(record);
    const [fast] = roundTrip(dir, [{ kind: 'fast-read', stack: 'web', compress: true }], false);
    expect(fast).toMatchObject({ kind: 'fast-read', ended: true, record: JSON.stringify(record), table: 'lvsform-owned-table/2 json+gzip+base64\nAAAA\n' });
  });

  it('reports a record the host could not write as unconfirmed, with what the host said', () => {
    // GIVEN a state directory where the record's temporary file cannot be created (a directory stands in its place)
    const dir = scratch();
    roundTrip(dir, [{ kind: 'lock', exclusive: true, waitSeconds: 0, holder: 'x' }]);
    execFileSync('mkdir', ['-p', join(dir, '.web.json.tmp', 'x')]);
    // WHEN the record is written
    const [, written] = roundTrip(dir, [
      { kind: 'lock', exclusive: true, waitSeconds: 0, holder: 'x' },
      { kind: 'write-record', stack: 'web', record, gzip: false },
    ]);
    // THEN the reply says it was not confirmed, and what the host printed
    expect(written).toMatchObject({ kind: 'write-record', confirmed: false });
    expect((written as { said: string }).said).toMatch(/Is a directory/);
    expect(() => readFileSync(join(dir, 'web.json'))).toThrow();
  });

  it('runs nothing after a lock another process holds, and fails the round trip with LVS_LOCKED naming the holder', async () => {
    // GIVEN another process holding the lock
    const dir = scratch();
    roundTrip(dir, [{ kind: 'lock', exclusive: true, waitSeconds: 0, holder: 'apply by ops@ci' }]);
    const holder = spawn('flock', ['-x', join(dir, 'lock'), 'sleep', '30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      // WHEN a round trip locks and writes the record
      // THEN the lock's error, and the record was never written
      expect(() =>
        roundTrip(dir, [
          { kind: 'lock', exclusive: true, waitSeconds: 0, holder: 'apply by me' },
          { kind: 'write-record', stack: 'web', record, gzip: false },
        ]),
      ).toThrow(expect.objectContaining({ code: 'LVS_LOCKED', message: expect.stringContaining('apply by ops@ci') }));
      expect(() => readFileSync(join(dir, 'web.json'))).toThrow();
    } finally {
      holder.kill();
    }
  });

  it('runs the whole round trip it has read when the connection is gone: the record is written after a failed write', async () => {
    // GIVEN the session's prelude and a round trip that prints (the lock's answer) before it writes the record
    const dir = scratch();
    const tag = newTag();
    const script = `${preludeChunk()}\nlvs_dir=${shQuote(dir)}\n${roundTripScript(
      [
        { kind: 'lock', exclusive: true, waitSeconds: 0, holder: 'apply by test' },
        { kind: 'write-record', stack: 'web', record, gzip: false },
      ],
      tag,
      true,
    )}\n`;
    // WHEN the shell's output is closed before it writes a byte (the connection lost)
    const sh = spawn('sh', ['-s'], { stdio: ['pipe', 'pipe', 'ignore'] });
    sh.stdout.destroy();
    const exited = new Promise<number | null>((resolve) => sh.on('exit', (code) => resolve(code)));
    sh.stdin.end(script);
    await exited;
    // THEN the shell ran on to the end of what it had read: the record is there, whole
    expect(JSON.parse(readFileSync(join(dir, 'web.json'), 'utf8'))).toEqual(record);
  });

  it("runs a batch's record write after the round trip's other requests, under the lock", () => {
    // GIVEN a round trip of the lock, a batch with its record, and the read-back of /proc
    const batch = { kind: 'batch', batch: '-A -t 198.51.100.10:80 -s rr\n', record: { stack: 'web', expected: record, otherwise: null, gzip: false } } as const;
    const script = roundTripScript(
      [{ kind: 'lock', exclusive: true, waitSeconds: 0, holder: 'x' }, batch, { kind: 'proc', listings: [], compress: false }],
      't',
      true,
    );
    // THEN the batch runs first, then the read-back, then the record's rename, all inside the lock's guard
    const at = (text: string) => script.indexOf(text);
    expect(at('ipvsadm -R')).toBeGreaterThan(at('if [ "$lvs_lock_ok" = 1 ]; then'));
    expect(at('cat /proc/net/ip_vs')).toBeGreaterThan(at('ipvsadm -R'));
    expect(at('mv -f')).toBeGreaterThan(at('cat /proc/net/ip_vs'));
    expect(script.trimEnd().endsWith('fi')).toBe(true);
    expect(at(sectionLine('t-1', 'end'))).toBeGreaterThan(at('mv -f'));
  });
});
