import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { factsChunk, parseHostFacts } from '../../../providers/ipvs/host/requests/facts.ts';
import { setupChunk, setupFailures } from '../../../providers/ipvs/host/requests/setup.ts';
import { planHostSetup, rulesFileMatches, setupItemText, tableAfter } from '../../../providers/ipvs/plan/host-setup.ts';
import { requiredModules } from '../../../providers/ipvs/model/limits.ts';
import {
  bootLayout,
  debianAuto,
  requiredSysctls,
  modulesFileContent,
  sysctlFileContent,
  type HostFacts,
  type HostSetupSpec,
} from '../../../providers/ipvs/model/host-setup.ts';
import { isLvsError } from '../../../providers/ipvs/model/errors.ts';
import type { Destination, Service, Table } from '../../../providers/ipvs/model/model.ts';

function dest(address: string, method: 'masq' | 'droute' = 'masq', port = 80, upper = 0): Destination {
  return { address, port, forwarding: { method }, weight: 1, upperThreshold: upper, lowerThreshold: 0 };
}

function svc(address: string, opts: { scheduler?: string; pe?: string; dests?: Destination[]; port?: number } = {}): Service {
  return {
    key: { kind: 'addr', protocol: 'tcp', address, port: opts.port ?? 80 },
    config: { scheduler: opts.scheduler ?? 'rr', schedFlags: [], onePacket: false, ...(opts.pe ? { persistenceEngine: opts.pe } : {}) },
    destinations: opts.dests ?? [dest('192.0.2.11')],
  };
}

const ALL: HostSetupSpec = { installIpvsadm: true, loadModules: true, ipForward: true, saveRules: true };
const NAT: Table = { services: [svc('198.51.100.10')] };
const NAT_SAVE = '# ipvsadm.rules\n-A -t 198.51.100.10:80 -s rr\n-a -t 198.51.100.10:80 -r 192.0.2.11:80 -m -w 1\n';

function debianFacts(over: Partial<HostFacts> = {}): HostFacts {
  return {
    osRelease: { ID: 'debian', VERSION_ID: '12' },
    commands: ['apt-get', 'systemctl', 'ipvsadm'],
    loadedModules: [],
    files: { '/etc/default/ipvsadm': 'AUTO="false"\nDAEMON="none"\n' },
    sysctls: { 'net.ipv4.ip_forward': '0', 'net.ipv6.conf.all.forwarding': '0' },
    rhelServiceEnabled: null,
    ...over,
  };
}

