/**
 * Transports: how lvsform reaches a director's shell. One process per director per run: `sh -s` locally, or
 * `ssh … -- HOST sh -s` through the system's OpenSSH. The shell stays open for the whole run and reads script chunks
 * from its standard input, so the read, the batch, the read-back and the ownership record share one connection and
 * one lock, and nothing is ever put on a command line but fixed words and validated options.
 *
 * Each chunk ends by printing a marker line that carries a random per-session nonce and the chunk's exit status;
 * output from the host cannot forge it.
 */
import { randomBytes } from 'node:crypto';
import { execa, type ResultPromise } from 'execa';
import { LvsError } from '../model/errors.ts';

import { describeTarget, HOST_SHELL, sudoersLine, type HostTarget } from './host-target.ts';

export { describeTarget, type HostTarget, type SshTarget } from './host-target.ts';

export interface SessionOptions {
  /** Trust a host key seen for the first time (OpenSSH `accept-new`). Pinned keys only by default. */
  readonly acceptNewHostKey?: boolean;
  /** Seconds to wait for the TCP connection. @default 10 */
  readonly connectTimeout?: number;
}

export interface ChunkResult {
  readonly stdout: string;
  readonly status: number;
}

/**
 * What sudo says when it will not run the host script (no rule: it would ask for a password, which `-n` refuses), or
 * the remote shell when sudo is not installed (dash: `sh: 1: sudo: not found`; bash: `sudo: command not found`).
 * Other sudo warnings (`unable to resolve host`) do not count.
 */
export const SUDO_REFUSED =
  /sudo: a password is required|sudo: a terminal is required|is not in the sudoers file|is not allowed to (?:execute|run sudo)|\bsudo: (?:command )?not found/i;

const NAME_RE = /^[A-Za-z0-9_.:@%+\-[\]]+$/;

function checkWord(director: string, what: string, value: string): string {
  if (value.startsWith('-') || !NAME_RE.test(value)) {
    throw new LvsError('LVS_UNSAFE_VALUE', `director ${director}: ${what} ${JSON.stringify(value)} is not a valid ${what}`, {
      hint: `Use a plain ${what} (letters, digits, . - _ : and IPv6 brackets); it must not start with '-'.`,
    });
  }
  return value;
}

function checkPath(director: string, what: string, value: string): string {
  if (value.includes('\0') || value.includes('\n') || value === '') {
    throw new LvsError('LVS_UNSAFE_VALUE', `director ${director}: ${what} ${JSON.stringify(value)} is not a usable path`);
  }
  return value;
}

/**
 * The argv for `ssh`: the host's shell (`sh -s`, or sudo's), or with `remote`, those words (the read-only script's
 * fixed path and its checked arguments). A read-only target logs in as `ssh.planUser` when it has one.
 */
export function sshArgs(target: HostTarget, opts: SessionOptions = {}, remote?: readonly string[]): string[] {
  const ssh = target.ssh ?? {};
  const args: string[] = [];
  if (ssh.configFile) args.push('-F', checkPath(target.name, 'OpenSSH config file', ssh.configFile));
  args.push(
    '-T',
    '-o',
    'BatchMode=yes',
    '-o',
    `StrictHostKeyChecking=${opts.acceptNewHostKey ? 'accept-new' : 'yes'}`,
    '-o',
    `ConnectTimeout=${opts.connectTimeout ?? 10}`,
    '-o',
    'ServerAliveInterval=5',
    '-o',
    'ServerAliveCountMax=3',
    '-o',
    'LogLevel=ERROR',
  );
  if (ssh.port !== undefined) args.push('-p', String(ssh.port));
  const user = target.readOnly ? (ssh.planUser ?? ssh.user) : ssh.user;
  if (user !== undefined) args.push('-l', checkWord(target.name, 'user name', user));
  if (ssh.identityFile) args.push('-i', checkPath(target.name, 'identity file', ssh.identityFile), '-o', 'IdentitiesOnly=yes');
  if (ssh.knownHostsFile) args.push('-o', `UserKnownHostsFile=${checkPath(target.name, 'known-hosts file', ssh.knownHostsFile)}`);
  const host = ssh.alias ?? ssh.host;
  if (!host) {
    throw new LvsError('LVS_NO_TRANSPORT', `director ${target.name}: no host or alias to reach it over SSH`, {
      hint: 'Give the Director `ssh: { host }` or `ssh: { configFile, alias }`, or `local: true`.',
    });
  }
  // With sudo, `-n` makes sudo fail at once (never prompt) when the rule is missing or asks for a password.
  args.push('--', checkWord(target.name, 'host', host));
  if (remote) args.push(...remote);
  else args.push(ssh.sudo ? `sudo -n ${HOST_SHELL}` : 'sh -s');
  return args;
}

