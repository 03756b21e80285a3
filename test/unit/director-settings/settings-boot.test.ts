/** Director settings that survive a reboot: the sysctl file's lines and the boot unit, written and removed by the set-up. */
import { describe, expect, it } from 'vitest';
import type { SettingsRecord } from '../../../providers/ipvs/model/director-settings.ts';
import { planHostSetup } from '../../../providers/ipvs/plan/host-setup.ts';
import { sysctlFileContent, type HostFacts } from '../../../providers/ipvs/model/host-setup.ts';
import { bootUnitContent } from '../../../providers/ipvs/plan/settings-boot.ts';
import { parseSave } from '../../../providers/ipvs/read/parse-save.ts';
import { setupChunk } from '../../../providers/ipvs/host/requests/setup.ts';

const RECORD: SettingsRecord = {
  addresses: [
    { address: '198.51.100.17', prefix: 32, device: 'eth0' },
    { address: '2001:db8:100::17', prefix: 128, device: 'eth0' },
  ],
  links: ['lvsform0'],
  sysctls: { expire_nodest_conn: { prior: '0', value: '1' }, conntrack: { prior: '0', value: '1' } },
  timeouts: { prior: { tcp: 900 }, value: { tcp: 5 } },
};
const TABLE = parseSave('-A -t 198.51.100.17:80 -s rr\n-a -t 198.51.100.17:80 -r 192.0.2.11:80 -g -w 1\n', 'test');
const SPEC = { installIpvsadm: false, loadModules: false, ipForward: true, saveRules: false };

function facts(files: Record<string, string | null> = {}): HostFacts {
  return {
    osRelease: { ID: 'debian', VERSION_ID: '12' },
    commands: ['apt-get', 'systemctl', 'ipvsadm'],
    loadedModules: [],
    files,
    sysctls: { 'net.ipv4.ip_forward': '1' },
    rhelServiceEnabled: null,
  };
}

describe('director settings at boot', () => {
  it('writes a oneshot unit that puts back what lvsform owns, after the network and the IPVS modules', () => {
    // GIVEN the settings lvsform owns WHEN the unit is written THEN it holds exactly these steps, in this order
    expect(bootUnitContent('web', RECORD)).toBe(
      [
        '# Written by lvsform (stack web): the director settings the kernel forgets at reboot.',
        '[Unit]',
        'Description=lvsform director settings (stack web)',
        'Wants=network-online.target',
        'After=network-online.target systemd-modules-load.service ipvsadm.service',
        'Before=keepalived.service',
        '',
        '[Service]',
        'Type=oneshot',
        'RemainAfterExit=yes',
        'ExecStart=modprobe ip_vs',
        'ExecStart=-ip link add lvsform0 type dummy',
        'ExecStart=ip link set lvsform0 up',
        'ExecStart=ip addr replace 198.51.100.17/32 dev eth0 label eth0:lvs',
        'ExecStart=ip addr replace 2001:db8:100::17/128 dev eth0 nodad',
        'ExecStart=ipvsadm --set 5 0 0',
        'ExecStart=sysctl -q -w net.ipv4.vs.conntrack=1 net.ipv4.vs.expire_nodest_conn=1',
        '',
        '[Install]',
        'WantedBy=multi-user.target',
        '',
      ].join('\n'),
    );
    // AND nothing owned needs no unit
    expect(bootUnitContent('web', undefined)).toBeUndefined();
  });

  it('plans the sysctl file with the IPVS sysctls, the unit file and its enabling', () => {
    // GIVEN a Debian host with nothing of lvsform's WHEN the set-up is planned with settings
    const items = planHostSetup({ stack: 'web', director: 'lb1', spec: SPEC, facts: facts(), desired: TABLE, after: TABLE, settings: { record: RECORD } });
    // THEN the sysctl file carries both sysctls, then the unit is written and enabled
    expect(items.map((i) => `${i.kind} ${i.action} ${i.name}`)).toEqual([
      'file create /etc/sysctl.d/90-lvsform-web.conf',
      'file create /etc/systemd/system/lvsform-web.service',
      'boot-service update lvsform-web.service',
    ]);
    expect(items[0]!.after).toBe(
      '# Written by lvsform (stack web): forwarding its NAT services need and its IPVS sysctls, set at boot.\nnet.ipv4.vs.conntrack = 1\nnet.ipv4.vs.expire_nodest_conn = 1\n',
    );
    // AND the set-up enables the unit with systemctl
    expect(setupChunk('t', items)).toContain("systemctl --no-reload enable 'lvsform-web.service'");
  });

  it('on destroy disables and removes the unit and drops the IPVS sysctls from the file, keeping forwarding', () => {
    // GIVEN a host where the unit is enabled and the file holds forwarding and an IPVS sysctl
    const file = sysctlFileContent('web', ['net.ipv4.ip_forward'], ['net.ipv4.vs.conntrack = 1']);
    const f = facts({
      '/etc/sysctl.d/90-lvsform-web.conf': file,
      '/etc/systemd/system/lvsform-web.service': bootUnitContent('web', RECORD)!,
      '/etc/systemd/system/multi-user.target.wants/lvsform-web.service': bootUnitContent('web', RECORD)!,
    });
    // WHEN a destroy is planned
    const items = planHostSetup({
      stack: 'web',
      director: 'lb1',
      spec: SPEC,
      facts: f,
      desired: { services: [] },
      after: { services: [] },
      destroy: true,
      settings: { record: undefined },
    });
    // THEN the file keeps forwarding only, the unit is disabled, then deleted
    expect(items.map((i) => `${i.kind} ${i.action} ${i.name}`)).toEqual([
      'file update /etc/sysctl.d/90-lvsform-web.conf',
      'boot-service delete lvsform-web.service',
      'file delete /etc/systemd/system/lvsform-web.service',
    ]);
    expect(items[0]!.after).toBe(sysctlFileContent('web', ['net.ipv4.ip_forward']));
    expect(setupChunk('t', items)).toContain("systemctl --no-reload disable 'lvsform-web.service'");
  });
});