/** A Debian host where everything is already in place for NAT on stack web. */
function settledFacts(): HostFacts {
  return debianFacts({
    loadedModules: ['ip_vs', 'ip_vs_rr'],
    files: {
      '/etc/default/ipvsadm': 'AUTO="true"\n',
      '/etc/modules-load.d/lvsform-web.conf': modulesFileContent('web', ['ip_vs', 'ip_vs_rr']),
      '/etc/sysctl.d/90-lvsform-web.conf': sysctlFileContent('web', ['net.ipv4.ip_forward']),
      '/etc/ipvsadm.rules': NAT_SAVE,
    },
    sysctls: { 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': '0' },
  });
}

const input = (facts: HostFacts, extra: { spec?: HostSetupSpec; desired?: Table; after?: Table; destroy?: boolean } = {}) => ({
  stack: 'web',
  director: 'lb1',
  spec: extra.spec ?? ALL,
  facts,
  desired: extra.desired ?? NAT,
  after: extra.after ?? extra.desired ?? NAT,
  ...(extra.destroy ? { destroy: true } : {}),
});

describe('requiredModules', () => {
  it.each([
    { name: 'no services need ip_vs only', table: { services: [] }, modules: ['ip_vs'] },
    { name: 'one module per scheduler, once', table: { services: [svc('198.51.100.10'), svc('198.51.100.11')] }, modules: ['ip_vs', 'ip_vs_rr'] },
    {
      name: 'persistence engines add their module',
      table: { services: [svc('198.51.100.10', { scheduler: 'wlc', pe: 'sip' })] },
      modules: ['ip_vs', 'ip_vs_pe_sip', 'ip_vs_wlc'],
    },
  ])('$name', ({ table, modules }) => {
    // GIVEN a table WHEN its modules are listed THEN they are sorted and unique
    expect(requiredModules(table)).toEqual(modules);
  });
});

describe('requiredSysctls', () => {
  it.each([
    { name: 'IPv4 NAT needs IPv4 forwarding', table: NAT, keys: ['net.ipv4.ip_forward'] },
    { name: 'direct routing needs none', table: { services: [svc('198.51.100.20', { dests: [dest('192.0.2.11', 'droute')] })] }, keys: [] },
    {
      name: 'IPv6 NAT needs IPv6 forwarding',
      table: { services: [svc('2001:db8:100::10', { dests: [dest('2001:db8::11')] })] },
      keys: ['net.ipv6.conf.all.forwarding'],
    },
  ])('$name', ({ table, keys }) => {
    // GIVEN a table WHEN its forwarding needs are listed THEN only NAT families count
    expect(requiredSysctls(table)).toEqual(keys);
  });
});

describe('bootLayout', () => {
  it.each([
    { os: { ID: 'debian' }, file: '/etc/ipvsadm.rules' },
    { os: { ID: 'ubuntu', ID_LIKE: 'debian' }, file: '/etc/ipvsadm.rules' },
    { os: { ID: 'rocky', ID_LIKE: 'rhel centos fedora' }, file: '/etc/sysconfig/ipvsadm' },
    { os: { ID: 'fedora' }, file: '/etc/sysconfig/ipvsadm' },
    { os: { ID: 'arch' }, file: undefined },
  ] as { os: Record<string, string>; file: string | undefined }[])('$os.ID restores $file at boot', ({ os, file }) => {
    // GIVEN /etc/os-release WHEN the layout is chosen THEN the rules file is the distribution's own
    expect(bootLayout(os)?.rulesFile).toBe(file);
  });
});

describe('debianAuto', () => {
  it.each([
    { text: 'AUTO="false"\n', auto: 'false' },
    { text: '# AUTO="true"\nAUTO="true"\n', auto: 'true' },
    { text: "AUTO='true'  # on\n", auto: 'true' },
    { text: 'AUTO=true\nAUTO="false"\n', auto: 'false' },
    { text: 'DAEMON="none"\n', auto: undefined },
    { text: null, auto: undefined },
  ])('reads $auto from $text', ({ text, auto }) => {
    // GIVEN /etc/default/ipvsadm WHEN AUTO is read THEN the last assignment wins, comments do not count
    expect(debianAuto(text)).toBe(auto);
  });
});

describe('rulesFileMatches', () => {
  it('GIVEN the saved -S -n output of the table WHEN compared THEN it matches', () => {
    expect(rulesFileMatches(NAT_SAVE, NAT)).toBe(true);
  });
  it('GIVEN a table with thresholds WHEN compared with a save (which has none) THEN it still matches', () => {
    expect(rulesFileMatches(NAT_SAVE, { services: [svc('198.51.100.10', { dests: [dest('192.0.2.11', 'masq', 80, 50)] })] })).toBe(true);
  });
  it('GIVEN a save of another weight WHEN compared THEN it does not match', () => {
    expect(rulesFileMatches(NAT_SAVE.replace('-w 1', '-w 2'), NAT)).toBe(false);
  });
  it('GIVEN a missing or unparsable file WHEN compared THEN it does not match', () => {
    expect([rulesFileMatches(null, NAT), rulesFileMatches('-A garbage\n', NAT)]).toEqual([false, false]);
  });
});

describe('tableAfter', () => {
  it('GIVEN unmanaged, owned-undeclared and declared services WHEN the table after is computed THEN unmanaged stay, owned undeclared go, declared are as desired', () => {
    const live = { services: [svc('198.51.100.40'), svc('198.51.100.41'), svc('198.51.100.10', { scheduler: 'wlc' })] };
    const after = tableAfter(live, new Set(['tcp 198.51.100.41:80', 'tcp 198.51.100.10:80']), NAT);
    expect(after.services.map((s) => `${s.key.kind === 'addr' ? s.key.address : ''} ${s.config.scheduler}`)).toEqual(['198.51.100.10 rr', '198.51.100.40 rr']);
  });
});

describe('planHostSetup', () => {
  it('GIVEN a fresh Debian host with forwarding off WHEN planned THEN modules, files, sysctl, AUTO and the rules file are proposed in order', () => {
    const items = planHostSetup(input(debianFacts()));
    expect(items.map((i) => `${i.action} ${i.kind} ${i.name}`)).toEqual([
      'create module ip_vs',
      'create module ip_vs_rr',
      'create file /etc/modules-load.d/lvsform-web.conf',
      'update sysctl net.ipv4.ip_forward',
      'create file /etc/sysctl.d/90-lvsform-web.conf',
      'update boot-service /etc/default/ipvsadm',
      'create rules /etc/ipvsadm.rules',
    ]);
  });

  it('GIVEN a host that already matches WHEN planned THEN nothing is proposed', () => {
    expect(planHostSetup(input(settledFacts()))).toEqual([]);
  });

  it('GIVEN forwarding off WHEN planned THEN the sysctl item carries 0 -> 1', () => {
    const facts = settledFacts();
    const items = planHostSetup(input({ ...facts, sysctls: { ...facts.sysctls, 'net.ipv4.ip_forward': '0' } }));
    expect(items).toEqual([{ kind: 'sysctl', action: 'update', name: 'net.ipv4.ip_forward', before: '0', after: '1' }]);
  });

  it('GIVEN a table that changes WHEN planned THEN only the rules file is out of date', () => {
    const after = { services: [svc('198.51.100.10', { dests: [dest('192.0.2.11'), dest('192.0.2.12')] })] };
    expect(planHostSetup(input(settledFacts(), { after })).map((i) => `${i.action} ${i.kind}`)).toEqual(['update rules']);
  });

  it('GIVEN a destroy WHEN planned THEN modules and forwarding stay and only the table is saved', () => {
    const items = planHostSetup(
      input(debianFacts({ files: { '/etc/default/ipvsadm': 'AUTO="true"\n', '/etc/ipvsadm.rules': NAT_SAVE } }), { desired: { services: [] }, destroy: true }),
    );
    expect(items.map((i) => `${i.action} ${i.kind} ${i.name}`)).toEqual(['update rules /etc/ipvsadm.rules']);
  });

  it('GIVEN no NAT any more WHEN planned THEN the stack sysctl file is removed', () => {
    const facts = settledFacts();
    const dr = { services: [svc('198.51.100.10', { dests: [dest('192.0.2.11', 'droute')] })] };
    const items = planHostSetup(input(facts, { desired: dr, after: dr }));
    expect(items.filter((i) => i.kind === 'file').map((i) => `${i.action} ${i.name}`)).toEqual(['delete /etc/sysctl.d/90-lvsform-web.conf']);
  });

  it('GIVEN ipvsadm missing on an apt host WHEN planned THEN the package comes first', () => {
    const items = planHostSetup(input(debianFacts({ commands: ['apt-get'] })));
    expect(items[0]).toMatchObject({ kind: 'package', action: 'create', name: 'ipvsadm', via: 'apt-get' });
  });

  it('GIVEN a RHEL-like host with ipvsadm.service disabled WHEN planned THEN the service is enabled and /etc/sysconfig/ipvsadm written', () => {
    const facts = debianFacts({
      osRelease: { ID: 'rocky', ID_LIKE: 'rhel centos fedora' },
      commands: ['dnf', 'systemctl', 'ipvsadm'],
      rhelServiceEnabled: 'disabled',
    });
    const items = planHostSetup(input(facts, { spec: { ...ALL, loadModules: false, ipForward: false } }));
    expect(items.map((i) => `${i.action} ${i.kind} ${i.name}`)).toEqual(['update boot-service ipvsadm.service', 'create rules /etc/sysconfig/ipvsadm']);
  });

  it.each([
    { name: 'ipvsadm missing and no package manager', facts: debianFacts({ commands: [] }) },
    { name: 'an unknown distribution with saveRules', facts: debianFacts({ osRelease: { ID: 'arch' } }) },
  ])('GIVEN $name WHEN planned THEN LVS_SETUP_UNSUPPORTED names the director', ({ facts }) => {
    let error: unknown;
    try {
      planHostSetup(input(facts));
    } catch (e) {
      error = e;
    }
    expect(isLvsError(error) && error.code === 'LVS_SETUP_UNSUPPORTED' && error.message.includes('director lb1')).toBe(true);
  });

  it('GIVEN every part off WHEN planned THEN nothing is read into items', () => {
    expect(planHostSetup(input(debianFacts(), { spec: { installIpvsadm: false, loadModules: false, ipForward: false, saveRules: false } }))).toEqual([]);
  });
});

describe('setupItemText', () => {
  it.each([
    { item: { kind: 'sysctl', action: 'update', name: 'net.ipv4.ip_forward', before: '0', after: '1' } as const, text: '~ sysctl net.ipv4.ip_forward 0 -> 1' },
    {
      item: { kind: 'file', action: 'create', name: '/etc/modules-load.d/lvsform-web.conf', after: 'x', detail: 'load ip_vs at boot' } as const,
      text: '+ file /etc/modules-load.d/lvsform-web.conf  (load ip_vs at boot)',
    },
    { item: { kind: 'rules', action: 'update', name: '/etc/ipvsadm.rules' } as const, text: '~ file /etc/ipvsadm.rules' },
    {
      item: { kind: 'boot-service', action: 'update', name: 'ipvsadm.service', via: 'rhel', before: 'disabled', after: 'enabled' } as const,
      text: '~ service ipvsadm.service disabled -> enabled',
    },
  ])('renders $text', ({ item, text }) => {
    // GIVEN an item WHEN rendered THEN it reads like a plan line
    const r = setupItemText(item);
    expect(`${r.sign} ${r.text}`).toBe(text);
  });
});

describe('facts and set-up chunks in a real sh', () => {
  it('GIVEN files with quotes in their names and no final newline WHEN the facts chunk runs THEN parseHostFacts returns each content exactly', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvsform-facts-'));
    const odd = join(dir, "it's; $(x).conf");
    writeFileSync(odd, 'AUTO="true"');
    const query = { modules: ['ip_vs'], files: [odd, join(dir, 'absent')], sysctls: ['net.ipv4.ip_forward'] };
    const out = execFileSync('sh', ['-c', factsChunk('t1', query)], { encoding: 'utf8' });
    const facts = parseHostFacts('t1', out, query, 'test');
    expect([facts.files[odd], facts.files[join(dir, 'absent')]]).toEqual(['AUTO="true"', null]);
  });

  it('GIVEN a file item WHEN the set-up chunk runs THEN the file is written with the exact content and the step reports ok', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvsform-setup-'));
    const path = join(dir, 'sub', "a 'b'.conf");
    const content = 'ip_vs\nLVSFORM_EOF\n$(touch x)\n';
    const out = execFileSync('sh', ['-c', setupChunk('t2', [{ kind: 'file', action: 'create', name: path, after: content }])], { encoding: 'utf8', cwd: dir });
    const read = execFileSync('cat', [path], { encoding: 'utf8' });
    expect({ read, failed: setupFailures('t2', out).failed }).toEqual({ read: content, failed: [] });
  });

  it('GIVEN a step that cannot succeed WHEN the set-up chunk runs THEN it is reported as failed with its name', () => {
    const out = execFileSync('sh', ['-c', setupChunk('t3', [{ kind: 'file', action: 'create', name: '/proc/lvsform-cannot/x.conf', after: 'x\n' }])], {
      encoding: 'utf8',
    });
    expect(setupFailures('t3', out).failed.map((f) => f.replace(/ \d+$/, ''))).toEqual(['file /proc/lvsform-cannot/x.conf']);
  });
});