/**
 * An open shell on a director. `run` sends one chunk and resolves with everything it printed and its status.
 * Chunks run one at a time in the same shell, so shell state (the lock's file descriptor, variables) carries over.
 */
export class HostSession {
  readonly target: HostTarget;
  private readonly child: ResultPromise;
  private readonly nonce = randomBytes(12).toString('hex');
  private buffer = '';
  /** How far `buffer` has been searched for the end marker (a large read arrives in hundreds of pieces). */
  private searched = 0;
  private stderr = '';
  private exited: { code: number | undefined; signal: string | undefined } | undefined;
  private waiter: ((r: ChunkResult | Error) => void) | undefined;

  private constructor(target: HostTarget, child: ResultPromise) {
    this.target = target;
    this.child = child;
    // A write to a shell that has gone (refused connection, dropped link) fails with EPIPE: the exit handler below
    // reports it as what it is, so the stream's own error is not thrown at the process.
    child.stdin!.on('error', () => undefined);
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      this.buffer += d;
      this.pump();
    });
    child.stderr!.on('data', (d: string) => {
      this.stderr += d;
      if (this.stderr.length > 64_000) this.stderr = this.stderr.slice(-32_000);
    });
    child.then(
      (r) => this.onExit(r.exitCode, r.signal),
      (e: { exitCode?: number; signal?: string }) => this.onExit(e.exitCode, e.signal),
    );
  }

  static open(target: HostTarget, opts: SessionOptions = {}): HostSession {
    const child =
      target.transport === 'local'
        ? execa('sh', ['-s'], { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', reject: false, buffer: false, env: { LC_ALL: 'C' } })
        : execa('ssh', sshArgs(target, opts), { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', reject: false, buffer: false });
    return new HostSession(target, child);
  }

  private onExit(code: number | undefined, signal: string | undefined): void {
    this.exited = { code, signal: signal ?? undefined };
    this.pump();
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w(this.connectionError());
    }
  }

  /** The error for a connection that ended before a chunk finished. */
  private connectionError(): LvsError {
    const where = describeTarget(this.target);
    const err = this.stderr.trim().split('\n').filter(Boolean).slice(-3).join('; ');
    if (this.target.transport === 'ssh' && this.target.ssh?.sudo && this.exited?.code !== 255 && SUDO_REFUSED.test(err)) {
      // sudo ended the session before the shell started: nothing ran on the director.
      const user = this.target.ssh.user;
      const said = err
        .split('; ')
        .filter((l) => SUDO_REFUSED.test(l))
        .join('; ');
      return new LvsError('LVS_SUDO_REQUIRED', `director ${where}: sudo did not run the host script as root (nothing was run): ${said}`, {
        hint: `Allow it without a password on the director: \`${sudoersLine(user)}\` in /etc/sudoers.d/lvsform (visudo -f), and install sudo if it is missing.`,
      });
    }
    if (this.target.transport === 'ssh' && this.exited?.code === 255) {
      const hostKey = /host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(err);
      return new LvsError(
        hostKey ? 'LVS_HOST_KEY' : 'LVS_HOST_UNREACHABLE',
        `director ${where}: ${hostKey ? 'the host key is not trusted' : 'cannot reach the host over SSH'}${err ? `: ${err}` : ''}`,
        {
          hint: hostKey
            ? 'Pin the host key in the known-hosts file (ssh-keyscan, checked out of band), or pass --accept-new-host-key once.'
            : 'Check that the host is up, that sshd answers, and that `ssh` with the same options works from here.',
        },
      );
    }
    return new LvsError(
      'LVS_CONNECTION_LOST',
      `director ${where}: the connection ended in the middle of a step (exit ${this.exited?.code ?? this.exited?.signal ?? '?'})${err ? `: ${err}` : ''}`,
      { hint: 'Nothing after the last verified step is known; run `lvsform plan` to see what the director holds now.' },
    );
  }

  private pump(): void {
    const marker = `@@lvsform-end ${this.nonce} `;
    const at = this.buffer.indexOf(marker, this.searched);
    if (at < 0) {
      this.searched = Math.max(0, this.buffer.length - marker.length);
      return;
    }
    this.searched = at;
    if (!this.waiter) return;
    const eol = this.buffer.indexOf('\n', at);
    if (eol < 0) return;
    const status = Number(this.buffer.slice(at + marker.length, eol));
    let stdout = this.buffer.slice(0, at);
    if (stdout.endsWith('\n')) stdout = stdout.slice(0, -1);
    this.buffer = this.buffer.slice(eol + 1);
    this.searched = 0;
    const w = this.waiter;
    this.waiter = undefined;
    w({ stdout, status });
  }

  /**
   * Queues a chunk to travel with the next `run`, in the same round trip: a slow host answers once for both. The
   * promise resolves with that run's whole output (each chunk's sections carry their own tag, so each reader finds its
   * own) or rejects as the run does.
   */
  defer(script: string): Promise<ChunkResult> {
    if (this.exited) {
      const failed = Promise.reject(this.connectionError());
      failed.catch(() => undefined);
      return failed;
    }
    const p = new Promise<ChunkResult>((resolve, reject) => {
      this.deferred.push({ script, done: (r) => (r instanceof Error ? reject(r) : resolve(r)) });
    });
    p.catch(() => undefined); // the run that carries it reports the same failure
    return p;
  }

  private deferred: { script: string; done: (r: ChunkResult | Error) => void }[] = [];

  /** Sends the deferred chunks, if any, and waits for them. */
  async flush(): Promise<void> {
    if (this.deferred.length > 0) await this.run('true');
  }

  /** Sends one chunk of POSIX sh and waits for it. Rejects with LVS_HOST_UNREACHABLE / LVS_CONNECTION_LOST. */
  run(script: string): Promise<ChunkResult> {
    if (this.waiter) throw new Error('HostSession.run: a chunk is already running');
    const carried = this.deferred;
    this.deferred = [];
    if (carried.length > 0) {
      script = `${carried.map((c) => c.script).join('\n')}\n${script}`;
      const result = this.run(script);
      result.then(
        (r) => carried.forEach((c) => c.done(r)),
        (e: Error) => carried.forEach((c) => c.done(e)),
      );
      return result;
    }
    if (this.exited) return Promise.reject(this.connectionError());
    return new Promise<ChunkResult>((resolve, reject) => {
      this.waiter = (r) => (r instanceof Error ? reject(r) : resolve(r));
      // The chunk runs in a subshell-free group so that its `exit` would end the session: chunks never call exit.
      const text = `${script}\nprintf '\\n@@lvsform-end %s %s\\n' '${this.nonce}' "$?"\n`;
      this.child.stdin!.write(text, (e) => {
        if (!e || !this.waiter) return;
        // A write fails (EPIPE) when the process is gone, often before its exit is seen: wait for the exit, whose
        // status and standard error say what happened (a refused connection is exit 255), and report that.
        if (this.exited) {
          const w = this.waiter;
          this.waiter = undefined;
          w(this.connectionError());
          return;
        }
        const waiting = this.waiter;
        setTimeout(() => {
          if (this.waiter !== waiting) return;
          this.waiter = undefined;
          waiting(
            this.exited
              ? this.connectionError()
              : new LvsError('LVS_CONNECTION_LOST', `director ${describeTarget(this.target)}: cannot send to the host's shell: ${e.message}`, {
                  cause: e,
                  hint: 'Nothing after the last verified step is known; run `lvsform plan` to see what the director holds now.',
                }),
          );
        }, 5_000).unref();
      });
      this.pump();
    });
  }

  /** Last lines the host wrote to standard error (for reports). */
  get errorOutput(): string {
    return this.stderr;
  }

  /**
   * Ends the shell (which releases the host lock) and waits for the process. `lastWords` is sent as the shell's final
   * input, without waiting for an answer (e.g. the unlock).
   */
  async close(lastWords?: string): Promise<void> {
    const unsent = this.deferred;
    this.deferred = [];
    unsent.forEach((c) => c.done(new Error('HostSession.close: a deferred chunk was never sent')));
    if (!this.exited) {
      if (this.waiter) this.kill(); // a chunk still running: nothing more may be sent after it
      this.child.stdin!.end(lastWords === undefined || this.waiter ? undefined : `${lastWords}\n`);
      const timer = setTimeout(() => this.child.kill('SIGTERM'), 5_000);
      await this.child.catch(() => undefined);
      clearTimeout(timer);
    }
  }

  /** Ends the connection at once (Ctrl-C, tests of a dropped connection). */
  kill(): void {
    this.child.kill('SIGKILL');
  }
}
