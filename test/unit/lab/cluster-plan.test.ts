import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { directorAddresses } from '../../../lab/addresses.ts';
import { kernelArgs, qemuArgs } from '../../../lab/boot-director.ts';
import { CLUSTER_TOPOLOGY, clusterNetworkNames, clusterVmAddresses } from '../../../lab/cluster-addresses.ts';
import { clusterFactsOf } from '../../../lab/cluster-facts.ts';
import { clusterDevices } from '../../../lab/cluster-network.ts';
import { planCluster } from '../../../lab/cluster-plan.ts';
import { renderSshConfig } from '../../../lab/ssh-files.ts';
import { labUp } from '../../../lab/lab-up.ts';
import { type LabState, type LabVm, findDirector, labPaths, labVms } from '../../../lab/state.ts';
import { labStateOf, UNIT_BOOT } from './lab-state.ts';

const paths = labPaths('/tmp/lvsform-lab-unit-cluster');
const boot = UNIT_BOOT;
const options = { first: 31, directors: 1, realServers: 2, skipModules: [] };

function state(directors: LabVm[], cluster?: LabState['cluster']): LabState {
  return labStateOf(paths, directors, cluster);
}

describe("the cluster lab's address plan", () => {
  it('puts director i at .i and real server j at .(10 + j) on both segments, with MACs from the VM index', () => {
    // GIVEN director 1 at VM index 31 and real server 2 at index 33 WHEN their addresses are made
    const d = clusterVmAddresses(31, 'director', 1);
    const r = clusterVmAddresses(33, 'real-server', 2);
    // THEN management is the lab's plan for the index, and the segments follow the cluster's plan
    expect(d).toMatchObject({ name: 'cluster-director-1', alias: 'cluster-director-1', tap: 'lvsftap31', guestAddress: '203.0.113.122' });
    expect(d.shared).toEqual({ tap: 'lvsfs31', iface: 'eth1', ipv4: '198.51.100.1', ipv6: '2001:db8:100::1', mac: '52:54:00:4c:57:1f' });
    expect(d.private).toEqual({ tap: 'lvsfp31', iface: 'eth2', ipv4: '192.0.2.1', ipv6: '2001:db8::1', mac: '52:54:00:4c:58:1f' });
    expect(r.shared).toMatchObject({ ipv4: '198.51.100.12', ipv6: '2001:db8:100::12', mac: '52:54:00:4c:57:21' });
    expect(r.private).toMatchObject({ ipv4: '192.0.2.12', ipv6: '2001:db8::12' });
    // AND the VIP range lies between the hosts and the client
    expect(CLUSTER_TOPOLOGY.vips.first).toBeGreaterThan(CLUSTER_TOPOLOGY.firstRealServer + CLUSTER_TOPOLOGY.maxRealServers - 1);
    expect(CLUSTER_TOPOLOGY.client.ipv4).toBe(`198.51.100.${CLUSTER_TOPOLOGY.vips.last + 1}`);
  });

  it('names every device on this machine after the first index, so two cluster labs can run side by side', () => {
    // GIVEN two cluster labs at first indexes 31 and 41 WHEN their devices are listed
    const a = planCluster(paths, options);
    const b = planCluster(labPaths('/tmp/other'), { ...options, first: 41 });
    const devices = (p: typeof a) => clusterDevices(p.cluster, [...p.directors, ...p.cluster.realServers]);
    // THEN none is shared, and every name fits a Linux interface name (15 characters)
    expect(devices(a).filter((x) => devices(b).includes(x))).toEqual([]);
    expect(devices(a)).toEqual([
      'link lvsfbr31',
      'link lvsfpr31',
      'link lvsfcv31',
      ...['lvsfs31', 'lvsfp31', 'lvsfs32', 'lvsfp32', 'lvsfs33', 'lvsfp33'].map((t) => `link ${t}`),
      'namespace lvsfcl31',
    ]);
    for (const d of devices(a)) expect(d.split(' ')[1]!.length).toBeLessThanOrEqual(15);
    expect(clusterNetworkNames(31).clientMac).toBe('52:54:00:4c:59:1f');
  });

  it('boots directors, then real servers, every one with systemd and a disk, and none forwarding (bare)', () => {
    // GIVEN a cluster of 1 director and 2 real servers from index 31 WHEN it is planned
    const { directors, cluster } = planCluster(paths, { ...options, skipModules: ['ip_vs_sh'] });
    // THEN the VM indexes follow each other, and every VM boots as a persistent director does
    expect([...directors, ...cluster.realServers].map((v) => [v.index, v.name, v.init, v.persistent, v.ipForward])).toEqual([
      [31, 'cluster-director-1', 'systemd', true, false],
      [32, 'cluster-rs-1', 'systemd', true, false],
      [33, 'cluster-rs-2', 'systemd', true, false],
    ]);
    expect(directors[0]!.skipModules).toEqual(['ip_vs_sh']);
    expect(cluster.realServers[0]!.skipModules).toEqual([]);
    expect(cluster.client).toEqual({ ipv4: '198.51.100.200', ipv6: '2001:db8:100::200', iface: 'eth0' });
  });

  it('refuses counts and indexes outside the plan, and single-guest options, before touching the machine', async () => {
    // GIVEN cluster shapes the address plan cannot hold WHEN they are planned THEN each is refused with the reason
    expect(() => planCluster(paths, { ...options, directors: 10 })).toThrow(/1\.\.9 directors; got 10/);
    expect(() => planCluster(paths, { ...options, realServers: 0 })).toThrow(/1\.\.9 real servers; got 0/);
    expect(() => planCluster(paths, { ...options, first: 63 })).toThrow(/cluster VMs 63\.\.65 are outside 1\.\.64/);
    expect(planCluster(paths, { ...options, first: 62 }).cluster.realServers[1]!.index).toBe(64);
    // AND labUp refuses the lab's own init in a cluster, and real servers without one, before any check of this host
    const dir = join(paths.dir, 'never');
    await expect(labUp({ dir, cluster: true, init: 'lab' })).rejects.toMatchObject({ code: 'LVS_LAB_BAD_OPTIONS' });
    await expect(labUp({ dir, realServers: 2 })).rejects.toMatchObject({ code: 'LVS_LAB_BAD_OPTIONS', message: expect.stringContaining('cluster') });
    await expect(labUp({ dir, privateRealServers: true })).rejects.toMatchObject({ code: 'LVS_LAB_BAD_OPTIONS', message: expect.stringContaining('cluster') });
    // AND forwarding, which a cluster's directors boot without (it is lvsform's to turn on), either way
    for (const ipForward of [true, false]) {
      await expect(labUp({ dir, cluster: true, ipForward })).rejects.toMatchObject({
        code: 'LVS_LAB_BAD_OPTIONS',
        message: expect.stringContaining('forwarding off'),
        hint: expect.stringContaining('setup: { ipForward: true }'),
      });
    }
  });

  it('with private real servers, gives them no card on the shared segment: their private card alone, named eth2 by their set-up', () => {
    // GIVEN a cluster whose real servers sit on the private segment only
    const { directors, cluster } = planCluster(paths, { ...options, privateRealServers: true });
    const rs = cluster.realServers[0]!;
    // WHEN its devices, a real server's QEMU arguments and kernel command line are made
    const devices = clusterDevices(cluster, [...directors, ...cluster.realServers]);
    const args = qemuArgs(paths, rs, 512, boot);
    const line = kernelArgs(paths, rs, boot).split(' ');
    // THEN the director keeps both segments' taps and each real server has its private tap only
    expect(devices.filter((d) => /^link lvsf[sp]\d/.test(d))).toEqual(['link lvsfs31', 'link lvsfp31', 'link lvsfp32', 'link lvsfp33']);
    expect([directors[0]!.shared?.ipv4, rs.shared, rs.private?.ipv4]).toEqual(['198.51.100.1', undefined, '192.0.2.11']);
    expect(args.filter((a) => a.startsWith('virtio-net-pci'))).toEqual([
      'virtio-net-pci,netdev=n0,mac=52:54:00:4c:56:20',
      'virtio-net-pci,netdev=n1,mac=52:54:00:4c:58:20',
    ]);
    expect(args.filter((a) => a.startsWith('tap,'))).toEqual([
      'tap,id=n0,ifname=lvsftap32,script=no,downscript=no',
      'tap,id=n1,ifname=lvsfp32,script=no,downscript=no',
    ]);
    // AND its init is told its private address and no shared one (cluster-setup.sh renames the card eth2)
    expect(line).toEqual(expect.arrayContaining(['lvsform_role=real-server', 'lvsform_private=192.0.2.11,2001:db8::11']));
    expect(line.filter((a) => a.startsWith('lvsform_shared='))).toEqual([]);
    // AND the facts say so: real servers without a shared card, directors with theirs
    const facts = clusterFactsOf(state(directors, cluster));
    expect(facts.privateRealServers).toBe(true);
    expect(facts.realServers.map((r) => [r.name, r.shared, r.private.ipv4, r.privateAlias])).toEqual([
      ['cluster-rs-1', undefined, '192.0.2.11', 'cluster-rs-1-private'],
      ['cluster-rs-2', undefined, '192.0.2.12', 'cluster-rs-2-private'],
    ]);
    expect(facts.directors[0]!.shared.iface).toBe('eth1');
  });
});

