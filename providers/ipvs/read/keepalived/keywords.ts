import { editDistance } from '../../model/closest.ts';

/**
 * The keywords keepalived 2.2.7 reads at the top of a configuration: every `install_keyword_root()` of its source
 * (lib/parser.c, keepalived/core, vrrp, check, bfd), whatever the build. keepalived logs any other word there as
 * `Unknown keyword '...'` and goes on without it; so does the import, with a warning.
 */
export const ROOT_KEYWORDS: ReadonlySet<string> = new Set([
  'SSL',
  'bfd_instance',
  'child_wait_time',
  'garp_group',
  'global_defs',
  'instance',
  'interface_up_down_delays',
  'linkbeat_interfaces',
  'linkbeat_use_polling',
  'namespace_with_ipsets',
  'net_namespace',
  'net_namespace_ipvs',
  'static_ipaddress',
  'static_routes',
  'static_rules',
  'track_file',
  'track_group',
  'use_pid_dir',
  'virtual_server',
  'virtual_server_group',
  'vrrp_instance',
  'vrrp_script',
  'vrrp_sync_group',
  'vrrp_track_file',
  'vrrp_track_process',
]);

/** The top-level words that declare IPVS services. */
export const SERVICE_WORDS: ReadonlySet<string> = new Set(['virtual_server', 'virtual_server_group']);

/** The words that declare IPVS services and real servers: outside their places (the top, a virtual_server) keepalived reads none of them. */
export const IPVS_WORDS: ReadonlySet<string> = new Set([...SERVICE_WORDS, 'real_server']);

/** The root keyword `word` most likely misspells (another case, or at most two letters off), if any. */
export function likelyKeyword(word: string): string | undefined {
  const lower = word.toLowerCase();
  let best: { keyword: string; distance: number } | undefined;
  for (const keyword of ROOT_KEYWORDS) {
    const distance = editDistance(lower, keyword.toLowerCase());
    if (distance <= Math.min(2, keyword.length >> 2) && (best === undefined || distance < best.distance)) best = { keyword, distance };
  }
  return best?.keyword;
}
