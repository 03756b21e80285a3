/** `force-unlock`: frees the lock if its holder is gone, refuses while the holder process is alive. */
import { section } from '../sections.ts';
import type { RequestKind } from './kind.ts';

export interface ForceUnlockRequest {
  readonly kind: 'force-unlock';
}

/** What `force-unlock` found: no lock, a lock freed whose holder was gone, a live holder, or a lock still held. */
export type ForceUnlockReply = { readonly kind: 'force-unlock' } & (
  | { readonly found: 'none' }
  | { readonly found: 'freed' }
  | { readonly found: 'alive'; readonly holder: string }
  | { readonly found: 'held' }
);

export const forceUnlock: RequestKind<ForceUnlockRequest, ForceUnlockReply> = {
  script: (_req, tag) =>
    [
      section(tag, 'answer'),
      'if [ ! -s "$lvs_dir/lock.holder" ]; then echo "@@unlock none"; else',
      '  lvs_pid=$(cut -d" " -f1 "$lvs_dir/lock.holder")',
      '  case "$lvs_pid" in ""|*[!0-9]*) lvs_pid=0 ;; esac',
      '  if [ "$lvs_pid" -gt 0 ] && kill -0 "$lvs_pid" 2>/dev/null; then echo "@@unlock alive"; cat "$lvs_dir/lock.holder"; else',
      '    exec 9>>"$lvs_dir/lock"',
      '    if flock -x -n 9; then rm -f "$lvs_dir/lock.holder"; echo "@@unlock freed"; cat /dev/null; exec 9>&-; else',
      '      echo "@@unlock held"; fi',
      '  fi',
      'fi',
    ].join('\n'),
  parse: (_req, sections) => {
    const out = (sections.get('answer') ?? '').trim();
    if (out.startsWith('@@unlock none')) return { kind: 'force-unlock', found: 'none' };
    if (out.startsWith('@@unlock freed')) return { kind: 'force-unlock', found: 'freed' };
    if (out.startsWith('@@unlock alive')) return { kind: 'force-unlock', found: 'alive', holder: out.split('\n').slice(1).join(' ') };
    return { kind: 'force-unlock', found: 'held' };
  },
};
