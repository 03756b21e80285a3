import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { isLvsError, type LvsError } from '../../../providers/ipvs/model/errors.ts';
import { importApp, importTable, unsupportedServices } from '../../../providers/ipvs/import/import.ts';
import { tableEquals } from '../../../providers/ipvs/model/model.ts';
import { parseSave } from '../../../providers/ipvs/read/parse-save.ts';

const ROOT = join(import.meta.dirname, '../../..');
const SAVE = join(ROOT, 'test/fixtures/ipvsadm/full.save.txt');
const IMPORTABLE = join(ROOT, 'test/fixtures/ipvsadm/importable.input.txt');
const KEEPALIVED = join(ROOT, 'test/fixtures/keepalived/nat-health-checks.conf');
const BIN = join(ROOT, 'bin/lvsform.mjs');

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isLvsError(e) ? e.code : String(e);
  }
}

describe('importTable', () => {
  it('reads an ipvsadm-save file as parseSave does', async () => {
    // GIVEN a save file WHEN imported
    const imported = await importTable({ kind: 'save', file: SAVE });
    // THEN the table is parseSave's
    expect(tableEquals(imported.table, parseSave(readFileSync(SAVE, 'utf8'), SAVE))).toBe(true);
  });

  it('refuses a table with services lvsform cannot declare, naming each one and why', async () => {
    // GIVEN the full captured table (an IPv4-mapped VIP, a persistence engine without persistence)
    // WHEN it is imported
    const error = await importApp({ kind: 'save', file: SAVE }, { stack: 'x', director: { name: 'lb1', local: true } }).catch((e: unknown) => e as LvsError);
    // THEN it fails with LVS_IMPORT_UNSUPPORTED naming both services
    expect(error).toMatchObject({ code: 'LVS_IMPORT_UNSUPPORTED' });
    expect((error as LvsError).message).toContain(
      'tcp [::ffff:198.51.100.1]:80: virtual address ::ffff:198.51.100.1 is IPv4-mapped; use the IPv4 address 198.51.100.1',
    );
    expect((error as LvsError).message).toContain('udp 198.51.100.13:5061: persistence engine sip needs persistence');
  });

  it('lists nothing unsupported in the importable corpus', () => {
    expect(unsupportedServices(parseSave(readFileSync(IMPORTABLE, 'utf8')))).toEqual([]);
  });

  it('refuses --adopt with a file source', async () => {
    expect(await codeOf(importApp({ kind: 'save', file: IMPORTABLE }, { stack: 'x', director: { name: 'lb1', local: true }, adopt: true }))).toBe('LVS_USAGE');
  });

  it('reads a keepalived.conf with its warnings', async () => {
    // GIVEN a keepalived.conf with health checks WHEN imported
    const imported = await importTable({ kind: 'keepalived', file: KEEPALIVED });
    // THEN the warnings say what was not imported
    expect(imported.warnings.some((w) => w.includes('health checks are not imported'))).toBe(true);
  });

  it.each([
    { name: 'a missing file', source: { kind: 'keepalived' as const, file: join(ROOT, 'no-such.conf') }, code: 'LVS_IMPORT_READ' },
    { name: 'a directory', source: { kind: 'save' as const, file: ROOT }, code: 'LVS_IMPORT_READ' },
  ])('refuses $name with $code', async ({ source, code }) => {
    // GIVEN a source that cannot be read WHEN imported THEN a coded error
    expect(await codeOf(importTable(source))).toBe(code);
  });
});

