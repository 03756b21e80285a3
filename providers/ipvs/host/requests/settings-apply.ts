/**
 * `settings-apply`: one phase of director-setting changes (`before` the batch: links, added addresses, sysctls,
 * timeouts; `after` it: removed addresses and links), then a read-back of what they touched (settings-chunk.ts).
 *
 * A change that does not hold is not thrown from the parser: the reply carries it as `error` (LVS_SETTINGS_FAILED)
 * beside what was read back, so that the other requests of the round trip (the batch, its verification) keep their
 * replies and the ownership record says what was really changed. Only an answer that ended early fails the round trip.
 */
import { settingPhase, type LiveSettings, type SettingChange } from '../../model/director-settings.ts';
import { checkSettingsApply, readBackQuery, SettingsFailedError, settingsApplyChunk, settingsApplyFrom } from '../settings-chunk.ts';
import type { RequestKind } from './kind.ts';

export interface SettingsApplyRequest {
  readonly kind: 'settings-apply';
  /** The plan's setting changes; only those of `phase` are carried out. */
  readonly changes: readonly SettingChange[];
  readonly phase: 'before' | 'after';
}

export interface SettingsApplyReply {
  readonly kind: 'settings-apply';
  /** What the read-back shows of the settings the phase touched. */
  readonly after: LiveSettings;
  /** Set when a step failed or the read-back does not show a change. */
  readonly error?: SettingsFailedError;
}

function phaseChanges(req: SettingsApplyRequest): SettingChange[] {
  return req.changes.filter((c) => settingPhase(c) === req.phase);
}

export const settingsApply: RequestKind<SettingsApplyRequest, SettingsApplyReply> = {
  script: (req, tag) => {
    const mine = phaseChanges(req);
    return settingsApplyChunk(tag, mine, req.phase, readBackQuery(mine));
  },
  parse: (req, sections, ctx) => {
    const mine = phaseChanges(req);
    try {
      // Throws LVS_HOST_OUTPUT when the answer ended early (nothing was read back).
      return { kind: 'settings-apply', after: checkSettingsApply(ctx.target, mine, settingsApplyFrom(sections, readBackQuery(mine), ctx.where)) };
    } catch (e) {
      if (e instanceof SettingsFailedError) return { kind: 'settings-apply', after: e.after, error: e };
      throw e;
    }
  },
};
