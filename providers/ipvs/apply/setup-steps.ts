/**
 * Host set-up around an apply (plan/host-setup.ts plans it): the facts request it is planned from, and what the
 * answers of the `setup` and `save-rules` requests mean: a failed step fails the director before its batch; a table
 * that could not be saved for the next boot fails it after.
 */
import { LvsError } from '../model/errors.ts';
import type { Table } from '../model/model.ts';
import { factsQuery } from '../plan/host-setup.ts';
import type { SetupItem } from '../model/host-setup.ts';
import type { SettingChange } from '../model/director-settings.ts';
import { describeTarget, type HostTarget } from '../model/host-target.ts';
import type { FactsRequest, SaveRulesReply, SetupReply } from '../host/requests/index.ts';

/** The facts read for a director's set-up (a plan user adds the read script and its sudoers file). */
export function factsRequest(stack: string, desired: Table, target: HostTarget): FactsRequest {
  // The director settings' boot unit is read too, so that a plan can remove it once nothing needs it; a read-only run
  // refuses an app that manages settings, and its installed read script lists only the set-up's own files.
  return { kind: 'facts', stack, query: factsQuery(stack, desired, target.ssh?.planUser, !target.readOnly) };
}

/** The items carried out before the batch (all but the saved table). */
export function itemsBeforeBatch(items: readonly SetupItem[]): SetupItem[] {
  return items.filter((i) => i.kind !== 'rules');
}

/**
 * Whether an apply writes (or removes) a file the next boot reads: a set-up file, a unit enabled or disabled, the
 * saved table, lvsform's keepalived file. Such an apply ends with `sync` (requests/sync.ts), so that a power failure
 * right after it does not boot the host with the files of before.
 */
export function writesBootFiles(items: readonly SetupItem[], settings: readonly SettingChange[] = []): boolean {
  return items.some((i) => i.kind === 'file' || i.kind === 'boot-service' || i.kind === 'rules') || settings.some((c) => c.kind === 'keepalived');
}

/**
 * What a `setup` answer means.
 * @throws LvsError `LVS_SETUP_FAILED` naming the steps that failed and what the host said.
 */
export function checkSetup(target: HostTarget, reply: SetupReply): void {
  const where = describeTarget(target);
  if (reply.failed.length > 0) {
    const said = reply.log ? `; the host said: ${reply.log.split('\n').slice(-5).join(' | ')}` : '';
    throw new LvsError('LVS_SETUP_FAILED', `director ${where}: host set-up failed: ${reply.failed.join('; ')}${said}`, {
      hint: 'The IPVS table was not changed. Fix the cause on the director (or turn that part of the Director `setup` off) and apply again.',
    });
  }
}

/**
 * What a `save-rules` answer means.
 * @throws LvsError `LVS_SETUP_FAILED` when the file could not be written.
 */
export function checkSaveRules(target: HostTarget, item: SetupItem, reply: SaveRulesReply): 'written' | 'unchanged' {
  if (reply.outcome !== 'failed') return reply.outcome;
  throw new LvsError('LVS_SETUP_FAILED', `director ${describeTarget(target)}: could not save the table to ${item.name}: ${reply.said}`, {
    hint: 'The table was applied and verified, but a reboot would not restore it. Check that the directory is writable and apply again.',
  });
}
