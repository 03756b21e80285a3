/** The pure parts of the director settings: the planner, the host chunk's scripts and parsers, the rules. */
import { describe, expect, it } from 'vitest';
import { settingsQueryFor, settingText, type LiveSettings, type SettingsRecord } from '../../../providers/ipvs/model/director-settings.ts';
import { settingsProblems } from '../../../providers/ipvs/model/rules.ts';
import { connReuseAuto, planSettings, settingsRecordAfter } from '../../../providers/ipvs/plan/settings.ts';
import {
  parseAddresses,
  parseSettingsApply,
  parseTimeouts,
  settingsApplyChunk,
  settingsReadChunk,
  unfinishedSettings,
} from '../../../providers/ipvs/host/settings-chunk.ts';
import { splitSections } from '../../../providers/ipvs/host/sections.ts';
import { neighbourAdvertScript } from '../../../providers/ipvs/host/neighbour-advert.ts';
import { parseSave } from '../../../providers/ipvs/read/parse-save.ts';

const TABLE = parseSave('-A -t 198.51.100.10:80 -s rr\n-A -t [2001:db8:100::10]:80 -s rr\n-A -f 1 -s rr\n', 'test');
const LIVE: LiveSettings = {
  kernel: '6.1.0-57-amd64',
  addresses: [{ address: '198.51.100.1', prefix: 24, device: 'eth0' }],
  links: ['eth0'],
  arping: true,
  perl: true,
  timeouts: { tcp: 900, tcpfin: 120, udp: 300 },
  sysctls: { conntrack: '0', expire_nodest_conn: '0', conn_reuse_mode: '1' },
};

