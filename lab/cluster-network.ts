import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { LvsError } from '../providers/ipvs/model/errors.ts';
import { CLUSTER_TOPOLOGY } from './cluster-addresses.ts';
import { signal, waitGone } from './processes.ts';
import { type LabCluster, type LabVm, segmentCards } from './state.ts';

/** Whether a network namespace of that name exists on this machine. */
export function namespaceExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`);
}

/** What a cluster lab makes on this machine (besides the management taps), as `link NAME` and `namespace NAME`. */
export function clusterDevices(cluster: LabCluster, vms: readonly LabVm[]): string[] {
  const links = [cluster.sharedBridge, cluster.privateBridge, cluster.clientVeth, ...segmentTaps(vms)];
  return [...links.map((l) => `link ${l}`), `namespace ${cluster.clientNamespace}`];
}

/** Whether a `link NAME` or `namespace NAME` of `clusterDevices` exists on this machine. */
export function deviceExists(device: string): boolean {
  const [kind, name] = device.split(' ');
  return kind === 'namespace' ? namespaceExists(name ?? '') : existsSync(`/sys/class/net/${name}`);
}

/** The links and namespace of a cluster lab that exist on this machine (before `lab up` and after `lab down`: none). */
export function clusterDevicesPresent(cluster: LabCluster, vms: readonly LabVm[]): string[] {
  return clusterDevices(cluster, vms).filter(deviceExists);
}

function segmentTaps(vms: readonly LabVm[]): string[] {
  return vms.flatMap((v) => segmentCards(v).map((c) => c.nic.tap));
}

/**
 * Builds the cluster's two segments on this machine in one `ip -batch`: a bridge each (no STP, so ports forward at
 * once; no multicast snooping, which without a querier could starve IPv6 neighbour discovery), every VM's tap on
 * each, and the client namespace joined to the shared bridge by a veth. No address of this machine is on any of them
 * (`addrgenmode none`: not even an IPv6 link-local address), so this machine routes nothing into the lab and answers
 * no ARP there: the segments belong to the guests and the client.
 */
export async function createClusterNetwork(cluster: LabCluster, vms: readonly LabVm[]): Promise<void> {
  const bridges = [cluster.sharedBridge, cluster.privateBridge];
  const ports = vms.flatMap((v) =>
    segmentCards(v).map((c) => ({ link: c.nic.tap, bridge: c.segment === 'shared' ? cluster.sharedBridge : cluster.privateBridge })),
  );
  const host = [
    ...bridges.flatMap((b) => [`link add ${b} type bridge stp_state 0 forward_delay 0 mcast_snooping 0`, `link set ${b} addrgenmode none`, `link set ${b} up`]),
    ...ports.flatMap((p) => [`tuntap add dev ${p.link} mode tap`, `link set ${p.link} addrgenmode none master ${p.bridge} up`]),
    `netns add ${cluster.clientNamespace}`,
    `link add ${cluster.clientVeth} type veth peer name ${cluster.client.iface} netns ${cluster.clientNamespace}`,
    `link set ${cluster.clientVeth} addrgenmode none master ${cluster.sharedBridge} up`,
  ];
  const { shared } = CLUSTER_TOPOLOGY;
  const client = [
    'link set lo up',
    `link set ${cluster.client.iface} address ${cluster.clientMac}`,
    `addr add ${cluster.client.ipv4}/${shared.ipv4Prefix} dev ${cluster.client.iface}`,
    `addr add ${cluster.client.ipv6}/${shared.ipv6Prefix} dev ${cluster.client.iface} nodad`,
    `link set ${cluster.client.iface} up`,
  ];
  for (const [args, lines] of [
    [['-batch', '-'], host],
    [['-n', cluster.clientNamespace, '-batch', '-'], client],
  ] as const) {
    const r = await execa('ip', [...args], { input: `${lines.join('\n')}\n`, reject: false });
    if (r.exitCode !== 0) {
      throw new LvsError('LVS_LAB_NETWORK_FAILED', `the cluster's network on this machine could not be made: ${String(r.stderr).trim()}`, {
        hint: 'the cluster lab needs bridges, veth pairs and network namespaces on this machine (root, and a kernel with bridge and veth)',
      });
    }
  }
}

/**
 * Removes what `createClusterNetwork` made, whatever of it exists: first the processes still running in the client
 * namespace (deleting a namespace does not end them, and a later `lab up` would find it busy), then the namespace
 * (with it the veth pair), the bridges and the VMs' segment taps.
 */
export async function deleteClusterNetwork(cluster: LabCluster, vms: readonly LabVm[]): Promise<void> {
  if (namespaceExists(cluster.clientNamespace)) {
    const pids = await namespacePids(cluster.clientNamespace);
    for (const pid of pids) signal(pid, 'SIGKILL');
    await waitGone(pids, 5_000);
    await execa('ip', ['netns', 'del', cluster.clientNamespace], { reject: false });
  }
  const links = [cluster.clientVeth, cluster.sharedBridge, cluster.privateBridge, ...segmentTaps(vms)].filter((l) => existsSync(`/sys/class/net/${l}`));
  if (links.length === 0) return;
  await execa('ip', ['-force', '-batch', '-'], { input: `${links.map((l) => `link del dev ${l}`).join('\n')}\n`, reject: false });
}

async function namespacePids(name: string): Promise<number[]> {
  const r = await execa('ip', ['netns', 'pids', name], { reject: false });
  return String(r.stdout)
    .split(/\s+/)
    .filter((p) => /^\d+$/.test(p))
    .map(Number);
}

/**
 * A warning when this machine's own firewall would see the lab's bridged frames and could drop them: with
 * br_netfilter loaded and `bridge-nf-call-iptables` on, bridged IPv4 passes the FORWARD chain of this machine.
 */
export async function bridgeFirewallWarning(): Promise<string | undefined> {
  const call = (await readFile('/proc/sys/net/bridge/bridge-nf-call-iptables', 'utf8').catch(() => '0')).trim();
  if (call !== '1') return undefined;
  const r = await execa('iptables', ['-S', 'FORWARD'], { reject: false });
  const policy = /^-P FORWARD (\S+)/m.exec(String(r.stdout))?.[1];
  if (policy === undefined || policy === 'ACCEPT') return undefined;
  return `bridged frames pass this machine's iptables FORWARD chain (net.bridge.bridge-nf-call-iptables=1), whose policy is ${policy}: the cluster's traffic may be dropped`;
}
