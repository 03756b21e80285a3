/**
 * Every value that reaches a host's shell or the ssh command line is either refused at validation or passed inertly.
 * An injection corpus goes through every string field; the chunks run under a real local `sh`, and a canary file that
 * any injected command would create must never appear.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Director, LvsStack, App, isValidationError } from '../../../lib/index.ts';
import { LvsError } from '../../../providers/ipvs/model/errors.ts';
import { preludeChunk } from '../../../providers/ipvs/host/host-script.ts';
import { lockChunk } from '../../../providers/ipvs/host/requests/lock.ts';
import { readChunk } from '../../../providers/ipvs/host/requests/read-table.ts';
import { writeRecordChunk } from '../../../providers/ipvs/host/requests/write-record.ts';
import { unlockChunk } from '../../../providers/ipvs/host/requests/unlock.ts';
import { configWord, sshArgs } from '../../../providers/ipvs/host/transport.ts';
import type { SshTarget } from '../../../providers/ipvs/model/host-target.ts';
import { INJECTION_CORPUS } from './corpus.ts';

const SCRATCH = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-inject-'));
const CANARY = path.join(SCRATCH, 'canary');

const CORPUS: readonly string[] = INJECTION_CORPUS.map((v) => v.replaceAll('CANARY', CANARY));

const SSH_FIELDS = ['host', 'alias', 'user', 'identityFile', 'knownHostsFile', 'configFile'] as const;

function refusedOrInert(fn: () => string[], value: string): 'refused' | 'inert' {
  let args: string[];
  try {
    args = fn();
  } catch (e) {
    expect(e).toBeInstanceOf(LvsError);
    expect((e as LvsError).code).toMatch(/^LVS_UNSAFE_VALUE|LVS_NO_TRANSPORT$/);
    return 'refused';
  }
  // Inert: the value is the one argument of its option (`-i V`, `-F V`, `-o UserKnownHostsFile=V`), never split, and
  // the remote command is fixed. ssh reads an option's argument whatever it looks like, so a leading '-' is data.
  const at = (flag: string) => args[args.indexOf(flag) + 1];
  // A path ssh expands has its % doubled (ssh's escape), and the -o value is one quoted word of ssh's config syntax.
  const expanded = value.replaceAll('%', '%%');
  const found = [at('-i'), at('-F'), args.find((a) => a.startsWith('UserKnownHostsFile='))?.slice('UserKnownHostsFile='.length)];
  expect([expanded, value, configWord(expanded)].some((v) => found.includes(v))).toBe(true);
  expect(args.slice(-1)).toEqual(['sh -s']);
  expect(args[args.length - 3]).toBe('--');
  return 'inert';
}

describe('ssh command line: each field × the injection corpus', () => {
  for (const field of SSH_FIELDS) {
    it(`${field}: every corpus value is refused or passed as one inert argument`, () => {
      // GIVEN an ssh target whose `field` is a corpus value
      const outcomes = CORPUS.map((value) => {
        const ssh: SshTarget = { alias: 'lb1', configFile: 'ssh.cfg', [field]: value, ...(field === 'host' ? { alias: undefined } : {}) };
        // WHEN the ssh argv is built THEN the value is refused or inert
        return refusedOrInert(() => sshArgs({ name: 'lb1', transport: 'ssh', ssh }), value);
      });
      // AND host, alias and user (words ssh or the remote side interpret) are refused for every value of the corpus
      if (field === 'host' || field === 'alias' || field === 'user') expect(outcomes.every((o) => o === 'refused')).toBe(true);
      expect(fs.existsSync(CANARY)).toBe(false);
    });
  }
});

describe('construct library: names and ssh props × the injection corpus', () => {
  it('refuses every corpus value as stack name, director name, ssh host, user and alias', () => {
    // GIVEN each corpus value in each field WHEN the construct is made THEN it is refused with the construct path
    let refused = 0;
    for (const value of CORPUS) {
      const attempts: (() => unknown)[] = [
        () => new LvsStack(new App({ outdir: SCRATCH }), value),
        () => new Director(new LvsStack(new App({ outdir: SCRATCH }), 'web'), 'lb1', { local: true, name: value }),
        () => new Director(new LvsStack(new App({ outdir: SCRATCH }), 'web'), 'lb1', { ssh: { host: value } }),
        () => new Director(new LvsStack(new App({ outdir: SCRATCH }), 'web'), 'lb1', { ssh: { host: '203.0.113.2', user: value } }),
        () => new Director(new LvsStack(new App({ outdir: SCRATCH }), 'web'), 'lb1', { ssh: { alias: value, configFile: 'ssh.cfg' } }),
      ];
      for (const attempt of attempts) {
        expect(() => attempt(), JSON.stringify(value)).toThrow();
        try {
          attempt();
        } catch (e) {
          expect(isValidationError(e), String(e)).toBe(true);
          refused += 1;
        }
      }
    }
    expect(refused).toBe(CORPUS.length * 5);
  });
});

describe('host chunks under a real sh: stack names, construct paths and holder lines × the corpus', () => {
  it('refuses every corpus value as a stack name before any chunk is built', () => {
    for (const value of CORPUS) {
      expect(() => writeRecordChunk(value, '{}'), JSON.stringify(value)).toThrow(/stack name .* is not a plain file name|NUL/);
      expect(() => readChunk({ tag: 't', stack: value, thresholds: false, record: true })).toThrow(LvsError);
    }
  });

  it('writes construct paths carrying the corpus into the record byte for byte, running nothing', () => {
    // GIVEN a record whose construct paths are the corpus (NUL excepted: JSON escapes it)
    const services = Object.fromEntries(CORPUS.map((v, i) => [`tcp 198.51.100.10:${i + 1}`, { path: `web/lb1/${v}` }]));
    const json = JSON.stringify({ format: 1, stack: 'web', director: 'lb1', updated: 'x', services });
    // WHEN the record chunk runs under sh
    const dir = fs.mkdtempSync(path.join(SCRATCH, 'state-'));
    execFileSync('sh', ['-c', `${preludeChunk()}\nlvs_dir='${dir}'\n${writeRecordChunk('web', json)}`]);
    // THEN the file holds exactly the JSON, and no injected command ran
    expect(fs.readFileSync(path.join(dir, 'web.json'), 'utf8')).toBe(`${json}\n`);
    expect(fs.existsSync(CANARY)).toBe(false);
  });

  it('writes holder lines carrying the corpus inertly (newlines and NUL flattened to one line)', () => {
    for (const value of CORPUS) {
      // GIVEN a holder line containing a corpus value WHEN the lock chunk runs under sh
      const dir = fs.mkdtempSync(path.join(SCRATCH, 'lock-'));
      const out = execFileSync(
        'sh',
        ['-c', `${preludeChunk()}\nlvs_dir='${dir}'\n${lockChunk({ exclusive: true, waitSeconds: 0, holder: `apply by ${value}` })}`],
        { encoding: 'utf8' },
      );
      // THEN the lock is taken, the holder line is one line, and nothing ran
      expect(out.trim()).toBe('@@lock ok');
      const line = fs.readFileSync(path.join(dir, 'lock.holder'), 'utf8');
      expect(line.split('\n').length).toBe(2);
      expect(line).toContain(`exclusive apply by ${value.replace(/[\r\n\0]/g, ' ')}`);
      expect(fs.existsSync(CANARY)).toBe(false);
    }
  });

  it('empties its own holder line at unlock, without a process, and leaves another holder alone', () => {
    // GIVEN a lock taken by a shell WHEN the same shell unlocks
    const dir = fs.mkdtempSync(path.join(SCRATCH, 'unlock-'));
    const lock = lockChunk({ exclusive: true, waitSeconds: 0, holder: 'apply by x' });
    execFileSync('sh', ['-c', `${preludeChunk()}\nlvs_dir='${dir}'\n${lock}\nPATH=/nonexistent\n${unlockChunk()}`]);
    // THEN the holder file is empty (no rm was needed: PATH holds no commands)
    expect(fs.readFileSync(path.join(dir, 'lock.holder'), 'utf8')).toBe('');
    // AND a shell that does not hold the lock leaves the holder line as it is
    fs.writeFileSync(path.join(dir, 'lock.holder'), '1 exclusive apply by someone else\n');
    execFileSync('sh', ['-c', `${preludeChunk()}\nlvs_dir='${dir}'\n${unlockChunk()}`]);
    expect(fs.readFileSync(path.join(dir, 'lock.holder'), 'utf8')).toBe('1 exclusive apply by someone else\n');
  });

  it('creates the state directory 0700 and the lock, holder and record files 0600', () => {
    // GIVEN an empty state directory path WHEN a lock is taken and a record written
    const dir = path.join(fs.mkdtempSync(path.join(SCRATCH, 'modes-')), 'lvsform');
    execFileSync('sh', [
      '-c',
      `${preludeChunk()}\nlvs_dir='${dir}'\n${lockChunk({ exclusive: true, waitSeconds: 0, holder: 'x' })}\n${writeRecordChunk('web', '{}')}`,
    ]);
    // THEN the modes are private
    const mode = (f: string) => (fs.statSync(f).mode & 0o777).toString(8);
    expect([mode(dir), mode(path.join(dir, 'lock')), mode(path.join(dir, 'lock.holder')), mode(path.join(dir, 'web.json'))]).toEqual([
      '700',
      '600',
      '600',
      '600',
    ]);
  });
});
