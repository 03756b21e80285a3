/**
 * The glob keepalived's `include` runs (glob(3) with GLOB_MARK | GLOB_BRACE, glibc): each expected list below is what
 * glibc's glob returned for the same pattern on the same tree (C locale), order included.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandBraces, globMark, matchName } from '../../../providers/ipvs/read/keepalived/glob.ts';

let root: string;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-glob-'));
  for (const d of ['conf.d/web', 'conf.d/api', 'conf.d/.hidden', 'conf.d/b.dir']) fs.mkdirSync(path.join(root, d), { recursive: true });
  for (const f of [
    'web/vs.conf',
    'api/vs.conf',
    '.hidden/vs.conf',
    'a.conf',
    'w.conf',
    '.x.conf',
    'B.conf',
    '_u.conf',
    '[x].conf',
    'web.conf',
    'api.conf',
    '10.conf',
    '9.conf',
  ]) {
    fs.writeFileSync(path.join(root, 'conf.d', f), '');
  }
  fs.symlinkSync('web', path.join(root, 'conf.d/link'));
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('globMark matches what glibc glob(GLOB_MARK | GLOB_BRACE) matches, in its order', () => {
  it.each([
    ['conf.d/*/vs.conf', ['conf.d/api/vs.conf', 'conf.d/link/vs.conf', 'conf.d/web/vs.conf']],
    ['conf.d/[wa]*', ['conf.d/a.conf', 'conf.d/api.conf', 'conf.d/api/', 'conf.d/w.conf', 'conf.d/web.conf', 'conf.d/web/']],
    ['conf.d/{web,api}.conf', ['conf.d/web.conf', 'conf.d/api.conf']],
    ['conf.d/{web,api}/vs.conf', ['conf.d/web/vs.conf', 'conf.d/api/vs.conf']],
    ['conf.d/{b,a}*', ['conf.d/b.dir/', 'conf.d/a.conf', 'conf.d/api.conf', 'conf.d/api/']],
    ['conf.d/{x,{web,api}}.conf', ['conf.d/web.conf', 'conf.d/api.conf']],
    ['conf.d/{,web}.conf', ['conf.d/web.conf']],
    ['conf.d/{a,nope}.conf', ['conf.d/a.conf']],
    [
      'conf.d/*',
      [
        'conf.d/10.conf',
        'conf.d/9.conf',
        'conf.d/B.conf',
        'conf.d/[x].conf',
        'conf.d/_u.conf',
        'conf.d/a.conf',
        'conf.d/api.conf',
        'conf.d/api/',
        'conf.d/b.dir/',
        'conf.d/link/',
        'conf.d/w.conf',
        'conf.d/web.conf',
        'conf.d/web/',
      ],
    ],
    ['conf.d/.*', ['conf.d/../', 'conf.d/./', 'conf.d/.hidden/', 'conf.d/.x.conf']],
    ['conf.d/[!a-v]*.conf', ['conf.d/10.conf', 'conf.d/9.conf', 'conf.d/B.conf', 'conf.d/[x].conf', 'conf.d/_u.conf', 'conf.d/w.conf', 'conf.d/web.conf']],
    ['conf.d/[^a]*.conf', ['conf.d/10.conf', 'conf.d/9.conf', 'conf.d/B.conf', 'conf.d/[x].conf', 'conf.d/_u.conf', 'conf.d/w.conf', 'conf.d/web.conf']],
    ['conf.d/\\[x\\].conf', ['conf.d/[x].conf']],
    ['conf.d/[x].conf', []],
    ['conf.d/[[:upper:]]*', ['conf.d/B.conf']],
    ['conf.d/?.conf', ['conf.d/9.conf', 'conf.d/B.conf', 'conf.d/a.conf', 'conf.d/w.conf']],
    ['conf.d/[.]x.conf', []],
    ['conf.d/[_]*', ['conf.d/_u.conf']],
    ['conf.d/*/', ['conf.d/api/', 'conf.d/b.dir/', 'conf.d/link/', 'conf.d/web/']],
    ['*/web/vs.conf', ['conf.d/web/vs.conf']],
    ['conf.d/l*/vs.conf', ['conf.d/link/vs.conf']],
    ['conf.d/nope.conf', []],
    ['conf.d/{a.conf', []],
  ])('%s', (pattern, expected) => {
    // GIVEN the tree WHEN the pattern is globbed from its root THEN the matches are glibc's, in glibc's order
    expect(globMark(pattern, root)).toEqual(expected);
  });

  it('an absolute pattern matches absolute paths, whatever the directory it is read from', () => {
    // GIVEN an absolute pattern WHEN globbed from another directory THEN its matches are absolute
    expect(globMark(`${root}/conf.d/{web,api}.conf`, os.tmpdir())).toEqual([`${root}/conf.d/web.conf`, `${root}/conf.d/api.conf`]);
  });
});

describe('the pieces', () => {
  it('expands nested braces left to right, and leaves an unclosed brace as it is', () => {
    // GIVEN nested and broken braces WHEN expanded THEN glibc's order, and the broken one unchanged
    expect([expandBraces('a{b,{c,d}e}f'), expandBraces('{x'), expandBraces('\\{a,b}')]).toEqual([['abf', 'acef', 'adef'], ['{x'], ['\\{a,b}']]);
  });

  it('matches a leading dot only with a literal dot', () => {
    // GIVEN a hidden name WHEN matched by *, ?, a bracket and a literal dot THEN only the literal dot matches
    expect(['*', '?x', '[.]x', '.x', '.*'].map((p) => matchName(p, '.x'))).toEqual([false, false, false, true, true]);
  });
});