describe('planning director settings', () => {
  it('adds every VIP of an address service as a host address, each announced, firewall marks skipped', () => {
    // GIVEN a table with an IPv4, an IPv6 and a firewall-mark service WHEN planned with vips on eth0
    const p = planSettings({ spec: { vips: { interface: 'eth0' } }, table: TABLE, live: LIVE, record: undefined, where: 'lb1' });
    // THEN two addresses are added, the IPv4 one with arping, the IPv6 one with a neighbour advertisement, both owned
    expect(p.changes).toEqual([
      { kind: 'address', action: 'create', address: '198.51.100.10', prefix: 32, device: 'eth0', announce: 'arping' },
      { kind: 'address', action: 'create', address: '2001:db8:100::10', prefix: 128, device: 'eth0', announce: 'na' },
    ]);
    expect(p.record?.addresses).toHaveLength(2);
    expect(p.changes.map((c) => settingText(c).text)).toEqual([
      'address 198.51.100.10/32 on eth0  (gratuitous ARP: arping -U)',
      'address 2001:db8:100::10/128 on eth0  (unsolicited neighbour advertisement: perl)',
    ]);
  });

  it('notes that neighbours are not told when arping or perl is missing', () => {
    // GIVEN a director without arping and perl WHEN planned THEN no address has an announcement and notes say why
    const p = planSettings({
      spec: { vips: { interface: 'eth0' } },
      table: TABLE,
      live: { ...LIVE, arping: false, perl: false },
      record: undefined,
      where: 'lb1',
    });
    expect(p.changes[0]).not.toHaveProperty('announce');
    expect(p.changes[1]).not.toHaveProperty('announce');
    expect(p.notes.join(' ')).toContain('install iputils-arping');
    expect(p.notes.join(' ')).toContain('1 IPv6 address(es) added without an unsolicited neighbour advertisement: perl is not on the director');
  });

  it('refuses an interface the director does not have, before any change', () => {
    // GIVEN vips on eth9 WHEN planned THEN LVS_DIRECTOR_SETTING
    expect(() => planSettings({ spec: { vips: { interface: 'eth9' } }, table: TABLE, live: LIVE, record: undefined, where: 'lb1' })).toThrow(
      expect.objectContaining({ code: 'LVS_DIRECTOR_SETTING' }),
    );
  });

  it('creates a dummy interface first and deletes it last once its addresses are gone', () => {
    // GIVEN vips on a dummy WHEN planned THEN the link comes first
    const p = planSettings({ spec: { vips: { dummy: 'lvsform0' } }, table: TABLE, live: LIVE, record: undefined, where: 'lb1' });
    expect(p.changes.map((c) => c.kind)).toEqual(['link', 'address', 'address']);
    // WHEN destroyed THEN the addresses go, then the link
    const live = { ...LIVE, links: ['eth0', 'lvsform0'], addresses: [...LIVE.addresses!, ...p.record!.addresses!] };
    const d = planSettings({ spec: undefined, table: { services: [] }, live, record: p.record, where: 'lb1' });
    expect(d.changes.map((c) => `${c.kind} ${c.action}`)).toEqual(['address delete', 'address delete', 'link delete']);
    expect(d.record).toBeUndefined();
  });

  it('records the value found before a sysctl and a timeout are set, and puts it back when no longer named', () => {
    // GIVEN expire_nodest_conn and tcp asked for WHEN planned
    const p = planSettings({ spec: { sysctls: { expire_nodest_conn: 1 }, timeouts: { tcp: 5 } }, table: TABLE, live: LIVE, record: undefined, where: 'lb1' });
    // THEN both change, and the record keeps what was there
    expect(p.changes).toEqual([
      { kind: 'sysctl', action: 'update', name: 'expire_nodest_conn', before: '0', after: '1' },
      { kind: 'timeouts', action: 'update', before: { tcp: 900, tcpfin: 120, udp: 300 }, after: { tcp: 5, tcpfin: 120, udp: 300 } },
    ]);
    expect(p.record).toEqual({ sysctls: { expire_nodest_conn: { prior: '0', value: '1' } }, timeouts: { prior: { tcp: 900 }, value: { tcp: 5 } } });
    // WHEN the app names neither any more (live as set) THEN both are put back and nothing is owned
    const live = { ...LIVE, timeouts: { tcp: 5, tcpfin: 120, udp: 300 }, sysctls: { ...LIVE.sysctls, expire_nodest_conn: '1' } };
    const back = planSettings({ spec: undefined, table: TABLE, live, record: p.record, where: 'lb1' });
    expect(back.changes).toEqual([
      { kind: 'sysctl', action: 'update', name: 'expire_nodest_conn', before: '1', after: '0', restore: true },
      { kind: 'timeouts', action: 'update', before: { tcp: 5, tcpfin: 120, udp: 300 }, after: { tcp: 900, tcpfin: 120, udp: 300 }, restore: true },
    ]);
    expect(back.record).toBeUndefined();
  });

  it('shows a setting changed by hand as drift and sets it again, keeping the first value found', () => {
    // GIVEN a record that set conntrack to 1 (found 0) and a director where it is 0 again
    const record: SettingsRecord = { sysctls: { conntrack: { prior: '0', value: '1' } } };
    const p = planSettings({ spec: { sysctls: { conntrack: 1 } }, table: TABLE, live: LIVE, record, where: 'lb1' });
    // THEN drift, a change back to 1, and the prior value is still the first one found
    expect(p.drift).toEqual(['sysctl net.ipv4.vs.conntrack (1 -> 0 outside lvsform)']);
    expect(p.changes).toHaveLength(1);
    expect(p.record?.sysctls?.['conntrack']).toEqual({ prior: '0', value: '1' });
  });

  it('sets conn_reuse_mode auto as kube-proxy does: 0 on 4.2 to 5.8, left alone from 5.9', () => {
    // GIVEN kernel releases WHEN resolved THEN 0 only in the window
    expect([
      connReuseAuto('4.1.0'),
      connReuseAuto('4.19.0-27-amd64'),
      connReuseAuto('5.8.18'),
      connReuseAuto('5.9.0'),
      connReuseAuto('6.1.0-57-amd64'),
    ]).toEqual([undefined, 0, 0, undefined, undefined]);
    // AND on 6.1 the plan changes nothing and says why
    const p = planSettings({ spec: { sysctls: { conn_reuse_mode: 'auto' } }, table: TABLE, live: LIVE, record: undefined, where: 'lb1' });
    expect(p.changes).toEqual([]);
    expect(p.notes[0]).toContain('conn_reuse_mode auto');
  });

  it('refuses a sysctl the kernel lacks', () => {
    // GIVEN a kernel without schedule_icmp WHEN planned THEN LVS_DIRECTOR_SETTING naming the release that has it
    expect(() => planSettings({ spec: { sysctls: { schedule_icmp: 1 } }, table: TABLE, live: LIVE, record: undefined, where: 'lb1' })).toThrow(/Linux 4\.3/);
  });

  it('keeps in the record only the addresses the read-back shows', () => {
    // GIVEN a plan that adds two addresses, one of which the kernel refused
    const p = planSettings({ spec: { vips: { interface: 'eth0' } }, table: TABLE, live: LIVE, record: undefined, where: 'lb1' });
    const after: LiveSettings = { kernel: '6.1', addresses: [{ address: '198.51.100.10', prefix: 32, device: 'eth0' }] };
    // WHEN the record is rebuilt THEN only that one is owned
    expect(settingsRecordAfter(p.record, p.changes, after)?.addresses).toEqual([{ address: '198.51.100.10', prefix: 32, device: 'eth0' }]);
    expect(unfinishedSettings(p.changes, after)).toEqual(['address 2001:db8:100::10/128 on eth0 was not added']);
  });

  it('reads only what the app manages or the record names', () => {
    // GIVEN specs and records WHEN the query is built THEN it asks for those parts only
    expect(settingsQueryFor(undefined, undefined)).toEqual({ addresses: false, links: [], timeouts: false, sysctls: [] });
    expect(settingsQueryFor({ sysctls: { conntrack: 1 } }, { timeouts: { prior: { tcp: 900 }, value: { tcp: 5 } } })).toEqual({
      addresses: false,
      links: [],
      timeouts: true,
      sysctls: ['conntrack'],
    });
    expect(settingsQueryFor({ vips: { dummy: 'lvsform0' } }, undefined)).toMatchObject({ addresses: true, links: ['lvsform0'] });
  });
});

