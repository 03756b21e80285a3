/**
 * `lock`: takes the director's lock on file descriptor 9 of the session's shell. The kernel releases it when the shell
 * ends, whatever ends it (a finished run, a dropped connection, a killed process). A refused lock fails the round
 * trip (LVS_LOCKED, LVS_NO_FLOCK, LVS_NOT_ROOT); with `underLock`, nothing after it ran.
 */
import { hostname, userInfo } from 'node:os';
import { LvsError } from '../../model/errors.ts';
import { STATE_DIR } from '../host-script.ts';
import { hostKind, sudoersLine } from '../../model/host-target.ts';
import { section } from '../sections.ts';
import { shQuote } from '../shell-quote.ts';
import type { ReplyContext, RequestKind } from './kind.ts';

export interface LockRequest {
  readonly kind: 'lock';
  readonly exclusive: boolean;
  /** Seconds to wait for another run's lock; 0 = fail at once. */
  readonly waitSeconds: number;
  /** Who holds it, for `force-unlock` and "locked by" messages (one line, no secrets). */
  readonly holder: string;
}

/** The lock a run of `operation` (`apply`, `plan`, `state rm`, `import --adopt`, …) asks for, its holder line naming it. */
export function lockRequest(operation: string, exclusive: boolean, waitSeconds = 0): LockRequest {
  return { kind: 'lock', exclusive, waitSeconds, holder: holderLine(operation) };
}

/** Who holds the lock: the operation, the user and machine, the process and the time. */
function holderLine(operation: string): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry (containers): keep 'unknown' */
  }
  return `${operation} by ${user}@${hostname()} pid ${process.pid} at ${new Date().toISOString()}`;
}

export interface LockReply {
  readonly kind: 'lock';
}

const OK = '@@lock ok';
const BUSY = '@@lock busy';
const NO_FLOCK = '@@lock noflock';
const DENIED = '@@lock denied';

/**
 * Prints `@@lock ok` (and sets `lvs_lock_ok=1` for what follows), `@@lock busy` followed by the holder's line,
 * `@@lock noflock`, or `@@lock denied USER` when the login cannot write the state directory.
 */
export function lockChunk(req: Omit<LockRequest, 'kind'>): string {
  const mode = req.exclusive ? '-x' : '-s';
  const holder = req.holder.replace(/[\r\n\0]/g, ' ');
  return [
    `if ! command -v flock >/dev/null 2>&1; then echo "${NO_FLOCK}"`,
    // A login that is not root (and no sudo) cannot write the state directory: say so before `exec 9>>` would fail
    // and end the shell. Root passes this test without starting a process.
    // The directory is made private when it is made (no chmod on every run: a process each time); `lvsform doctor`
    // reports a state directory that someone else opened to other users.
    `elif ! { { [ -d "$lvs_dir" ] || mkdir -m 700 -p "$lvs_dir" 2>/dev/null; } && [ -w "$lvs_dir" ]; }; then echo "${DENIED} $(id -un 2>/dev/null)"; else`,
    '  exec 9>>"$lvs_dir/lock"',
    `  if flock ${mode} -w ${Math.max(0, Math.floor(req.waitSeconds))} 9; then`,
    `    printf '%s %s\\n' "$$" ${shQuote(`${req.exclusive ? 'exclusive' : 'shared'} ${holder}`)} > "$lvs_dir/lock.holder"`,
    `    lvs_lock_ok=1; echo "${OK}"`,
    '  else',
    `    echo "${BUSY}"; cat "$lvs_dir/lock.holder" 2>/dev/null`,
    '  fi',
    'fi',
  ].join('\n');
}

/**
 * Reads a lock's answer (the sh host's `answer` section, or what the read-only script prints before its sections).
 * @throws LvsError LVS_LOCKED, LVS_NO_FLOCK, LVS_NOT_ROOT, or LVS_HOST_OUTPUT for anything else.
 */
export function checkLockAnswer(answer: string, ctx: ReplyContext): LockReply {
  const { where, target } = ctx;
  const kind = hostKind(target);
  const out = answer.trim();
  if (out.startsWith(BUSY)) {
    const holder = out.split('\n').slice(1).join(' ').trim() || 'another run';
    throw new LvsError('LVS_LOCKED', `${kind} ${where} is locked by ${holder}`, {
      hint: target.readOnly
        ? 'Wait for that run to finish (or pass --lock-timeout SECONDS), then plan again.'
        : `Wait for that run to finish (or pass --lock-timeout SECONDS); if it was killed, run \`lvsform force-unlock ${target.name}\`.`,
    });
  }
  if (out.startsWith(NO_FLOCK)) {
    throw new LvsError('LVS_NO_FLOCK', `${kind} ${where} has no \`flock\` command`, {
      hint: target.readOnly ? `Install util-linux on the ${kind}.` : `Install util-linux on the ${kind}; lvsform never changes a ${kind} without its lock.`,
    });
  }
  if (out.startsWith(DENIED)) {
    const user = out.slice(DENIED.length).trim() || 'the login user';
    throw new LvsError('LVS_NOT_ROOT', `${kind} ${where}: ${user} is not root and cannot write ${STATE_DIR}; nothing was changed`, {
      hint: `Connect as root, or give the ${target.role === 'real-server' ? 'RealServerHost' : 'Director'} ssh: { user: '${user}', sudo: true } with the sudoers rule \`${sudoersLine(user)}\` on the ${kind}.`,
    });
  }
  if (!out.startsWith(OK)) {
    throw new LvsError(
      'LVS_HOST_OUTPUT',
      target.readOnly
        ? `${kind} ${where}: unexpected answer from the read script: ${ctx.stdout.slice(0, 200)}`
        : `${kind} ${where}: unexpected answer while locking: ${out.slice(0, 200)}`,
    );
  }
  return { kind: 'lock' };
}

export const lock: RequestKind<LockRequest, LockReply> = {
  script: (req, tag) => `${section(tag, 'answer')}\n${lockChunk(req)}`,
  parse: (_req, sections, ctx) => checkLockAnswer(sections.get('answer') ?? '', ctx),
};
