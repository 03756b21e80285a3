import { existsSync } from 'node:fs';
import { execa } from 'execa';
import type { DirectorAddresses } from './addresses.ts';
import { managementMac } from './cluster-addresses.ts';

export function tapExists(tap: string): boolean {
  return existsSync(`/sys/class/net/${tap}`);
}

/**
 * Creates each director's tap (persistent, up) in one `ip -batch`. The link is point to point: the host gets one /32
 * route to the guest's address and nothing wider, so a lab can never capture traffic this machine sends to other
 * addresses of 203.0.113.0/24 (some sandboxes put their package mirrors there). The guest's MAC is fixed, so its
 * neighbour entry is permanent: a guest with `arp_ignore=1` on `all` (a direct-routing real server) does not answer
 * ARP for a peer address (the kernel's check wants the asker in the address's subnet, and a /32 peer's is the peer),
 * and without the entry this machine loses the guest once its entry goes stale.
 */
export async function createTaps(directors: readonly DirectorAddresses[]): Promise<void> {
  const lines = directors.flatMap((d) => [
    `tuntap add dev ${d.tap} mode tap`,
    `addr add ${d.hostAddress}/32 peer ${d.guestAddress}/32 dev ${d.tap}`,
    `link set ${d.tap} up`,
    `neigh replace ${d.guestAddress} lladdr ${managementMac(d.index)} dev ${d.tap} nud permanent`,
  ]);
  await execa('ip', ['-batch', '-'], { input: `${lines.join('\n')}\n` });
}

/** Deletes the taps that exist; quiet about the others. */
export async function deleteTaps(taps: readonly string[]): Promise<void> {
  const present = taps.filter(tapExists);
  if (present.length === 0) return;
  await execa('ip', ['-force', '-batch', '-'], {
    input: `${present.map((t) => `link del dev ${t}`).join('\n')}\n`,
    reject: false,
  });
}
