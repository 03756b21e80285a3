/**
 * `lvsform import` round trips on the real kernel. A corpus covering every scheduler, scheduler flag, forwarding
 * method (NAT, direct routing, ipip/GUE/GRE tunnels with their checksum options), protocol, family, firewall marks,
 * persistence (with a non-contiguous mask), the SIP persistence engine, one-packet scheduling, thresholds and weights
 * above 65535 is loaded by hand with `ipvsadm -R`; `import --director --adopt` writes the app and owns the services;
 * a plan of the app shows nothing to do; the table is cleared; the app is applied; the table read back is the original,
 * parsed and as `ipvsadm -S -n` text. A keepalived.conf goes through the same import → synth → apply → read back.
 * A director tuned by hand (timeouts, a sysctl, a VIP carrying lvsform's label) imports as a Director with those
 * `timeouts`, `sysctls` and `vips`, whose plan has no setting to change.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeEach, describe, expect, it } from 'vitest';
import { openShDirectorHost } from '../../providers/ipvs/host/sh-director-host.ts';
import { importApp } from '../../providers/ipvs/import/import.ts';
import { tableEquals } from '../../providers/ipvs/model/model.ts';
import { parseKeepalived } from '../../providers/ipvs/read/parse-keepalived.ts';
import { loadStacks, type LoadedStack } from '../../providers/ipvs/read/synth.ts';
import { lab, resetDirector, sh } from './helpers.ts';
import { alias, apply, cli, liveTable, plan, saveText } from './stack-harness.ts';

const ROOT = join(import.meta.dirname, '../..');
const CORPUS = join(ROOT, 'test/fixtures/ipvsadm/importable.input.txt');

/** Writes a generated app into a directory of its own (importing the library by path) and synthesizes it. */
async function synthGenerated(code: string): Promise<LoadedStack> {
  const dir = mkdtempSync(join(tmpdir(), 'lvsform-imported-'));
  const file = join(dir, 'app.ts');
  writeFileSync(file, code.replace(/from 'lvsform';/, `from ${JSON.stringify(join(ROOT, 'lib/index.ts'))};`));
  const outdir = join(dir, 'cdktf.out');
  const res = await execa(join(ROOT, 'node_modules/.bin/tsx'), [file], { cwd: dir, env: { CDKTF_OUTDIR: outdir }, reject: false, all: true });
  if (res.exitCode !== 0) throw new Error(`the generated app failed:\n${res.all}`);
  const [stack] = await loadStacks(outdir);
  return stack!;
}

beforeEach(async () => {
  await Promise.all([resetDirector(alias(1)), resetDirector(alias(2))]);
});

