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

import { HOST_SHELL, hostKind, hostLabel, type HostTarget } from '../model/host-target.ts';
import { sessionEndError } from './ssh-failure.ts';

export interface SessionOptions {
  /** Trust a host key seen for the first time (OpenSSH `accept-new`). Pinned keys only by default. */
  readonly acceptNewHostKey?: boolean;
  /** Seconds to wait for the TCP connection. @default 10 */
  readonly connectTimeout?: number;
  /** Called once, when the host's shell prints its first byte: the connection (and sudo) is made. */
  readonly onConnected?: () => void;
}

export interface ChunkResult {
  readonly stdout: string;
  readonly status: number;
}

/** A host, an alias: a name or an address, nothing ssh would read another way (`user@`, `%` tokens, an option). */
const HOST_RE = /^[A-Za-z0-9_.:-]+$/;
/** A login name. */
const USER_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

function checkWord(who: string, what: string, value: string, re: RegExp): string {
  if (value.startsWith('-') || !re.test(value)) {
    throw new LvsError('LVS_UNSAFE_VALUE', `${who}: ${what} ${JSON.stringify(value)} is not a valid ${what}`, {
      hint: `Use a plain ${what} (letters, digits, . - _${what === 'host' ? ' and :' : ''}); it must not start with '-'.`,
    });
  }
  return value;
}

function checkPath(who: string, what: string, value: string): string {
  if (value.includes('\0') || value.includes('\n') || value.includes('\r') || value === '') {
    throw new LvsError('LVS_UNSAFE_VALUE', `${who}: ${what} ${JSON.stringify(value)} is not a usable path`);
  }
  return value;
}

/**
 * A file path as ssh expands it (IdentityFile, UserKnownHostsFile): a leading `~` is the home directory (kept, as
 * the user means it), `%x` is a token (so a literal `%` is written `%%`), and `${NAME}` an environment variable, which
 * has no escape: a path with `${` is refused.
 */
function expandedPath(who: string, what: string, value: string): string {
  checkPath(who, what, value);
  if (value.includes('${')) {
    throw new LvsError('LVS_UNSAFE_VALUE', `${who}: ${what} ${JSON.stringify(value)} contains "\${", which ssh would expand as a variable`, {
      hint: 'Rename the file or directory, or give the path without "${".',
    });
  }
  return value.replaceAll('%', '%%');
}

/**
 * The value of an `-o Keyword=VALUE` option. ssh reads the argument of `-o` as a line of its config file: split at
 * spaces and tabs into several values (UserKnownHostsFile takes a list, so `/a b` would be the two files `/a` and
 * `b`), with double and single quotes grouping and a backslash escaping a quote or a backslash. Every value is sent as
 * one double-quoted word.
 */
export function configWord(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * The argv for `ssh`: the host's shell (`sh -s`, or sudo's), or with `remote`, those words (the read-only script's
 * fixed path and its checked arguments). A read-only target logs in as `ssh.planUser` when it has one. Exported for
 * tests and for `doctor`.
 */