describe('importTable refuses a file with nothing to import', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsform-import-empty-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    {
      name: 'an empty keepalived.conf',
      kind: 'keepalived' as const,
      text: '',
      message: /^the keepalived configuration .*f holds no service to import, so nothing was written$/,
    },
    {
      name: 'an nginx.conf',
      kind: 'keepalived' as const,
      text: 'http {\n  server {\n    listen 80;\n  }\n}\n',
      message: /holds no service to import, so nothing was written; what was skipped:\n {2}.*f:1: unknown keyword "http"/,
    },
    { name: 'one long word', kind: 'keepalived' as const, text: 'x'.repeat(5000), message: /holds no service to import.*\n {2}.*f:1: unknown keyword "x+/s },
    {
      name: 'a keepalived.conf whose only virtual_server is inside global_defs',
      kind: 'keepalived' as const,
      text: 'global_defs {\nvirtual_server 192.0.2.1 80 {\n protocol TCP\n real_server 10.0.0.1 80 {\n }\n}\n}\n',
      message: /\n {2}.*f:2: "virtual_server 192\.0\.2\.1 80" is inside global_defs/,
    },
    { name: 'an empty save file', kind: 'save' as const, text: '', message: /^the ipvsadm-save file .*f holds no service to import/ },
    { name: 'a save file of comments', kind: 'save' as const, text: '# nothing\n', message: /holds no service to import/ },
  ])('$name: LVS_IMPORT_EMPTY, with what was skipped', async ({ kind, text, message }) => {
    // GIVEN a file that yields no service
    const file = join(dir, 'f');
    writeFileSync(file, text);
    // WHEN imported THEN it is refused, and the message says why
    const error = await importTable({ kind, file }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'LVS_IMPORT_EMPTY' });
    expect((error as LvsError).message).toMatch(message);
  });

  it('a keepalived.conf with a pair and no service is still imported', async () => {
    // GIVEN one vrrp_instance with an address, and no virtual_server
    const file = join(dir, 'pair.conf');
    writeFileSync(file, 'vrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n  virtual_ipaddress {\n    192.0.2.1\n  }\n}\n');
    // WHEN imported THEN the pair is there
    expect((await importTable({ kind: 'keepalived', file })).pair?.virtualRouterId).toBe(1);
  });
});

describe('importApp', () => {
  it.each([
    { name: 'a stack name with a slash', stack: 'a/b', director: 'lb1' },
    { name: 'a director name starting with a dash', stack: 'web', director: '-x' },
  ])('refuses $name with LVS_USAGE', async ({ stack, director }) => {
    // GIVEN a name that would not be a safe file name WHEN importing THEN LVS_USAGE
    expect(await codeOf(importApp({ kind: 'save', file: SAVE }, { stack, director: { name: director, local: true } }))).toBe('LVS_USAGE');
  });

  it('lists the warnings as comments at the top of the app', async () => {
    // GIVEN a keepalived.conf with warnings WHEN imported
    const { code } = await importApp({ kind: 'keepalived', file: KEEPALIVED }, { stack: 'nat', director: { name: 'lb1', local: true } });
    // THEN the header says what was not imported
    expect(code.split('\n').slice(0, 4).join('\n')).toMatch(
      /^\/\/ Imported by `lvsform import` from the keepalived configuration .*\n\/\/ Not imported or changed on the way:\n\/\/ .*nat-health-checks\.conf:35: sorry_server.*\n\/\/ .*nat-health-checks\.conf:42: health checks/,
    );
    // AND its one vrrp_instance is a DirectorPair (its nopreempt carried over), with what the pair leaves named
    expect(code).toMatch(/\/\/ .*nat-health-checks\.conf:23: track_script in vrrp_instance "VI_NAT" is not imported/);
    expect(code).toContain("vrrp: { interface: 'eth1', virtualRouterId: 61, nopreempt: true },");
    expect(code).toContain("const director = new DirectorPair(stack, 'pair', {");
  });
});

