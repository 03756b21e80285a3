import { existsSync } from 'node:fs';
import { execa } from 'execa';
import type { DirectorAddresses } from './addresses.ts';

export function tapExists(tap: string): boolean {
  return existsSync(`/sys/class/net/${tap}`);
}

/** Creates each director's tap (persistent, host side addressed, up) in one `ip -batch`. */
export async function createTaps(directors: readonly DirectorAddresses[]): Promise<void> {
  const lines = directors.flatMap((d) => [
    `tuntap add dev ${d.tap} mode tap`,
    `addr add ${d.hostAddress}/${d.prefixLength} dev ${d.tap}`,
    `link set ${d.tap} up`,
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
