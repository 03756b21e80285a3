/**
 * Which flags each mode of plan, apply and destroy honours, written once as a table. A flag given to a mode that
 * would not do what it asks (`--no-drain` with a saved plan, which drains as it was planned; `--adopt` with
 * `--destroy`) is refused with one LVS_USAGE error naming every such flag, before anything is synthesized, read or
 * changed, instead of being silently ignored. A flag whose request a mode already meets is accepted: a saved plan never
 * asks (`--auto-approve`) and never runs the app (`--no-synth`).
 */
import type { Command } from 'commander';
import { LvsError } from '../providers/ipvs/model/errors.ts';

export type Mode = 'plan' | 'plan --destroy' | 'plan --refresh-only' | 'apply' | 'apply PLANFILE' | 'destroy';

/** Options of every mode that reaches directors: which stack and directors, and how they are reached. */
const REACH = ['stack', 'director', 'connectTimeout', 'parallelism', 'lockTimeout', 'acceptNewHostKey'] as const;
/** Options of every mode that plans from the app. */
const FROM_APP = ['synth', 'refresh'] as const;
/** Options of every mode that may delete real servers. */
const DELETES = ['drain', 'drainTimeout'] as const;
const GUARDS = ['target', 'maxDeletes', 'allowDeletes'] as const;

interface ModeRule {
  /** Option attribute names (commander's: `--no-drain` is `drain`) this mode honours. */
  readonly accepts: readonly string[];
  /** Why the others do nothing here: the end of the error message. */
  readonly why: string;
  readonly hint: string;
}

export const MODES: Readonly<Record<Mode, ModeRule>> = {
  plan: {
    accepts: [...REACH, ...FROM_APP, ...DELETES, ...GUARDS, 'out', 'json', 'markdown', 'detailedExitcode', 'adopt'],
    why: '',
    hint: '',
  },
  'plan --destroy': {
    accepts: [...REACH, ...FROM_APP, ...DELETES, ...GUARDS, 'out', 'json', 'markdown', 'detailedExitcode', 'destroy'],
    why: 'a destroy plan removes the services the stack owns; it takes nothing over and proposes what it removes',
    hint: 'Plan the destroy and the other request in two runs.',
  },
  'plan --refresh-only': {
    accepts: [...REACH, ...FROM_APP, 'out', 'json', 'markdown', 'detailedExitcode', 'refreshOnly'],
    why: 'a refresh-only plan reports drift and proposes no change, so it adopts, drains, targets and deletes nothing',
    hint: 'Drop --refresh-only to plan changes with these flags.',
  },
  apply: {
    accepts: [...REACH, ...FROM_APP, ...DELETES, ...GUARDS, 'autoApprove', 'adopt', 'json'],
    why: '',
    hint: '',
  },
  // A saved plan carries its targets, drains, adoptions and way of reading the table; `--max-deletes` still guards it.
  'apply PLANFILE': {
    accepts: [...REACH, 'synth', 'maxDeletes', 'allowDeletes', 'autoApprove', 'json'],
    why: 'a saved plan is applied exactly as it was made (its targets, drains, drain timeout, adoptions and way of reading the table included)',
    hint: 'Give these flags to the plan instead: `lvsform plan … --out FILE`, then `lvsform apply FILE`.',
  },
  destroy: {
    accepts: [...REACH, ...FROM_APP, ...DELETES, 'autoApprove', 'json'],
    why: '',
    hint: '',
  },
};

/** Flags that do something only beside another: attribute name → the one it needs, and why. */
export const NEEDS: Readonly<Record<string, { readonly option: string; readonly why: string; readonly hint: string }>> = {
  allowDeletes: {
    option: 'maxDeletes',
    why: 'it lifts the limit of --max-deletes, and there is none without it',
    hint: 'Pass --max-deletes N with it, or leave it out.',
  },
};

/** The options given on the command line (not defaults): attribute name → the flag as a person writes it. */
export function givenFlags(cmd: Command): Map<string, string> {
  const out = new Map<string, string>();
  for (const o of cmd.options) {
    const key = o.attributeName();
    if (cmd.getOptionValueSource(key) === 'cli') out.set(key, o.long ?? o.flags);
  }
  return out;
}

/**
 * Refuses, with one LVS_USAGE error, the flags `mode` would not honour, and those given without the flag they need.
 * `label` names the mode in the message (`the saved plan p.plan`).
 */
export function checkFlags(mode: Mode, given: ReadonlyMap<string, string>, label: string = mode): void {
  const rule = MODES[mode];
  const refused = [...given].filter(([key]) => !rule.accepts.includes(key)).map(([, flag]) => flag);
  if (refused.length) {
    const flags = refused.length === 1 ? `${refused[0]} does nothing` : `${refused.slice(0, -1).join(', ')} and ${refused.at(-1)} do nothing`;
    throw new LvsError('LVS_USAGE', `${flags} with ${label}: ${rule.why}; nothing was read or changed`, { hint: rule.hint });
  }
  for (const [key, flag] of given) {
    const need = NEEDS[key];
    if (need && !given.has(need.option)) {
      throw new LvsError('LVS_USAGE', `${flag} does nothing here: ${need.why}; nothing was read or changed`, { hint: need.hint });
    }
  }
}
