/**
 * `import --director` and the director settings: which of a live director's timeouts, sysctls and addresses become the
 * generated Director's `timeouts`, `sysctls` and `vips` (those that differ from the kernel's defaults; VIPs that carry
 * lvsform's label), and a generated app that synthesizes back to those settings. The lab test (test/lab/import.test.ts)
 * reads them from a real director.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { generateApp } from '../../../providers/ipvs/import/generate-app.ts';
import { importedSettings, sysctlProp } from '../../../providers/ipvs/import/import-settings.ts';
import type { LiveSettings } from '../../../providers/ipvs/model/director-settings.ts';
import { parseSave } from '../../../providers/ipvs/read/parse-save.ts';
import { readSynth } from '../../../providers/ipvs/read/read-synth.ts';

const ROOT = join(import.meta.dirname, '../../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');

const TABLE = parseSave(
  '-A -t 198.51.100.17:80 -s rr\n-a -t 198.51.100.17:80 -r 192.0.2.11:80 -m -w 1\n-A -t [2001:db8:100::17]:80 -s rr\n-A -t 198.51.100.10:80 -s rr\n',
  'test',
);

/** A director as the kernel boots it, with .17 added by lvsform (labelled), ::17 (no label) and .10 the lab's own. */
const DEFAULTS: LiveSettings = {
  kernel: '6.1.0-57-amd64',
  addresses: [
    { address: '198.51.100.1', prefix: 24, device: 'client0' },
    { address: '198.51.100.10', prefix: 32, device: 'client0' },
    { address: '198.51.100.17', prefix: 32, device: 'client0', label: 'client0:lvs' },
    { address: '2001:db8:100::17', prefix: 128, device: 'client0' },
  ],
  timeouts: { tcp: 900, tcpfin: 120, udp: 300 },
  sysctls: {
    conntrack: '0',
    expire_nodest_conn: '0',
    expire_quiescent_template: '0',
    conn_reuse_mode: '1',
    sloppy_tcp: '0',
    sloppy_sctp: '0',
    schedule_icmp: '0',
    ignore_tunneled: '0',
  },
};

const TUNED: LiveSettings = {
  ...DEFAULTS,
  timeouts: { tcp: 3600, tcpfin: 120, udp: 30 },
  sysctls: { ...DEFAULTS.sysctls, expire_nodest_conn: '1', conn_reuse_mode: '0', sloppy_tcp: '1' },
};

describe('import --director: the settings', () => {
  it('imports the timeouts and sysctls that differ from the kernel defaults, and vips from lvsform-labelled VIPs', () => {
    const s = importedSettings(TUNED, TABLE);
    expect({ vips: s.vips, timeouts: s.timeouts, sysctls: s.sysctls }).toEqual({
      vips: { interface: 'client0' },
      timeouts: { tcp: 3600, udp: 30 },
      sysctls: { expireNodestConn: true, connReuseMode: 0, sloppyTcp: true },
    });
    expect(s.notes[0]).toBe(
      "Director settings: timeouts and net.ipv4.vs sysctls are imported where they differ from the kernel's defaults (here: timeouts and sysctls); those at the default are left unmanaged.",
    );
    expect(s.notes[1]).toContain("if client0 is a dummy interface lvsform created, write vips: { dummy: 'client0' }");
  });

  it('imports nothing of a director at the kernel defaults whose VIPs someone else added', () => {
    const unlabelled = { ...DEFAULTS, addresses: DEFAULTS.addresses!.map(({ label: _label, ...a }) => a) };
    const s = importedSettings(unlabelled, TABLE);
    expect(s).toEqual({
      notes: [
        "Director settings: timeouts and net.ipv4.vs sysctls are imported where they differ from the kernel's defaults (none here); those at the default are left unmanaged.",
      ],
    });
  });

  it("leaves out what another stack's record holds, and a value the prop cannot take, each with a note", () => {
    const odd = { ...TUNED, sysctls: { ...TUNED.sysctls, conntrack: '2' } };
    const s = importedSettings(
      odd,
      TABLE,
      new Map([
        ['sysctl expire_nodest_conn', 'api'],
        ['timeout tcp', 'api'],
      ]),
    );
    expect(s.timeouts).toEqual({ udp: 30 });
    expect(s.sysctls).toEqual({ connReuseMode: 0, sloppyTcp: true });
    expect(s.notes).toContain("timeout tcp 3600 is stack api's (its record on the director): not imported");
    expect(s.notes).toContain("net.ipv4.vs.expire_nodest_conn = 1 is stack api's (its record on the director): not imported");
    expect(s.notes).toContain("net.ipv4.vs.conntrack = 2 is not a value the Director's sysctls prop takes: not imported");
  });

  it('names every sysctl prop as the construct library does', () => {
    expect(['conntrack', 'expire_nodest_conn', 'expire_quiescent_template', 'conn_reuse_mode', 'schedule_icmp'].map(sysctlProp)).toEqual([
      'conntrack',
      'expireNodestConn',
      'expireQuiescentTemplate',
      'connReuseMode',
      'scheduleIcmp',
    ]);
  });

  it('writes an app that synthesizes back to the settings read', async () => {
    // GIVEN the settings of a tuned director WHEN the app is generated, run and its synthesized JSON read
    const { notes, ...settings } = importedSettings(TUNED, TABLE);
    const code = generateApp(TABLE, { stack: 'imported', director: { name: 'lb1', ssh: { host: '203.0.113.2', user: 'root' }, settings }, notes });
    expect(code).toContain(
      "const director = new Director(stack, 'lb1', {\n  ssh: { host: '203.0.113.2', user: 'root' },\n  vips: { interface: 'client0' },\n  timeouts: { tcp: 3600, udp: 30 },\n  sysctls: { expireNodestConn: true, connReuseMode: 0, sloppyTcp: true },\n});",
    );
    const dir = join(ROOT, 'test/.tmp', `import-settings-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    try {
      writeFileSync(join(dir, 'main.ts'), code);
      const run = await execa(TSX, ['main.ts'], { cwd: dir, reject: false, all: true, env: { CDKTF_OUTDIR: join(dir, 'out') } });
      expect(run.exitCode, run.all).toBe(0);
      const synth = readSynth(JSON.parse(readFileSync(join(dir, 'out/stacks/imported/cdk.tf.json'), 'utf8')), 'imported');
      // THEN the Director asks for exactly those settings
      expect(synth.directors[0]!.settings).toEqual({
        vips: { interface: 'client0' },
        timeouts: { tcp: 3600, udp: 30 },
        sysctls: { expire_nodest_conn: 1, conn_reuse_mode: 0, sloppy_tcp: 1 },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
