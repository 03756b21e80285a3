/** `unlock`: releases the lock before the shell ends, and forgets the holder line if it is this shell's. */
import type { RequestKind } from './kind.ts';

export interface UnlockRequest {
  readonly kind: 'unlock';
}

export interface UnlockReply {
  readonly kind: 'unlock';
}

/** The script; also the shell's last input when a session that took the lock closes (no answer is waited for). */
export function unlockChunk(): string {
  return [
    'lvs_holder=""; [ -f "$lvs_dir/lock.holder" ] && read -r lvs_holder lvs_rest < "$lvs_dir/lock.holder"',
    // The holder file is emptied by the shell's own redirection (no `rm` process); an empty holder file means no
    // holder, as a missing one does.
    'if [ "$lvs_holder" = "$$" ]; then : > "$lvs_dir/lock.holder"; fi',
    'exec 9>&- 2>/dev/null',
    'lvs_lock_ok=0',
    'true',
  ].join('\n');
}

export const unlock: RequestKind<UnlockRequest, UnlockReply> = {
  script: () => unlockChunk(),
  parse: () => ({ kind: 'unlock' }),
};
