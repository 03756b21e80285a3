/**
 * The host side of a pair member's settings: what ipvsadm 1.31 prints for the daemons, the keepalived read's fields,
 * and the shell of each change, which `sh -n` must parse and which quotes every value.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { daemonsReadLines, keepalivedReadLines, pairApplyLines, parseDaemons, parseKeepalived } from '../../../providers/ipvs/host/pair-chunk.ts';
import { KEEPALIVED_MARK } from '../../../providers/ipvs/model/director-pair.ts';

describe('the pair chunk', () => {
  it('reads both daemons as ipvsadm 1.31 lists them on kernel 6.1, with the fields it adds', () => {
    // GIVEN `ipvsadm -L --daemon` with a master and a backup WHEN parsed THEN role, interface and sync id of each
    const text = [
      'master sync daemon (mcast=eth1, syncid=51, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)',
      'backup sync daemon (mcast=eth1, syncid=51, maxlen=1472, group=224.0.0.81, port=8848)',
    ].join('\n');
    expect(parseDaemons(text)).toEqual([
      { role: 'master', interface: 'eth1', syncId: 51 },
      { role: 'backup', interface: 'eth1', syncId: 51 },
    ]);
    // AND no daemon (ipvsadm prints nothing) is none
    expect(parseDaemons('')).toEqual([]);
  });

  it("reads keepalived's state, and takes a digest only when it is one", () => {
    // GIVEN the read's lines WHEN parsed THEN each field, an unknown main file counting as the operator's
    const digest = 'a'.repeat(64);
    expect(parseKeepalived(`digest=${digest}\nmain=includes\nothers=2\ninstalled=yes\nrunning=no\n`)).toEqual({
      digest,
      main: 'includes',
      others: 2,
      installed: true,
      running: false,
    });
    expect(parseKeepalived('digest=not-a-digest\nmain=what\n')).toEqual({ main: 'foreign', others: 0, installed: false, running: false });
  });

  it('writes shell that sh parses, with every value quoted', () => {
    // GIVEN every change of a pair member WHEN its lines are written THEN sh -n accepts them all
    const lines = [
      ...daemonsReadLines('t', 'settings-'),
      ...keepalivedReadLines('t', 'settings-', '/etc/keepalived/lvsform-web-edge.conf'),
      ...pairApplyLines({ kind: 'daemon', action: 'delete', role: 'master', interface: 'eth1', syncId: 5 }),
      ...pairApplyLines({ kind: 'daemon', action: 'create', role: 'backup', interface: 'eth1', syncId: 5 }),
      ...pairApplyLines({
        kind: 'keepalived',
        action: 'create',
        path: '/etc/keepalived/lvsform-web-edge.conf',
        content: "vrrp_instance x {\n}\n'quoted' $HOME `x`\n",
        main: 'write',
      }),
      ...pairApplyLines({ kind: 'keepalived', action: 'delete', path: '/etc/keepalived/lvsform-web-edge.conf', main: 'delete' }),
    ];
    const script = lines.join('\n');
    expect(() => execFileSync('sh', ['-n'], { input: script })).not.toThrow();
    expect(script).toContain("ipvsadm --start-daemon 'backup' --mcast-interface 'eth1' --syncid '5'");
    expect(script).toContain(`= '${KEEPALIVED_MARK}'`);
    // AND a path that is not lvsform's is refused before any shell is written
    expect(() => pairApplyLines({ kind: 'keepalived', action: 'delete', path: '/etc/keepalived/keepalived.conf' })).toThrow(
      /not a keepalived file of lvsform's/,
    );
  });
});