describe("a cluster VM's QEMU command line", () => {
  it('gives it three cards in order (management, shared, private) and tells its init its role and addresses', () => {
    // GIVEN real server 1 of a cluster from index 31
    const rs = planCluster(paths, options).cluster.realServers[0]!;
    // WHEN its QEMU arguments and kernel command line are made
    const args = qemuArgs(paths, rs, 512, boot);
    const line = kernelArgs(paths, rs, boot).split(' ');
    // THEN the taps come in PCI order (eth0, eth1, eth2 in the guest) with the plan's MACs, and a disk is attached
    expect(args.filter((a) => a.startsWith('tap,'))).toEqual([
      'tap,id=n0,ifname=lvsftap32,script=no,downscript=no',
      'tap,id=n1,ifname=lvsfs32,script=no,downscript=no',
      'tap,id=n2,ifname=lvsfp32,script=no,downscript=no',
    ]);
    expect(args.filter((a) => a.startsWith('virtio-net-pci'))).toEqual([
      'virtio-net-pci,netdev=n0,mac=52:54:00:4c:56:20',
      'virtio-net-pci,netdev=n1,mac=52:54:00:4c:57:20',
      'virtio-net-pci,netdev=n2,mac=52:54:00:4c:58:20',
    ]);
    expect(args).toContain('-drive');
    expect(line).toEqual(
      expect.arrayContaining([
        'lvsform_systemd=1',
        'lvsform_persist=1',
        'lvsform_role=real-server',
        'lvsform_name=cluster-rs-1',
        'lvsform_shared=198.51.100.11,2001:db8:100::11',
        'lvsform_private=192.0.2.11,2001:db8::11',
      ]),
    );
  });

  it("leaves a single-guest director's command line as it was: one card, no role", () => {
    // GIVEN director 2 of the single-guest lab WHEN its arguments are made
    const d: LabVm = { ...directorAddresses(2), skipModules: [], ipForward: true, vmPid: null, controlMasterPid: null, controlPath: '/c', consoleLog: '/l' };
    // THEN it has its management card only, and its init gets no cluster settings
    expect(qemuArgs(paths, d, 512, boot).filter((a) => a.startsWith('virtio-net-pci'))).toEqual(['virtio-net-pci,netdev=n0,mac=52:54:00:4c:56:02']);
    expect(kernelArgs(paths, d, boot)).not.toMatch(/lvsform_(role|name|shared|private)=/);
  });
});

