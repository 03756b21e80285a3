/**
 * The set-up's file writes, run by this machine's own `sh` in a scratch directory (the commands are the shell's and
 * coreutils', the same on a director): the mode comes out as asked whether the umask or a chmod gives it, a missing
 * directory is made, a temporary file an interrupted run left (with another mode) does not pass its mode on, and a
 * text without a final newline gets one.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SetupItem } from '../../../providers/ipvs/model/host-setup.ts';
import { setupChunk, setupFailures } from '../../../providers/ipvs/host/requests/setup.ts';

const dir = mkdtempSync(join(tmpdir(), 'lvsform-write-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(items: SetupItem[]): { failed: string[]; log: string } {
  // The session's umask, as the prelude sets it.
  const out = execFileSync('sh', ['-c', `umask 077\n${setupChunk('t', items)}`], { encoding: 'utf8' });
  return setupFailures('t', out);
}

const file = (name: string, after: string, mode: string): SetupItem => ({ kind: 'file', action: 'create', name, after, mode });
const modeOf = (p: string) => (statSync(p).mode & 0o7777).toString(8);

describe('the set-up writes a file', () => {
  it('with the mode asked, through the umask or a chmod, in a directory it makes', () => {
    const items = [
      file(join(dir, 'a/sysctl.conf'), 'x = 1\n', '644'),
      file(join(dir, 'a/secret'), 'key', '600'),
      file(join(dir, 'b/c/read'), '#!/bin/sh\necho hi\n', '755'),
      file(join(dir, 'b/rule'), 'rule\n', '440'),
    ];
    expect(run(items).failed).toEqual([]);
    expect(modeOf(join(dir, 'a/sysctl.conf'))).toBe('644');
    expect(modeOf(join(dir, 'a/secret'))).toBe('600');
    expect(modeOf(join(dir, 'b/c/read'))).toBe('755');
    expect(modeOf(join(dir, 'b/rule'))).toBe('440');
    // A made directory is world-readable, whatever the session's umask.
    expect(modeOf(join(dir, 'b/c'))).toBe('755');
    expect(readFileSync(join(dir, 'a/secret'), 'utf8')).toBe('key\n');
    expect(readFileSync(join(dir, 'b/c/read'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
  });

  it('not with the mode of a temporary file left by an interrupted run', () => {
    // GIVEN a leftover temporary file of mode 0600 where a 0644 file is written
    const target = join(dir, 'left/unit.service');
    run([file(target, 'old\n', '644')]);
    const tmp = join(dir, 'left/.unit.service.lvsform-tmp');
    writeFileSync(tmp, 'half', { mode: 0o600 });
    // WHEN written again THEN the file is 0644 with the new text, and no temporary file is left
    expect(run([file(target, "new 'quoted' $text\n", '644')]).failed).toEqual([]);
    expect(modeOf(target)).toBe('644');
    expect(readFileSync(target, 'utf8')).toBe("new 'quoted' $text\n");
    expect(existsSync(tmp)).toBe(false);
  });

  it('reports a step that cannot write, and goes on with the next', () => {
    const blocked = join(dir, 'blocked');
    writeFileSync(blocked, 'a file where a directory should be');
    const r = run([file(join(blocked, 'x.conf'), 'x\n', '644'), file(join(dir, 'after.conf'), 'y\n', '644')]);
    expect(r.failed).toHaveLength(1);
    expect(r.failed[0]).toMatch(/^file .*blocked\/x\.conf \d+$/);
    expect(readFileSync(join(dir, 'after.conf'), 'utf8')).toBe('y\n');
  });
});