describe('import on the lab', () => {
  it('imports a live director with --adopt, plans no changes, and re-creates the exact table from the app', async () => {
    // GIVEN the corpus loaded by hand on director 1
    const corpus = readFileSync(CORPUS, 'utf8');
    await sh(alias(1), 'ipvsadm -R', { input: corpus });
    const originalText = await saveText(1);
    const original = await liveTable(1);
    expect(original.services.length).toBeGreaterThan(30);
    // WHEN it is imported from the live director, adopting its services
    const out = join(mkdtempSync(join(tmpdir(), 'lvsform-import-')), 'app.ts');
    const res = await cli([
      'import',
      '--director',
      'lb1',
      '--ssh-config',
      lab().sshConfig,
      '--alias',
      alias(1),
      '--stack',
      'imported',
      '--adopt',
      '--out',
      out,
    ]);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stderr).toContain(`adopted ${original.services.length} service(s): stack imported owns them on director lb1`);
    const stack = await synthGenerated(readFileSync(out, 'utf8'));
    // THEN the generated app synthesizes to exactly the live table
    expect(tableEquals(stack.directors[0]!.table, original)).toBe(true);
    // AND a plan shows no changes, nothing unmanaged or to adopt: the stack owns every service
    const first = await plan(stack);
    expect(first.directors.map((d) => [d.error, d.changes.length, d.unmanaged.length, d.conflicts.length, d.drift.length])).toEqual([[undefined, 0, 0, 0, 0]]);
    // WHEN the director is cleared and the app applied
    await sh(alias(1), 'ipvsadm -C');
    const report = await apply(stack);
    expect(report.outcomes.map((o) => [o.status, o.error?.message])).toEqual([['applied', undefined]]);
    // THEN the table read back equals the original, parsed and byte for byte
    expect(tableEquals(await liveTable(1), original)).toBe(true);
    expect(await saveText(1)).toBe(originalText);
  });

  it("reads the corpus with one ipvsadm process, exactly as the two dumps show it, through lvsform's read", async () => {
    // GIVEN the corpus loaded by hand on director 1 (every forwarding method, tunnel option, flag and threshold)
    await sh(alias(1), 'ipvsadm -R', { input: readFileSync(CORPUS, 'utf8') });
    // WHEN the save and the listing are printed by one `ipvsadm -R`, as the read does, and by two commands
    const two = (await sh(alias(1), 'ipvsadm -S -n && ipvsadm -L -n --thresholds')).stdout;
    const one = (await sh(alias(1), "ipvsadm -R <<'E'\n-S -n\n-L -n --thresholds\nE")).stdout;
    // THEN the texts are the same, byte for byte (the real ipvsadm takes both in -R and prints nothing else)
    expect(two).toContain('IP Virtual Server version');
    expect(one).toBe(two);
    // AND lvsform's read, one round trip through the seam, gives the table the two dumps give, thresholds merged
    const d = lab().directors[0]!;
    const host = openShDirectorHost({ name: d.name, transport: 'ssh', ssh: { configFile: lab().sshConfig, alias: d.alias } });
    try {
      const [reply] = await host.exchange([{ kind: 'read-table', stack: 'corpus', thresholds: true, record: true }]);
      const expected = await liveTable(1);
      expect(expected.services.some((s) => s.destinations.some((x) => x.upperThreshold > 0 && x.lowerThreshold > 0))).toBe(true);
      expect(tableEquals(reply.live.table, expected)).toBe(true);
    } finally {
      await host.close();
    }
  });

  it("imports the director's tuned timeouts and sysctls and the VIPs lvsform labelled, and the app plans no setting changes", async () => {
    // GIVEN director 1 tuned by hand (tcp and udp timeouts, expire_nodest_conn) and a service on .17, an address
    // carrying lvsform's label (as an earlier stack's apply left it)
    await sh(
      alias(1),
      'ipvsadm --set 3600 120 30 && echo 1 > /proc/sys/net/ipv4/vs/expire_nodest_conn && ip addr add 198.51.100.17/32 dev client0 label client0:lvs && ipvsadm -A -t 198.51.100.17:80 -s rr && ipvsadm -a -t 198.51.100.17:80 -r 192.0.2.11:80 -m',
    );
    try {
      // WHEN it is imported from the live director with --adopt
      const out = join(mkdtempSync(join(tmpdir(), 'lvsform-import-')), 'app.ts');
      const args = ['import', '--director', 'lb1', '--ssh-config', lab().sshConfig, '--alias', alias(1), '--stack', 'tuned', '--adopt', '--out', out];
      const res = await cli(args);
      expect(res.exitCode, res.stderr).toBe(0);
      // THEN the Director carries what differs from the kernel's defaults, and vips on the labelled device
      const code = readFileSync(out, 'utf8');
      expect(code).toContain("  vips: { interface: 'client0' },\n  timeouts: { tcp: 3600, udp: 30 },\n  sysctls: { expireNodestConn: true },\n");
      expect(code).toContain("// Director settings: timeouts and net.ipv4.vs sysctls are imported where they differ from the kernel's defaults");
      // AND the app's plan has nothing to do: no service change, no setting change, no drift
      const p = await plan(await synthGenerated(code));
      expect(p.directors.map((d) => [d.error, d.changes.length, d.settings, d.settingsDrift])).toEqual([[undefined, 0, [], undefined]]);
    } finally {
      await sh(alias(1), 'ipvsadm --set 900 120 300; echo 0 > /proc/sys/net/ipv4/vs/expire_nodest_conn; ip addr del 198.51.100.17/32 dev client0; true');
    }
  });

  it('imports without --adopt as a read only: the director keeps no record and a plan asks to adopt', async () => {
    // GIVEN one hand-made service
    await sh(alias(1), 'ipvsadm -A -t 198.51.100.10:80 -s wrr && ipvsadm -a -t 198.51.100.10:80 -r 192.0.2.11:80 -m -w 100000');
    // WHEN it is imported from the live director without --adopt
    const res = await cli(['import', '--director', 'lb1', '--ssh-config', lab().sshConfig, '--alias', alias(1), '--stack', 'readonly']);
    expect(res.exitCode, res.stderr).toBe(0);
    // THEN the app carries the weight above 65535, no record is written, and the plan reports a conflict to adopt
    expect(res.stdout).toContain('weight: 100000');
    expect((await sh(alias(1), 'ls /var/lib/lvsform/readonly.json', { allowFailure: true })).exitCode).not.toBe(0);
    const p = await plan(await synthGenerated(res.stdout));
    expect(p.directors[0]!.conflicts).toEqual(['tcp 198.51.100.10:80']);
  });

  it('refuses a live table holding a service lvsform cannot declare, and records nothing', async () => {
    // GIVEN an IPv4-mapped IPv6 VIP, which the kernel accepts
    await sh(alias(1), 'ipvsadm -A -t [::ffff:198.51.100.1]:80 -s rr');
    // WHEN it is imported with --adopt
    const res = await cli(['import', '--director', 'lb1', '--ssh-config', lab().sshConfig, '--alias', alias(1), '--stack', 'mapped', '--adopt']);
    // THEN the import fails naming the service, and no ownership record is written
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toContain('Error [LVS_IMPORT_UNSUPPORTED]');
    expect(res.stderr).toMatch(/tcp \[::ffff:[0-9a-f.:]+\]:80: virtual address \S+ is IPv4-mapped; use the IPv4 address 198\.51\.100\.1/);
    expect((await sh(alias(1), 'ls /var/lib/lvsform/mapped.json', { allowFailure: true })).exitCode).not.toBe(0);
  });

  it('refuses --adopt with a file source, naming the option', async () => {
    const res = await cli(['import', '--save', CORPUS, '--adopt']);
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toContain('Error [LVS_USAGE]: --adopt needs a live source (--director)');
  });

  it.each(['dr-web-farm.conf', 'fwmark-groups.conf', 'ipv6.conf', 'persistence-sip.conf', 'tun-gue.conf', 'nat-health-checks.conf'])(
    'round-trips keepalived %s: import, synth, apply, read back equals the parsed configuration',
    async (fixture) => {
      // GIVEN a keepalived configuration and the table lvsform reads from it
      const file = join(ROOT, 'test/fixtures/keepalived', fixture);
      const expected = parseKeepalived(readFileSync(file, 'utf8'), file).table;
      // WHEN it is imported into an app for director 2, synthesized and applied
      const { code } = await importApp(
        { kind: 'keepalived', file },
        { stack: 'keepalived', director: { name: 'lb2', ssh: { configFile: lab().sshConfig, alias: alias(2) } } },
      );
      const generated = await synthGenerated(code);
      // A configuration with a vrrp_instance and lvs_sync_daemon imports as a DirectorPair whose other side is a
      // placeholder (peer.invalid) for the operator to fill in: the round trip is the imported side's table, so only
      // that director is applied, without the pair's keepalived file and sync daemons (tested in director-pair.test.ts).
      const lb2 = generated.directors.filter((d) => d.name === 'lb2').map(({ settings: _pair, ...d }) => d);
      const stack = { ...generated, directors: lb2 };
      const report = await apply(stack);
      expect(report.outcomes.map((o) => [o.status, o.error?.message])).toEqual([['applied', undefined]]);
      // THEN the kernel table read back equals the parsed keepalived table
      expect(tableEquals(await liveTable(2), expected)).toBe(true);
    },
  );
});
