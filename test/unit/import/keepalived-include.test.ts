/**
 * keepalived's include on this machine's files (lib/parser.c read_conf_file / open_conf_file): glob(3) with braces,
 * matches in glob's order, and the matches keepalived skips (directories, executable or unreadable files), each named.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LvsError } from '../../../providers/ipvs/model/errors.ts';
import { serviceId } from '../../../providers/ipvs/model/model.ts';
import { fileIncludeReader } from '../../../providers/ipvs/read/keepalived/lines.ts';
import { MAX_KEEPALIVED_BYTES, parseKeepalived } from '../../../providers/ipvs/read/parse-keepalived.ts';

const service = (last: number) => `virtual_server 198.51.100.${last} 80 {\n  protocol TCP\n  real_server 192.0.2.1 80 {\n  }\n}\n`;

/** A tree of files (path → text; a mode after `|` in the key, e.g. `x.conf|755`), returned as its root. */
function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-include-'));
  for (const [key, text] of Object.entries(files)) {
    const [name, mode] = key.split('|');
    const file = path.join(root, name!);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    if (mode !== undefined) fs.chmodSync(file, Number.parseInt(mode, 8));
  }
  return root;
}

function importFrom(root: string, main: string, readFile?: (file: string) => string) {
  const file = path.join(root, 'keepalived.conf');
  fs.writeFileSync(file, main);
  const { table, warnings } = parseKeepalived(main, file, { include: fileIncludeReader(MAX_KEEPALIVED_BYTES, readFile) });
  return { ids: table.services.map((s) => serviceId(s.key)), warnings: warnings.map((w) => w.replace(`${root}/`, '')) };
}

describe('include follows glob(3) as keepalived calls it', () => {
  const files = {
    'conf.d/web/vs.conf': service(1),
    'conf.d/api/vs.conf': service(2),
    'conf.d/other/vs.conf': service(3),
    'conf.d/web.conf': service(4),
    'conf.d/api.conf': service(5),
    'conf.d/.hidden.conf': service(6),
  };

  it.each([
    ['include conf.d/*/vs.conf', ['tcp 198.51.100.1:80', 'tcp 198.51.100.2:80', 'tcp 198.51.100.3:80']],
    ['include conf.d/[wa]*.conf', ['tcp 198.51.100.4:80', 'tcp 198.51.100.5:80']],
    ['include conf.d/{web,api}.conf', ['tcp 198.51.100.4:80', 'tcp 198.51.100.5:80']],
    ['include conf.d/{web,api}/vs.conf', ['tcp 198.51.100.1:80', 'tcp 198.51.100.2:80']],
    ['include conf.d/*.conf', ['tcp 198.51.100.4:80', 'tcp 198.51.100.5:80']],
    ['includer conf.d/.*.conf', ['tcp 198.51.100.6:80']],
  ])('%s imports the services of every file it matches', (line, ids) => {
    // GIVEN the tree and a main file with the include WHEN imported
    const got = importFrom(tree(files), `${line}\n`);
    // THEN the matched files' services, and nothing to report
    expect(got).toEqual({ ids, warnings: [] });
  });

  it('reads the matches in glob order, the braces left to right', () => {
    // GIVEN two files defining one identity differently WHEN included as {web,api} and as {api,web}
    const root = tree({ 'web.conf': service(1).replace('192.0.2.1', '192.0.2.7'), 'api.conf': service(1) });
    const first = (order: string) =>
      parseKeepalived(`include {${order}}.conf\n`, path.join(root, 'keepalived.conf'), { include: fileIncludeReader(MAX_KEEPALIVED_BYTES) }).table.services[0]!
        .destinations[0]!.address;
    // THEN the first file read wins, as in keepalived
    expect([first('web,api'), first('api,web')]).toEqual(['192.0.2.7', '192.0.2.1']);
  });

  it('a pattern that matches nothing is skipped and named', () => {
    // GIVEN an include of no file WHEN imported THEN no service, and the line named
    expect(importFrom(tree({}), 'include conf.d/*.conf\n')).toEqual({
      ids: [],
      warnings: [expect.stringMatching(/^keepalived\.conf:1: include conf\.d\/\*\.conf matches no file - skipped, as keepalived does$/)],
    });
  });

  it('skips an executable file, as keepalived does, and names it', () => {
    // GIVEN two matches, one of them executable WHEN imported
    const got = importFrom(tree({ 'conf.d/a.conf': service(1), 'conf.d/b.conf|755': service(2) }), 'include conf.d/*.conf\n');
    // THEN only the other is read
    expect(got).toEqual({
      ids: ['tcp 198.51.100.1:80'],
      warnings: ['keepalived.conf:1: include conf.d/*.conf: conf.d/b.conf is not a regular non-executable file - skipped, as keepalived does'],
    });
  });

  it('skips a directory the pattern matches (GLOB_MARK), and names it', () => {
    // GIVEN a directory named like the files WHEN imported
    const got = importFrom(tree({ 'conf.d/a.conf': service(1), 'conf.d/b.conf/x': '' }), 'include conf.d/*.conf\n');
    // THEN the directory is skipped with its reason
    expect(got).toEqual({
      ids: ['tcp 198.51.100.1:80'],
      warnings: ['keepalived.conf:1: include conf.d/*.conf: conf.d/b.conf/ is a directory - skipped, as keepalived does'],
    });
  });

  it('skips a file that cannot be read, and names it with the reason', () => {
    // GIVEN a match whose read fails with EACCES (as for a file root cannot read over NFS)
    const denied = (file: string) => {
      if (file.endsWith('b.conf')) throw Object.assign(new Error('permission denied'), { code: 'EACCES' });
      return fs.readFileSync(file, 'utf8');
    };
    // WHEN imported
    const got = importFrom(tree({ 'conf.d/a.conf': service(1), 'conf.d/b.conf': service(2) }), 'include conf.d/*.conf\n', denied);
    // THEN the other file is read, and the unreadable one named
    expect(got).toEqual({
      ids: ['tcp 198.51.100.1:80'],
      warnings: ['keepalived.conf:1: include conf.d/*.conf: conf.d/b.conf cannot be read (EACCES) - skipped, as keepalived does'],
    });
  });

  it('refuses an include loop through two files, naming the chain', () => {
    // GIVEN a.conf including b.conf including a.conf
    const root = tree({ 'a.conf': 'include b.conf\n', 'b.conf': '\ninclude a.conf\n' });
    let error: unknown;
    try {
      importFrom(root, 'include a.conf\n');
    } catch (e) {
      error = e;
    }
    // WHEN imported THEN one error, at the include that closes the loop
    expect(error).toBeInstanceOf(LvsError);
    expect((error as LvsError).message).toMatch(
      /b\.conf:2: include a\.conf includes .*a\.conf again while reading it \(a\.conf -> b\.conf -> a\.conf\): an include loop/,
    );
  });

  it('takes the rest of the line as the pattern, as keepalived does', () => {
    // GIVEN a file whose name has a blank WHEN included by that name THEN it is read
    expect(importFrom(tree({ 'my vs.conf': service(1) }), 'include my vs.conf\n').ids).toEqual(['tcp 198.51.100.1:80']);
  });

  it('relative includes in an included file are relative to that file', () => {
    // GIVEN conf.d/main.conf including sub/x.conf (under conf.d) WHEN imported THEN it is found
    const root = tree({ 'conf.d/main.conf': 'include sub/x.conf\n', 'conf.d/sub/x.conf': service(1) });
    expect(importFrom(root, 'include conf.d/main.conf\n').ids).toEqual(['tcp 198.51.100.1:80']);
  });
});
