/**
 * `import --keepalived` of one director of a pair: its `vrrp_instance` and `lvs_sync_daemon` become a DirectorPair of
 * the imported director and a placeholder for the other, and the generated app synthesizes back to the same table on
 * both, with the instance's router id, priority and addresses.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { generateApp } from '../../../providers/ipvs/import/generate-app.ts';
import { tableEquals } from '../../../providers/ipvs/model/model.ts';
import { parseKeepalived } from '../../../providers/ipvs/read/parse-keepalived.ts';
import { readSynth } from '../../../providers/ipvs/read/read-synth.ts';

const ROOT = join(import.meta.dirname, '../../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const CONF = [
  'global_defs {',
  '  lvs_sync_daemon eth1 VI_1 id 51',
  '}',
  'vrrp_instance VI_1 {',
  '  state BACKUP',
  '  interface eth1',
  '  virtual_router_id 51',
  '  priority 100',
  '  advert_int 2',
  '  authentication {',
  '    auth_type PASS',
  '    auth_pass s3cret',
  '  }',
  '  virtual_ipaddress {',
  '    198.51.100.20/32 dev eth1',
  '    192.0.2.1/24 dev eth2',
  '  }',
  '  notify_master /etc/keepalived/master.sh',
  '}',
  'virtual_server 198.51.100.20 80 {',
  '  lb_algo rr',
  '  lb_kind NAT',
  '  protocol TCP',
  '  real_server 192.0.2.11 80 { weight 1 }',
  '}',
].join('\n');

describe('import --keepalived of a pair member', () => {
  const work = join(ROOT, 'test/.tmp', `pair-import-${process.pid}`);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('writes a DirectorPair that synthesizes to the same table on both directors, with VRRP and the sync daemon', async () => {
    // GIVEN the keepalived configuration of a pair's BACKUP
    const parsed = parseKeepalived(CONF, 'k.conf');
    expect(parsed.warnings).toEqual(['k.conf:18: notify_master in vrrp_instance "VI_1" is not imported: a DirectorPair has no such setting']);
    // WHEN the app is generated and run
    const code = generateApp(parsed.table, { stack: 'web', director: { name: 'lb2', ssh: { host: '203.0.113.6' } }, pair: parsed.pair! });
    mkdirSync(work, { recursive: true });
    writeFileSync(join(work, 'main.ts'), code.replace("from 'lvsform'", `from ${JSON.stringify(join(ROOT, 'lib/index.ts'))}`));
    const run = await execa(TSX, ['main.ts'], { cwd: work, reject: false, all: true, env: { CDKTF_OUTDIR: join(work, 'out') } });
    expect(run.exitCode, `${run.all}\n${code}`).toBe(0);
    const json = JSON.parse(readFileSync(join(work, 'out/stacks/web/cdk.tf.json'), 'utf8'));
    const synth = readSynth(json, 'web');
    // THEN both directors hold the table; the imported one keeps its priority (BACKUP), the placeholder is above it
    expect(code).toContain("new DirectorPair(stack, 'pair'");
    expect(synth.directors.map((d) => d.name).sort()).toEqual(['lb2', 'lb2-peer']);
    for (const d of synth.directors) expect(tableEquals(d.table, parsed.table)).toBe(true);
    const lb2 = synth.directors.find((d) => d.name === 'lb2')!.settings!;
    expect(lb2.vrrp).toMatchObject({ virtualRouterId: 51, priority: 100, state: 'BACKUP', advertInterval: 2, authPass: 's3cret' });
    expect(lb2.vrrp!.addresses).toEqual([
      { address: '198.51.100.20', prefix: 32 },
      { address: '192.0.2.1', prefix: 24, device: 'eth2' },
    ]);
    expect(lb2.syncDaemon).toEqual({ interface: 'eth1', syncId: 51, roles: ['master', 'backup'] });
    expect(synth.directors.find((d) => d.name === 'lb2-peer')!.settings!.vrrp).toMatchObject({ priority: 150, state: 'MASTER' });
  }, 60_000);

  it('carries unicast VRRP (its own address and its one peer) to both directors of the pair', async () => {
    // GIVEN the same director with unicast_src_ip and one unicast_peer
    const unicast = CONF.replace('  advert_int 2', '  advert_int 2\n  unicast_src_ip 192.0.2.6\n  unicast_peer {\n    192.0.2.2\n  }');
    const parsed = parseKeepalived(unicast, 'k.conf');
    expect(parsed.pair?.unicast).toEqual({ source: '192.0.2.6', peer: '192.0.2.2' });
    // WHEN the app is generated and run
    const code = generateApp(parsed.table, { stack: 'web', director: { name: 'lb2', ssh: { host: '203.0.113.6' } }, pair: parsed.pair! });
    expect(code).toContain("unicastPeers: ['192.0.2.6', '192.0.2.2']");
    mkdirSync(work, { recursive: true });
    writeFileSync(join(work, 'main.ts'), code.replace("from 'lvsform'", `from ${JSON.stringify(join(ROOT, 'lib/index.ts'))}`));
    const run = await execa(TSX, ['main.ts'], { cwd: work, reject: false, all: true, env: { CDKTF_OUTDIR: join(work, 'out-unicast') } });
    expect(run.exitCode, `${run.all}\n${code}`).toBe(0);
    const synth = readSynth(JSON.parse(readFileSync(join(work, 'out-unicast/stacks/web/cdk.tf.json'), 'utf8')), 'web');
    // THEN each director advertises from its own address to the other's
    expect(synth.directors.map((d) => [d.name, d.settings!.vrrp!.unicast])).toEqual([
      ['lb2', { source: '192.0.2.6', peers: ['192.0.2.2'] }],
      ['lb2-peer', { source: '192.0.2.2', peers: ['192.0.2.6'] }],
    ]);
  }, 60_000);

  it.each([
    [
      'no unicast_src_ip',
      '  unicast_peer {\n    192.0.2.2\n  }',
      /k\.conf:\d+: unicast_peer of vrrp_instance "VI_1" is not imported: it has no unicast_src_ip \(keepalived takes the first address of eth1\)/,
    ],
    [
      'two peers',
      '  unicast_src_ip 192.0.2.6\n  unicast_peer {\n    192.0.2.2\n    192.0.2.3\n  }',
      /k\.conf:\d+: unicast_peer of vrrp_instance "VI_1" is not imported: it lists 2 peers, and the imported pair has two directors/,
    ],
    [
      'a peer with options',
      '  unicast_src_ip 192.0.2.6\n  unicast_peer {\n    192.0.2.2 min_ttl 255\n  }',
      /k\.conf:\d+: unicast_peer of vrrp_instance "VI_1" is not imported: "192\.0\.2\.2 min_ttl 255" is not one address/,
    ],
  ])('reports unicast VRRP it cannot carry (%s), and imports the pair without it', (_name, lines, warning) => {
    const parsed = parseKeepalived(CONF.replace('  advert_int 2', `  advert_int 2\n${lines}`), 'k.conf');
    expect(parsed.pair).toBeDefined();
    expect(parsed.pair!.unicast).toBeUndefined();
    expect(
      parsed.warnings.some((w) => warning.test(w)),
      parsed.warnings.join('\n'),
    ).toBe(true);
  });
});
