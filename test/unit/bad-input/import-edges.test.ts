/**
 * The bad-input catalogue, continued: imports that would write an app which does not synthesize are refused with the
 * line, and keepalived configurations are read as keepalived's own reader reads them ($NAME definitions, blocks on
 * one line, include). Nothing is written when an import is refused.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseKeepalived } from '../../../providers/ipvs/read/parse-keepalived.ts';
import { parseSave } from '../../../providers/ipvs/read/parse-save.ts';
import { LvsError } from '../../../providers/ipvs/model/errors.ts';
import { project, runCli } from './cli-helpers.ts';
import { expectRefused, type EdgeCase } from './edges-helpers.ts';

function saveProject(save: string): { dir: string; argv: string[] } {
  const dir = project({ 'rules.save': save });
  return { dir, argv: ['-C', dir, 'import', '--save', path.join(dir, 'rules.save'), '--out', path.join(dir, 'app.ts')] };
}

describe('import refuses what the constructs refuse, naming the line', () => {
  const cases: EdgeCase[] = [
    {
      name: 'a persistence timeout above 31 days (-p 3000000)',
      given: async () => saveProject('-A -t 198.51.100.10:80 -s rr -p 3000000\n-a -t 198.51.100.10:80 -r 192.0.2.11:80 -m -w 1\n'),
      code: 'LVS_IMPORT_UNSUPPORTED',
      message: /rules\.save:1: tcp 198\.51\.100\.10:80: persistence timeout must be an integer 1\.\.2678400 seconds .*; got 3000000/,
    },
    {
      name: '--pe sip on a TCP service',
      given: async () => saveProject('-A -t 198.51.100.10:5060 -s rr -p 60 --pe sip\n'),
      code: 'LVS_IMPORT_UNSUPPORTED',
      message: /rules\.save:1: tcp 198\.51\.100\.10:5060: the sip persistence engine reads UDP datagrams only/,
    },
    {
      name: 'a weight of eleven digits, told as out of range',
      given: async () => saveProject('-A -t 198.51.100.10:80 -s rr\n-a -t 198.51.100.10:80 -r 192.0.2.11:80 -m -w 99999999999\n'),
      code: 'LVS_PARSE_SAVE',
      message: /rules\.save:2: .*must be between 0 and 2147483647, got "99999999999"/,
    },
    {
      name: 'persistence_engine sip on a TCP virtual_server in keepalived.conf',
      given: async () => {
        const dir = project({
          'k.conf':
            'virtual_server 198.51.100.10 5060 {\n  protocol TCP\n  persistence_timeout 60\n  persistence_engine sip\n  real_server 192.0.2.11 5060 {\n  }\n}\n',
        });
        return { dir, argv: ['-C', dir, 'import', '--keepalived', path.join(dir, 'k.conf'), '--out', path.join(dir, 'app.ts')] };
      },
      code: 'LVS_IMPORT_UNSUPPORTED',
      message: /k\.conf:1: tcp 198\.51\.100\.10:5060: the sip persistence engine reads UDP datagrams only/,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.code}, no app written`, async () => {
      await expectRefused(c);
      const { dir } = await c.given();
      expect(fs.existsSync(path.join(dir, 'app.ts'))).toBe(false);
    });
  }
});

describe('keepalived configurations are read as keepalived reads them', () => {
  it('$NAME=value definitions are replaced where they are used', () => {
    // GIVEN a configuration with definitions
    const conf =
      '$VIP=198.51.100.10\n$PORT=80\nvirtual_server $VIP ${PORT} {\n  lvs_sched rr\n  protocol TCP\n  real_server 192.0.2.11 $PORT {\n    weight 2\n  }\n}\n';
    // WHEN it is read
    const { table } = parseKeepalived(conf, 'k.conf');
    // THEN the service and real server have the defined values
    expect(table.services.map((s) => [s.key, s.config.scheduler, s.destinations.map((d) => [d.address, d.port, d.weight])])).toEqual([
      [{ kind: 'addr', protocol: 'tcp', address: '198.51.100.10', port: 80 }, 'rr', [['192.0.2.11', 80, 2]]],
    ]);
  });

  it('a block on one line is read, and what keepalived does not read on it is reported', () => {
    // GIVEN a real server block on one line with two keywords on it
    const conf =
      'virtual_server 198.51.100.10 80 {\n  protocol TCP\n  real_server 192.0.2.11 80 { weight 1 uthreshold 100 }\n  real_server 192.0.2.12 80 { uthreshold 100 }\n}\n';
    // WHEN it is read
    const { table, warnings } = parseKeepalived(conf, 'k.conf');
    // THEN the one-keyword block is read whole, and the ignored rest of the other is named with its line
    const dests = table.services[0]!.destinations;
    expect(dests.map((d) => [d.address, d.upperThreshold])).toEqual([
      ['192.0.2.11', 0],
      ['192.0.2.12', 100],
    ]);
    expect(warnings).toContainEqual(expect.stringMatching(/^k\.conf:3: weight 1: the rest of the line \("uthreshold 100"\) is not read/));
  });

  it('include is followed, relative to the including file, with the lines of the included file in messages', () => {
    // GIVEN a configuration that includes conf.d/*.conf, one of which has an unknown keyword
    const dir = project({
      'keepalived.conf': '$VIP=198.51.100.10\ninclude conf.d/*.conf\n',
      'conf.d/web.conf': 'virtual_server $VIP 80 {\n  protocol TCP\n  real_server 192.0.2.11 80 {\n    frobnicate 1\n  }\n}\n',
    });
    // WHEN it is imported
    const file = path.join(dir, 'keepalived.conf');
    return runCli(['-C', dir, 'import', '--keepalived', file, '--out', path.join(dir, 'app.ts')]).then((run) => {
      // THEN the included service is in the app, and the warning names the included file and line
      expect(run.code, run.stderr).toBe(0);
      expect(fs.readFileSync(path.join(dir, 'app.ts'), 'utf8')).toContain("'198.51.100.10'");
      expect(run.stderr).toMatch(/conf\.d\/web\.conf:4: unknown real_server keyword "frobnicate" ignored/);
    });
  });

  it('what the import does not expand (~SEQ, built-in definitions) is reported with its line', () => {
    // GIVEN a ~SEQ line and a use of $_INSTANCE
    const { warnings } = parseKeepalived('~SEQ(N, 1, 3) virtual_server 198.51.100.$N 80 {\n}\nvirtual_server $_INSTANCE 80 {\n}\n', 'k.conf');
    // WHEN read THEN both are named, with their lines
    expect(warnings).toContainEqual(expect.stringMatching(/^k\.conf:1: ~SEQ is not expanded/));
    expect(warnings).toContainEqual(expect.stringMatching(/^k\.conf:3: keepalived's built-in \$_INSTANCE is not expanded/));
  });

  it('an include loop is refused with the line', () => {
    // GIVEN a file that includes itself
    const dir = project({ 'k.conf': 'include k.conf\n' });
    // WHEN it is imported THEN one error names the include
    return runCli(['-C', dir, 'import', '--keepalived', path.join(dir, 'k.conf')]).then((run) => {
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(
        /Error \[LVS_PARSE_KEEPALIVED\]: .*k\.conf:1: include k\.conf includes .*k\.conf again while reading it \(k\.conf -> k\.conf\): an include loop/,
      );
    });
  });

  it('definitions that refer to each other without end are refused with the line', () => {
    // GIVEN $A defined through $B and $B through $A
    let error: unknown;
    try {
      parseKeepalived('$A=$B\n$B=$A x\nvirtual_server $B 80 {\n}\n', 'k.conf');
    } catch (e) {
      error = e;
    }
    // THEN an LvsError names the line; nothing hangs
    expect(error).toBeInstanceOf(LvsError);
    expect((error as LvsError).code).toBe('LVS_PARSE_KEEPALIVED');
    expect((error as LvsError).message).toMatch(/^k\.conf:3: .*(without end|grows beyond)/);
  });
});

describe('byte-order marks', () => {
  it('a keepalived.conf saved with a byte-order mark is read whole (the mark does not hide the first keyword)', async () => {
    // GIVEN a configuration whose first keyword follows a byte-order mark
    const dir = project({ 'k.conf': '\uFEFFvirtual_server 198.51.100.10 80 {\n  protocol TCP\n  real_server 192.0.2.11 80 {\n  }\n}\n' });
    // WHEN it is imported
    const run = await runCli(['-C', dir, 'import', '--keepalived', path.join(dir, 'k.conf'), '--out', path.join(dir, 'app.ts')]);
    // THEN the service is in the app
    expect(run.code, run.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'app.ts'), 'utf8')).toContain("'198.51.100.10'");
  });
});

describe('ipvsadm-save numbers', () => {
  it('a number too long for its range is called out of range, not "not a whole number"', () => {
    // GIVEN -w with eleven digits WHEN parsed THEN the message gives the range
    expect(() => parseSave('-A -t 198.51.100.10:80 -s rr\n-a -t 198.51.100.10:80 -r 192.0.2.11:80 -m -w 99999999999\n', 'r.save')).toThrow(
      /r\.save:2: .*between 0 and 2147483647, got "99999999999"/,
    );
  });
});

describe('import --keepalived reads what keepalived reads, through the command line', () => {
  const vsText = (last: number) => `virtual_server 198.51.100.${last} 80 {\n  protocol TCP\n  real_server 192.0.2.11 80 {\n  }\n}\n`;
  const importArgs = (dir: string, ...extra: string[]) => [
    '-C',
    dir,
    'import',
    '--keepalived',
    path.join(dir, 'keepalived.conf'),
    '--out',
    path.join(dir, 'app.ts'),
    ...extra,
  ];

  it.each([
    ['include conf.d/*/vs.conf', { 'conf.d/web/vs.conf': vsText(1), 'conf.d/api/vs.conf': vsText(2) }],
    ['include conf.d/[wa]*', { 'conf.d/web': vsText(1), 'conf.d/api': vsText(2) }],
    ['include conf.d/{web,api}.conf', { 'conf.d/web.conf': vsText(1), 'conf.d/api.conf': vsText(2) }],
  ])('%s imports the services of the files it matches', async (line, files) => {
    // GIVEN a keepalived.conf whose services are in the files the pattern matches
    const dir = project({ 'keepalived.conf': `${line}\n`, ...files });
    // WHEN imported
    const run = await runCli(importArgs(dir));
    // THEN both services are in the app, and nothing is reported skipped
    expect(run.code, run.stderr).toBe(0);
    const app = fs.readFileSync(path.join(dir, 'app.ts'), 'utf8');
    expect([app.includes("'198.51.100.1'"), app.includes("'198.51.100.2'")]).toEqual([true, true]);
    expect(run.stderr).toMatch(/wrote .*app\.ts: 2 service\(s\)/);
    expect(run.stderr).not.toMatch(/matches no file|skipped/);
  });

  it('an executable included file is skipped, as keepalived skips it, with a warning naming it', async () => {
    // GIVEN two included files, one executable
    const dir = project({ 'keepalived.conf': 'include conf.d/*.conf\n', 'conf.d/a.conf': vsText(1), 'conf.d/b.conf': vsText(2) });
    fs.chmodSync(path.join(dir, 'conf.d/b.conf'), 0o755);
    // WHEN imported
    const run = await runCli(importArgs(dir));
    // THEN only the other service is imported, and the executable file is named
    expect(run.code, run.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'app.ts'), 'utf8')).not.toContain("'198.51.100.2'");
    expect(run.stderr).toMatch(
      /warning: .*keepalived\.conf:1: include conf\.d\/\*\.conf: conf\.d\/b\.conf is not a regular non-executable file - skipped, as keepalived does/,
    );
  });

  it('an executable keepalived.conf, which keepalived does not read, is imported with a warning saying so', async () => {
    // GIVEN the configuration itself executable
    const dir = project({ 'keepalived.conf': vsText(1) });
    fs.chmodSync(path.join(dir, 'keepalived.conf'), 0o755);
    // WHEN imported
    const run = await runCli(importArgs(dir));
    // THEN the service is imported, and the warning names the file and the fix
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/warning: .*keepalived\.conf: keepalived reads no executable configuration file .* chmod a-x it/);
  });

  it('--config-id selects the @ID lines, as keepalived -i does', async () => {
    // GIVEN a real server for lb2 only
    const dir = project({
      'keepalived.conf':
        'virtual_server 198.51.100.10 80 {\n  protocol TCP\n  real_server 192.0.2.11 80 {\n  }\n  @lb2 real_server 192.0.2.12 80 { weight 4 }\n}\n',
    });
    // WHEN imported for lb2
    const run = await runCli(importArgs(dir, '--config-id', 'lb2'));
    // THEN its real server is in the app, and no warning is printed
    expect(run.code, run.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'app.ts'), 'utf8')).toContain("'192.0.2.12'");
    expect(run.stderr).not.toMatch(/warning/);
  });

  it('without --config-id an @ID line is reported with its line, and not imported', async () => {
    // GIVEN the same configuration WHEN imported without a config id
    const dir = project({
      'keepalived.conf':
        'virtual_server 198.51.100.10 80 {\n  protocol TCP\n  real_server 192.0.2.11 80 {\n  }\n  @lb2 real_server 192.0.2.12 80 { weight 4 }\n}\n',
    });
    const run = await runCli(importArgs(dir));
    // THEN the line is named, with the option that imports it
    expect(run.code, run.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'app.ts'), 'utf8')).not.toContain("'192.0.2.12'");
    expect(run.stderr).toMatch(
      /warning: .*keepalived\.conf:5: "@lb2 real_server 192\.0\.2\.12 80 \{ weight 4 \}" is for config id lb2 only - not imported; pass --config-id lb2/,
    );
  });

  const refused: EdgeCase[] = [
    {
      name: '--config-id with --save',
      given: async () => {
        const dir = project({ 'rules.save': '-A -t 198.51.100.10:80 -s rr\n' });
        return { dir, argv: ['-C', dir, 'import', '--save', path.join(dir, 'rules.save'), '--config-id', 'lb1', '--out', path.join(dir, 'app.ts')] };
      },
      code: 'LVS_USAGE',
      message: /--config-id goes with --keepalived/,
    },
    {
      name: 'a --config-id of two words',
      given: async () => {
        const dir = project({ 'keepalived.conf': vsText(1) });
        return { dir, argv: importArgs(dir, '--config-id', 'lb 1') };
      },
      code: 'LVS_USAGE',
      message: /--config-id "lb 1" can never match an @ID line/,
    },
  ];
  for (const c of refused) {
    it(`${c.name}: ${c.code}, no app written`, async () => {
      await expectRefused(c);
      const { dir } = await c.given();
      expect(fs.existsSync(path.join(dir, 'app.ts'))).toBe(false);
    });
  }
});