describe('the settings chunk', () => {
  it('reads sysctls with the shell, and starts ip and ipvsadm only for what is asked', () => {
    // GIVEN a query of sysctls only WHEN the script is built THEN it starts no ip or ipvsadm process
    const sysctlsOnly = settingsReadChunk('t', { addresses: false, links: [], timeouts: false, sysctls: ['conntrack'] });
    expect(sysctlsOnly).toContain('read -r lvs_v < "/proc/sys/net/ipv4/vs/$lvs_k"');
    expect(sysctlsOnly).not.toMatch(/\bip -o|ipvsadm/);
    const all = settingsReadChunk('t', { addresses: true, links: ['eth0'], timeouts: true, sysctls: [] });
    expect(all).toContain('ip -o addr show');
    expect(all).toContain('ipvsadm -L --timeout');
  });

  it('parses ip -o addr show, veth peers and point-to-point addresses included', () => {
    // GIVEN lines as iproute2 6.1 prints them WHEN parsed THEN address, prefix, device and an IPv4 label of its own
    const text = [
      '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
      '2: eth0    inet 203.0.113.2 peer 203.0.113.1/32 scope global eth0\\       valid_lft forever preferred_lft forever',
      '9: client0    inet 198.51.100.17/32 scope global client0:lvs\\       valid_lft forever preferred_lft forever',
      '9: client0    inet6 2001:DB8:100::17/128 scope global nodad \\       valid_lft forever preferred_lft forever',
      '5: veth-rs1@if2    inet6 fe80::1/64 scope link \\       valid_lft forever preferred_lft forever',
    ].join('\n');
    expect(parseAddresses(text)).toEqual([
      { address: '127.0.0.1', prefix: 8, device: 'lo' },
      { address: '203.0.113.2', prefix: 32, device: 'eth0' },
      { address: '198.51.100.17', prefix: 32, device: 'client0', label: 'client0:lvs' },
      { address: '2001:db8:100::17', prefix: 128, device: 'client0' },
      { address: 'fe80::1', prefix: 64, device: 'veth-rs1' },
    ]);
  });

  it('parses the timeouts and refuses an answer without them', () => {
    expect(parseTimeouts('Timeout (tcp tcpfin udp): 900 120 300\n', 'lb1')).toEqual({ tcp: 900, tcpfin: 120, udp: 300 });
    expect(() => parseTimeouts("Can't initialize ipvs", 'lb1')).toThrow(expect.objectContaining({ code: 'LVS_HOST_OUTPUT' }));
  });

  it('applies a phase in one ip batch, labels IPv4, adds IPv6 without DAD, and reads back what it touched', () => {
    // GIVEN the changes of a plan WHEN the before phase is built
    const p = planSettings({
      spec: { vips: { interface: 'eth0' }, sysctls: { conntrack: 1 }, timeouts: { udp: 30 } },
      table: TABLE,
      live: LIVE,
      record: undefined,
      where: 'lb1',
    });
    const sh = settingsApplyChunk('t', p.changes, 'before', { addresses: true, links: [], timeouts: true, sysctls: ['conntrack'] });
    // THEN one ip -b, the label and nodad, the sysctl written by the shell, one ipvsadm --set, arping in the background
    expect(sh.match(/ip -force -b -/g)).toHaveLength(1);
    expect(sh).toContain('addr add 198.51.100.10/32 dev eth0 label eth0:lvs');
    expect(sh).toContain('addr add 2001:db8:100::10/128 dev eth0 nodad');
    expect(sh).toContain("printf '%s\\n' '1' > '/proc/sys/net/ipv4/vs/conntrack'");
    expect(sh).toContain("ipvsadm --set '900' '120' '30'");
    expect(sh).toContain("arping -q -U -c 1 -I 'eth0' '198.51.100.10' </dev/null >/dev/null 2>&1 9>&- &");
    // AND the IPv6 address's neighbour advertisement from perl, in the background, with the interface's index and MAC
    expect(sh).toContain("read -r lvs_ix < /sys/class/net/'eth0'/ifindex; read -r lvs_mac < /sys/class/net/'eth0'/address");
    expect(sh).toContain(`perl -e '${neighbourAdvertScript()}' '2001:db8:100::10' "$lvs_ix" "$lvs_mac" "$lvs_fw" </dev/null >/dev/null 2>&1 9>&- &`);
    // AND nothing of the after phase
    expect(sh).not.toContain('addr del');
  });

  it('parses the reply of a phase: its failures, what the host said, and the read-back', () => {
    // GIVEN a reply with a failed ip step
    const out = [
      '@@lvsform-section t settings-apply',
      'RTNETLINK answers: File exists',
      '@@settings fail ip',
      '@@lvsform-section t settings-after-kernel',
      '6.1.0',
      '@@lvsform-section t settings-after-sysctls',
      'conntrack=1',
      '@@lvsform-section t settings-after-end',
    ].join('\n');
    // WHEN parsed THEN the failure, the words and the read-back
    const r = parseSettingsApply('t', out, { addresses: false, links: [], timeouts: false, sysctls: ['conntrack'] }, 'lb1');
    expect(r).toEqual({ failed: ['ip'], log: 'RTNETLINK answers: File exists', after: { kernel: '6.1.0', sysctls: { conntrack: '1' } } });
    expect(splitSections('t', out).has('settings-after-end')).toBe(true);
  });

  it('refuses a name that is not an interface before it reaches a shell', () => {
    expect(() =>
      settingsApplyChunk('t', [{ kind: 'link', action: 'create', name: 'x; reboot' }], 'before', { addresses: false, links: [], timeouts: false, sysctls: [] }),
    ).toThrow(expect.objectContaining({ code: 'LVS_UNSAFE_VALUE' }));
  });
});

describe('the rules for director settings', () => {
  it('takes one placement, bounded timeouts and known sysctls in their ranges', () => {
    expect(
      settingsProblems({ vips: { interface: 'eth0' }, timeouts: { tcp: 1, tcp_fin: 2_147_483 }, sysctls: { conn_reuse_mode: 'auto', conntrack: 1 } }),
    ).toEqual([]);
    expect(settingsProblems({ vips: {} }).map((p) => p.path)).toEqual(['vips']);
    expect(settingsProblems({ vips: { dummy: 'a-name-far-too-long' } }).map((p) => p.path)).toEqual(['vips.dummy']);
    expect(settingsProblems({ timeouts: { udp: 2_147_484 } }).map((p) => p.path)).toEqual(['timeouts.udp']);
    expect(settingsProblems({ timeouts: {} }).map((p) => p.path)).toEqual(['timeouts']);
    expect(settingsProblems({ sysctls: { expire_nodest_conn: 2, am_droprate: 1 } }).map((p) => p.path)).toEqual([
      'sysctls.expire_nodest_conn',
      'sysctls.am_droprate',
    ]);
  });
});
