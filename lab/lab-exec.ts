import { execa } from 'execa';
import { LvsError } from '../providers/ipvs/model/errors.ts';
import { shJoin, shQuote } from '../providers/ipvs/host/shell-quote.ts';
import { type LabState, findDirector, readLabState } from './state.ts';

export interface LabExecOptions {
  /** @default $LVSFORM_LAB_DIR or /tmp/lvsform-lab */
  readonly dir?: string;
  /** The lab state, when the caller has it (saves reading state.json). */
  readonly state?: LabState;
  /** Sent to the command's standard input. */
  readonly input?: string;
  /** @default 120000 */
  readonly timeoutMs?: number;
}

export interface LabExecResult {
  readonly stdout: string;
  readonly stderr: string;
  /** The command's exit code; 255 may also mean that ssh itself failed (see stderr). */
  readonly exitCode: number;
}

export async function requireLabState(dir?: string): Promise<LabState> {
  const state = await readLabState(dir);
  if (!state) {
    throw new LvsError('LVS_LAB_NOT_RUNNING', 'no lab is running (no state file)', { hint: 'start one: lvsform lab up' });
  }
  return state;
}

/**
 * Runs a command on a director over the lab's ssh config (multiplexed over its ControlMaster when one runs).
 * `command` is an argv (each word quoted for the remote shell) or a POSIX `sh` script.
 */
export async function labExec(director: string | number, command: readonly string[] | string, opts: LabExecOptions = {}): Promise<LabExecResult> {
  const state = opts.state ?? (await requireLabState(opts.dir));
  const d = findDirector(state, director);
  const remote = typeof command === 'string' ? `sh -c ${shQuote(command)}` : shJoin(command);
  const r = await execa('ssh', ['-F', state.sshConfig, d.alias, '--', remote], {
    input: opts.input ?? '',
    reject: false,
    timeout: opts.timeoutMs ?? 120_000,
    stripFinalNewline: false,
  });
  if (r.timedOut) {
    throw new LvsError('LVS_LAB_EXEC_TIMEOUT', `command on ${d.alias} took longer than ${opts.timeoutMs ?? 120_000} ms`);
  }
  return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? 255 };
}