describe("a cluster lab's ssh config", () => {
  it('reaches each real server on its management address, and on its private address through the first director', () => {
    // GIVEN a cluster of two directors and two real servers WHEN its ssh config is written
    const { directors, cluster } = planCluster(paths, { ...options, directors: 2 });
    const config = renderSshConfig(paths, [...directors, ...cluster.realServers]);
    // THEN a real server has a second entry that jumps through director 1 and checks the same host key
    expect(config).toContain(
      ['Host cluster-rs-1-private', '  HostName 192.0.2.11', '  HostKeyAlias cluster-rs-1', '  ProxyJump cluster-director-1', '  User root'].join('\n'),
    );
    expect(config).toContain('Host cluster-rs-1\n  HostName 203.0.113.130\n');
    // AND directors, and a single-guest lab, have one entry each
    expect(config.match(/^Host /gm)).toHaveLength(6);
    expect(renderSshConfig(paths, [directorAddresses(1)]).match(/^Host /gm)).toEqual(['Host ']);
  });
});

describe("a cluster lab's facts", () => {
  it('name every VM with its ssh alias and cards, the client namespace and the bridges', () => {
    // GIVEN the state of a cluster lab
    const { directors, cluster } = planCluster(paths, options);
    const s = state(directors, cluster);
    // WHEN its facts are taken
    const facts = clusterFactsOf(s);
    // THEN they say how to reach each VM and where each sits on the segments
    expect(facts.client).toEqual({ namespace: 'lvsfcl31', iface: 'eth0', ipv4: '198.51.100.200', ipv6: '2001:db8:100::200', mac: '52:54:00:4c:59:1f' });
    expect([facts.sharedBridge, facts.privateBridge]).toEqual(['lvsfbr31', 'lvsfpr31']);
    expect(facts.privateRealServers).toBe(false);
    expect(facts.realServers.map((r) => [r.name, r.alias, r.sshConfig, r.managementAddress, r.shared?.ipv4, r.private.ipv4])).toEqual([
      ['cluster-rs-1', 'cluster-rs-1', paths.sshConfig, '203.0.113.126', '198.51.100.11', '192.0.2.11'],
      ['cluster-rs-2', 'cluster-rs-2', paths.sshConfig, '203.0.113.130', '198.51.100.12', '192.0.2.12'],
    ]);
    expect(facts.directors.map((d) => [d.role, d.privateAlias])).toEqual([['director', undefined]]);
    expect(facts.realServers.map((r) => r.privateAlias)).toEqual(['cluster-rs-1-private', 'cluster-rs-2-private']);
    // AND exec and reboot find a real server by name, as they find a director
    expect(labVms(s).map((v) => v.name)).toEqual(['cluster-director-1', 'cluster-rs-1', 'cluster-rs-2']);
    expect(findDirector(s, 'cluster-rs-2').index).toBe(33);
    expect(() => findDirector(s, 'cluster-rs-3')).toThrow(/no lab machine "cluster-rs-3".*cluster-director-1, cluster-rs-1, cluster-rs-2/);
  });

  it('are refused for a single-guest lab, with how to boot a cluster', () => {
    // GIVEN the state of a single-guest lab WHEN cluster facts are asked for THEN the error says what to do
    const d: LabVm = { ...directorAddresses(1), skipModules: [], ipForward: true, vmPid: null, controlMasterPid: null, controlPath: '/c', consoleLog: '/l' };
    expect(() => clusterFactsOf(state([d]))).toThrow(expect.objectContaining({ code: 'LVS_LAB_NOT_CLUSTER', hint: expect.stringContaining('--cluster') }));
  });
});