export function sshArgs(target: HostTarget, opts: SessionOptions = {}, remote?: readonly string[]): string[] {
  const ssh = target.ssh ?? {};
  // `director lb1`, `real server web1`: the host as the app names it, for messages.
  const who = `${hostKind(target)} ${target.name}`;
  const args: string[] = [];
  if (ssh.configFile) {
    const file = checkPath(who, 'OpenSSH config file', ssh.configFile);
    // `-F none` means "no config file at all": a file named none is given as ./none.
    args.push('-F', file === 'none' ? './none' : file);
  }
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
  if (ssh.port !== undefined) {
    if (!Number.isInteger(ssh.port) || ssh.port < 1 || ssh.port > 65535) {
      throw new LvsError('LVS_UNSAFE_VALUE', `${who}: ssh port ${JSON.stringify(ssh.port)} is not a port (1-65535)`);
    }
    args.push('-p', String(ssh.port));
  }
  const user = target.readOnly ? (ssh.planUser ?? ssh.user) : ssh.user;
  if (user !== undefined) args.push('-l', checkWord(who, 'user name', user, USER_RE));
  if (ssh.identityFile) args.push('-i', expandedPath(who, 'identity file', ssh.identityFile), '-o', 'IdentitiesOnly=yes');
  if (ssh.knownHostsFile) args.push('-o', `UserKnownHostsFile=${configWord(expandedPath(who, 'known-hosts file', ssh.knownHostsFile))}`);
  const host = ssh.alias ?? ssh.host;
  if (!host) {
    throw new LvsError('LVS_NO_TRANSPORT', `${who}: no host or alias to reach it over SSH`, {
      hint: `Give the ${target.role === 'real-server' ? 'RealServerHost' : 'Director'} \`ssh: { host }\` or \`ssh: { configFile, alias }\`, or \`local: true\`.`,
    });
  }
  // With sudo, `-n` makes sudo fail at once (never prompt) when the rule is missing or asks for a password.
  args.push('--', checkWord(who, 'host', host, HOST_RE));
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
  /** The end of what the shell printed before its first line (`hello`): login banners, sudo's lectures. */
  private greeting = '';
  /**
   * The output since the last chunk ended, in the pieces it came in. A large read arrives in a thousand pieces; a
   * string grown piece by piece would be copied whole at every search (V8 flattens it), which at 10,000 services
   * (6.5 MB) cost more host CPU than the read itself. The pieces are joined once, when the chunk's end has come.
   */
  private pieces: string[] = [];
  /** The output's end from where the end marker may still begin (`windowAt` in the output): a line's worth. */
  private window = '';
  private windowAt = 0;
  private stderr = '';
  private exited: { code: number | undefined; signal: string | undefined; spawnCode: string | undefined } | undefined;
  private waiter: ((r: ChunkResult | Error) => void) | undefined;
  /** Called with each piece of the running chunk's output, in order, as it arrives. */
  private onData: ((piece: string) => void) | undefined;
  /** Set when the shell's first line (`hello`) arrived: the connection, the login and sudo are done. */
  private connected = false;
  private readonly hello: string;

  private constructor(target: HostTarget, child: ResultPromise, onConnected?: () => void) {
    this.target = target;
    this.child = child;
    this.hello = `@@lvsform-up ${this.nonce}\n`;
    // A write to a shell that has gone (refused connection, dropped link) fails with EPIPE: the exit handler below
    // reports it as what it is, so the stream's own error is not thrown at the process.
    child.stdin!.on('error', () => undefined);
    // The shell's first command prints a line at once, so that "connecting" lasts exactly until the host answers,
    // whatever the first chunk waits on afterwards (a lock, a slow read). It travels with the first chunk.
    child.stdin!.write(`printf '%s\\n' '${this.hello.trim()}'\n`);
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      let piece = d;
      if (!this.connected) {
        this.greeting += d;
        const at = this.greeting.indexOf(this.hello);
        if (at < 0) {
          // Only what may be the start of the first line is kept: a banner of any length costs nothing.
          this.greeting = this.greeting.slice(-(this.hello.length - 1));
          return;
        }
        piece = this.greeting.slice(at + this.hello.length);
        this.greeting = '';
        this.connected = true;
        onConnected?.();
        if (piece === '') return;
      }
      this.pieces.push(piece);
      this.window += piece;
      if (this.waiter && this.onData) this.feed(piece);
      this.pump();
    });
    child.stderr!.on('data', (d: string) => {
      this.stderr += d;
      if (this.stderr.length > 64_000) this.stderr = this.stderr.slice(-32_000);
    });
    child.then(
      (r) => this.onExit(r.exitCode, r.signal, (r as { code?: string }).code),
      (e: { exitCode?: number; signal?: string; code?: string }) => this.onExit(e.exitCode, e.signal, e.code),
    );
  }

  static open(target: HostTarget, opts: SessionOptions = {}): HostSession {
    const child =
      target.transport === 'local'
        ? execa('sh', ['-s'], { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', reject: false, buffer: false, env: { LC_ALL: 'C' } })
        : execa('ssh', sshArgs(target, opts), { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', reject: false, buffer: false });
    return new HostSession(target, child, opts.onConnected);
  }

  private onExit(code: number | undefined, signal: string | undefined, spawnCode: string | undefined): void {
    this.exited = { code, signal: signal ?? undefined, spawnCode: typeof spawnCode === 'string' && !code ? spawnCode : undefined };
    this.pump();
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w(this.connectionError());
    }
  }

  /** The error for a connection that ended before a chunk finished (see ssh-failure.ts). */
  private connectionError(): LvsError {
    return sessionEndError({
      target: this.target,
      spawnCode: this.exited?.spawnCode,
      exitCode: this.exited?.code,
      signal: this.exited?.signal,
      connected: this.connected,
      stderr: this.stderr,
    });
  }

  /** Gives `onData` a piece of the running chunk's output. */
  private feed(piece: string): void {
    try {
      this.onData?.(piece);
    } catch {
      // Work on a partial answer is an optimisation: the whole answer is read and parsed all the same.
    }
  }

  /** Ends the running chunk when its end marker line has come: only the output's last line is searched. */
  private pump(): void {
    const marker = `@@lvsform-end ${this.nonce} `;
    const at = this.window.indexOf(marker);
    if (at < 0) {
      // The marker may have begun to arrive: keep what could be its start.
      const keep = Math.min(this.window.length, marker.length - 1);
      this.windowAt += this.window.length - keep;
      this.window = this.window.slice(this.window.length - keep);
      return;
    }
    this.windowAt += at;
    this.window = this.window.slice(at);
    if (!this.waiter) return;
    const eol = this.window.indexOf('\n');
    if (eol < 0) return;
    const status = Number(this.window.slice(marker.length, eol));
    const all = this.pieces.length === 1 ? this.pieces[0]! : this.pieces.join('');
    let stdout = all.slice(0, this.windowAt);
    if (stdout.endsWith('\n')) stdout = stdout.slice(0, -1);
    const rest = all.slice(this.windowAt + eol + 1);
    this.pieces = rest === '' ? [] : [rest];
    this.window = rest;
    this.windowAt = 0;
    const w = this.waiter;
    this.waiter = undefined;
    w({ stdout, status });
  }

  /**
   * Sends one chunk of POSIX sh and waits for it. Rejects with LVS_HOST_UNREACHABLE / LVS_CONNECTION_LOST. `onData`
   * is given each piece of the chunk's output as it arrives (work that can start before the end).
   */
  run(script: string, onSent?: () => void, onData?: (piece: string) => void): Promise<ChunkResult> {
    if (this.waiter) throw new Error('HostSession.run: a chunk is already running');
    if (this.exited) return Promise.reject(this.connectionError());
    return new Promise<ChunkResult>((resolve, reject) => {
      this.onData = onData;
      // Output that came before the chunk was sent (none, from a shell waiting for input) is the chunk's too.
      if (onData && this.pieces.length > 0) this.feed(this.pieces.join(''));
      this.waiter = (r) => {
        this.onData = undefined;
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
      // The chunk runs in a subshell-free group so that its `exit` would end the session: chunks never call exit.
      const text = `${script}\nprintf '\\n@@lvsform-end %s %s\\n' '${this.nonce}' "$?"\n`;
      this.child.stdin!.write(text, (e) => {
        if (!e) onSent?.();
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
              : new LvsError('LVS_CONNECTION_LOST', `${hostLabel(this.target)}: cannot send to the host's shell: ${e.message}`, {
                  cause: e,
                  hint: 'Nothing after the last verified step is known; run `lvsform plan` to see what the host holds now.',
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
