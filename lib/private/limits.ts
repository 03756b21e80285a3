/**
 * The construct library's limits and names, in one place. The provider keeps its own copy
 * (providers/ipvs/model/limits.ts), because the synthesized JSON is the only thing the two sides share; a unit test holds
 * the two copies equal.
 */

/** Characters safe in a shell word and a file name: the rule for director and stack names. */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** The kernel's and ipvsadm's bound for weights and thresholds (INT_MAX; measured: 2147483648 is refused). */
export const INT_MAX = 2_147_483_647;

/** ipvsadm's bound on `-p TIMEOUT` (MAX_TIMEOUT: 31 days, in seconds). */
export const MAX_PERSISTENCE_TIMEOUT = 86_400 * 31;

/**
 * The schedulers of the kernel's tree (net/netfilter/ipvs/ip_vs_*.c): those of the 6.1 kernel, and `twos` (6.2).
 * keepalived 2.2.7 accepts the same names. A live table may name another (a newer kernel's), kept as text.
 */
export const SCHEDULERS: readonly string[] = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'];

/** Scheduler flag names (`-b`) and the kernel bit each one sets. */
export const FLAG_BITS = {
  'flag-1': 'flag-1',
  'flag-2': 'flag-2',
  'flag-3': 'flag-3',
  'sh-fallback': 'flag-1',
  'sh-port': 'flag-2',
  'mh-fallback': 'flag-1',
  'mh-port': 'flag-2',
} as const;

/** Real-server fields a health checker may own at run time (`runtimeManaged`), sorted as synthesized. */
export const RUNTIME_MANAGED_FIELDS = ['thresholds', 'weight'] as const;
