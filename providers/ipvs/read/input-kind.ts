/**
 * Which of the formats lvsform reads a line belongs to: saved rules (`ipvsadm -S -n`), an `ipvsadm -L -n` listing, a
 * keepalived configuration. Each reader refuses a file of another kind by name, with the option that reads it, and
 * they tell the kinds apart by these rules alone.
 */

/** The commands of an ipvsadm rule line (`-A` add service, `-a` add real server, and the edits a save never holds). */
export const SAVE_COMMANDS = ['-A', '-a', '-E', '-e', '-D', '-d', '-C'] as const;

/** A line of saved rules: it starts with one of their commands. */
export function looksLikeSavedRule(line: string): boolean {
  const first = line.trimStart().split(/\s/, 1)[0] ?? '';
  return (SAVE_COMMANDS as readonly string[]).includes(first);
}

/** A line of an `ipvsadm -L -n` listing: its header lines, or a service row (`TCP  198.51.100.10:80 rr`). */
export function looksLikeListing(line: string): boolean {
  return /^(IP Virtual Server version|Prot LocalAddress|-> RemoteAddress|(TCP|UDP|SCTP|FWM) +\S+ +\S+)/.test(line.trimStart());
}

/** A line that opens a keepalived configuration's block, or its comment. */
export function looksLikeKeepalived(line: string): boolean {
  return /^(global_defs|virtual_server|virtual_server_group|vrrp_instance|vrrp_sync_group|include|real_server|!)(\s|\{|$)/.test(line.trimStart());
}
