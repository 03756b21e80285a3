/** `lvsform force-unlock`: frees a director's lock whose holder is gone; refuses while the holder lives. */
import { LvsError } from '../model/errors.ts';
import type { OpenDirectorHost } from '../host/director-host.ts';
import { openShDirectorHost } from '../host/sh-director-host.ts';
import type { SessionOptions } from '../host/transport.ts';
import { describeTarget, type HostTarget } from '../model/host-target.ts';

/** Resolves with what happened (`none`: it was not locked; `freed`); throws LVS_LOCK_HELD while a holder runs. */
export async function forceUnlockDirector(target: HostTarget, opts: SessionOptions & { readonly openHost?: OpenDirectorHost } = {}): Promise<'none' | 'freed'> {
  const host = (opts.openHost ?? openShDirectorHost)(target, opts);
  try {
    const [answer] = await host.exchange([{ kind: 'force-unlock' }]);
    const where = describeTarget(target);
    if (answer.found === 'none' || answer.found === 'freed') return answer.found;
    if (answer.found === 'alive') {
      throw new LvsError('LVS_LOCK_HELD', `${where} is locked by a live run: ${answer.holder}`, {
        hint: 'Let that run finish; force-unlock only frees locks whose holder is gone.',
      });
    }
    throw new LvsError('LVS_LOCK_HELD', `${where}: the lock is still held by another process`, { hint: 'Wait for it to finish.' });
  } finally {
    await host.close();
  }
}