describe('lvsform import (command line)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsform-import-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (args: string[]) => execa('node', [BIN, 'import', ...args], { reject: false, cwd: dir });

  it('writes the app to --out and the warnings to stderr', async () => {
    // GIVEN a keepalived.conf WHEN imported to a file
    const out = join(dir, 'app.ts');
    const r = await run(['--keepalived', KEEPALIVED, '--host', '203.0.113.2', '--stack', 'nat', '--out', out]);
    // THEN the file holds the app and stderr the warnings
    expect([r.exitCode, r.stdout, /warning: .*sorry_server/.test(r.stderr), readFileSync(out, 'utf8').includes("new LvsStack(app, 'nat')")]).toEqual([
      0,
      '',
      true,
      true,
    ]);
  });

  it.each([
    { name: 'no source', args: ['--local'], message: /exactly one source/ },
    { name: 'two sources', args: ['--save', SAVE, '--keepalived', KEEPALIVED], message: /exactly one source/ },
    { name: 'two ways to reach the director', args: ['--save', SAVE, '--host', '203.0.113.2', '--local'], message: /one way/ },
    { name: 'an alias without its config file', args: ['--save', SAVE, '--alias', 'lb1'], message: /--ssh-config and --alias go together/ },
  ])('refuses $name', async ({ args, message }) => {
    // GIVEN bad arguments WHEN run THEN exit 1 with a usage error
    const r = await run(args);
    expect([r.exitCode, message.test(r.stderr)]).toEqual([1, true]);
  });

  it.each([[[]], [['--force']]])('--out in a missing directory (flags %j): says to create it, not to pass --force', async (flags) => {
    // GIVEN --out in a directory that does not exist WHEN imported
    const r = await run(['--save', IMPORTABLE, '--local', '--out', join(dir, 'nodir', 'x.ts'), ...flags]);
    // THEN it refuses with the hint that fits
    expect([r.exitCode, /the directory .*nodir does not exist\n {2}Create it first \(mkdir -p .*nodir\)/.test(r.stderr), r.stderr.includes('--force')]).toEqual(
      [1, true, false],
    );
  });

  describe('never writes over a file it read, even with --force', () => {
    const save = readFileSync(IMPORTABLE, 'utf8');
    const keepalived = 'include inc.conf\n';
    const inc = 'virtual_server 192.0.2.1 80 {\n  protocol TCP\n  real_server 10.0.0.1 80 {\n  }\n}\n';
    it.each([
      { name: 'the save file itself', source: ['--save', 'self.save'], out: 'self.save' },
      { name: 'the save file spelt another way', source: ['--save', 'self.save'], out: './sub/../self.save' },
      { name: 'a hard link to the save file', source: ['--save', 'self.save'], out: 'hard.save' },
      { name: 'the keepalived.conf itself', source: ['--keepalived', 'k.conf'], out: 'k.conf' },
      { name: 'a file the keepalived.conf includes', source: ['--keepalived', 'k.conf'], out: 'inc.conf' },
    ])('$name', async ({ source, out }) => {
      // GIVEN the sources in a directory of their own
      const here = mkdtempSync(join(dir, 'self-'));
      mkdirSync(join(here, 'sub'));
      writeFileSync(join(here, 'self.save'), save);
      linkSync(join(here, 'self.save'), join(here, 'hard.save'));
      writeFileSync(join(here, 'k.conf'), keepalived);
      writeFileSync(join(here, 'inc.conf'), inc);
      const before = readFileSync(join(here, out), 'utf8');
      // WHEN imported with --out naming one of the files read, and --force
      const r = await execa('node', [BIN, 'import', ...source, '--local', '--out', out, '--force'], { reject: false, cwd: here });
      // THEN it refuses, and the file is as it was
      expect([r.exitCode, /LVS_IMPORT_WRITE.*it is the file this run read from/.test(r.stderr), readFileSync(join(here, out), 'utf8')]).toEqual([
        1,
        true,
        before,
      ]);
    });
  });

  describe('reads the source from a pipe', () => {
    const save = readFileSync(IMPORTABLE, 'utf8');
    it.each([['-'], ['/dev/stdin']])('--save %s reads standard input', async (name) => {
      // GIVEN saved rules piped in WHEN imported from standard input
      const r = await execa('node', [BIN, 'import', '--save', name, '--local'], { reject: false, cwd: dir, input: save });
      // THEN the app is written as from the file
      expect([r.exitCode, r.stdout.includes("new LvsStack(app, 'imported')")]).toEqual([0, true]);
    });

    it('- stays standard input under -C', async () => {
      // GIVEN -C naming another directory WHEN importing --save - THEN standard input is read, not DIR/-
      const r = await execa('node', [BIN, '-C', dir, 'import', '--save', '-', '--local'], { reject: false, input: save });
      expect([r.exitCode, r.stdout.includes('standard input')]).toEqual([0, true]);
    });

    it('--keepalived - reads standard input, its includes relative to the working directory', async () => {
      // GIVEN an included file in the working directory, and a main file piped in
      writeFileSync(join(dir, 'piped-inc.conf'), 'virtual_server 192.0.2.1 80 {\n  protocol TCP\n  lb_kind DR\n  real_server 10.0.0.1 8080 {\n  }\n}\n');
      const r = await execa('node', [BIN, 'import', '--keepalived', '-', '--local'], { reject: false, cwd: dir, input: '# piped\ninclude piped-inc.conf\n' });
      // THEN the included service is imported, and messages name the included file
      expect([r.exitCode, r.stdout.includes("'192.0.2.1'"), /warning: .*piped-inc\.conf:4: real server 10\.0\.0\.1 port 8080/.test(r.stderr)]).toEqual([
        0,
        true,
        true,
      ]);
    });

    it('a named FIFO', async () => {
      // GIVEN a FIFO that a writer fills WHEN imported from it
      const fifo = join(dir, 'rules.fifo');
      await execa('mkfifo', [fifo]);
      const writer = execa('sh', ['-c', `cat '${IMPORTABLE}' > '${fifo}'`]);
      const r = await run(['--save', fifo, '--local']);
      await writer;
      // THEN the app is written
      expect([r.exitCode, r.stdout.includes("new LvsStack(app, 'imported')")]).toEqual([0, true]);
    });

    it.each([
      { name: 'a device', args: ['--save', '/dev/zero'], message: /LVS_IMPORT_READ.*\/dev\/zero is not a file or a pipe/ },
      { name: 'a directory', args: ['--keepalived', '/'], message: /LVS_IMPORT_READ.*\/ is not a file or a pipe/ },
    ])('refuses $name', async ({ args, message }) => {
      // GIVEN a source that is neither a file nor a pipe WHEN imported THEN refused
      const r = await run([...args, '--local']);
      expect([r.exitCode, message.test(r.stderr)]).toEqual([1, true]);
    });

    it('refuses standard input beyond the size limit', async () => {
      // GIVEN more than the import reads, piped in WHEN imported THEN refused, naming the limit
      const r = await execa('node', [BIN, 'import', '--save', '-', '--local'], { reject: false, cwd: dir, input: Buffer.alloc(17 * 1024 * 1024, 0x61) });
      expect([r.exitCode, /standard input is more than 16777216 bytes/.test(r.stderr)]).toEqual([1, true]);
    });
  });

  it('does not overwrite --out without --force', async () => {
    // GIVEN an existing output file
    const out = join(dir, 'exists.ts');
    await run(['--save', IMPORTABLE, '--local', '--out', out]);
    // WHEN imported again to it
    const r = await run(['--save', IMPORTABLE, '--local', '--out', out]);
    // THEN it refuses and says how to overwrite
    expect([r.exitCode, /exists\n.*--force/s.test(r.stderr)]).toEqual([1, true]);
  });
});

describe('a file with services lvsform cannot declare', () => {
  it('is refused with a hint about the file, not the director', async () => {
    // GIVEN a save file with a multicast VIP
    const dir = mkdtempSync(join(tmpdir(), 'lvsform-import-unsupported-'));
    const file = join(dir, 'rules.save');
    writeFileSync(file, '-A -u 224.0.0.1:53 -s rr\n');
    // WHEN imported
    const error = await importApp({ kind: 'save', file }, { stack: 'web', director: { name: 'lb1', local: true } }).catch((e: unknown) => e);
    rmSync(dir, { recursive: true, force: true });
    // THEN LVS_IMPORT_UNSUPPORTED names the line, and the hint says to fix the file
    expect(error).toMatchObject({ code: 'LVS_IMPORT_UNSUPPORTED' });
    expect((error as LvsError).message).toMatch(/rules\.save:1: udp 224\.0\.0\.1:53/);
    expect((error as LvsError).hint).toBe('Nothing was written. Fix or delete these services in the file, at the lines named, then import again.');
  });
});
