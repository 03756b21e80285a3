/**
 * The provider's limits and names, in one place. The construct library keeps its own copy (lib/private/limits.ts),
 * because the synthesized JSON is the only thing the two sides share; a unit test holds the two copies equal.
 */
import type { Table } from './model.ts';

/**
 * A stack (or director) name: it names a file in the director's state directory (`/var/lib/lvsform/<stack>.json`)
 * and appears in shell commands, so it is a plain file name.
 */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** The kernel's and ipvsadm's bound for weights, thresholds and firewall marks read as signed ints: 2^31 - 1. */
export const INT_MAX = 2 ** 31 - 1;

/** ipvsadm's bound for `-p`: 31 days, in seconds. */
export const MAX_PERSISTENCE_TIMEOUT = 86_400 * 31;

/**
 * The schedulers of the kernel's tree (net/netfilter/ipvs/ip_vs_*.c): those of the 6.1 kernel, and `twos` (6.2).
 * keepalived 2.2.7 accepts the same names. A live table may name another (a newer kernel's), kept as text.
 */
export const SCHEDULERS: readonly string[] = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'];

/** Scheduler flag names and the kernel bit each one sets (`sh-port` is `flag-2`). */
export const FLAG_BITS: Readonly<Record<string, 'flag-1' | 'flag-2' | 'flag-3'>> = {
  'flag-1': 'flag-1',
  'flag-2': 'flag-2',
  'flag-3': 'flag-3',
  'sh-fallback': 'flag-1',
  'sh-port': 'flag-2',
  'mh-fallback': 'flag-1',
  'mh-port': 'flag-2',
};

/** The kernel modules a table needs on the director: ip_vs, one per scheduler, one per persistence engine. Sorted, unique. */
export function requiredModules(table: Table): string[] {
  const out = new Set<string>(['ip_vs']);
  for (const s of table.services) {
    out.add(`ip_vs_${s.config.scheduler}`);
    if (s.config.persistenceEngine) out.add(`ip_vs_pe_${s.config.persistenceEngine}`);
  }
  return [...out].sort();
}
