/**
 * A `DirectorHost` for `--read-only` runs: it reaches a director only as `ssh planUser@host sudo -n READ_SCRIPT ARGS`
 * (read-script.ts), with no script on standard input. The reads a plan carries in one round trip (the lock, the
 * capabilities, the table and record) go in one run of the script, as does a status read; every verb that would change
 * something refuses with LVS_READ_ONLY without sending anything.
 */
import { execa } from 'execa';
import type { Capabilities } from './capabilities.ts';
import { capabilityModules, parseCapabilities } from './capabilities.ts';
import type { CapabilityOptions, DirectorHost, LockOptions, ReadLiveOptions } from './director-host.ts';
import { LvsError } from '../model/errors.ts';
import type { Table } from '../model/model.ts';
import { requiredModules } from '../model/limits.ts';
import type { HostFacts } from '../model/host-setup.ts';
import { factsQuery } from '../plan/host-setup.ts';
import { SECTION_MARK } from './host-script.ts';
import { readOnlyRefusal } from '../model/host-target.ts';
import { newTag, parseLive } from './read-live.ts';
import type { LiveState } from '../model/live-state.ts';
import type { LiveSettings } from '../model/director-settings.ts';
import { partTag, readFactsFiles, readScriptArgs, type ReadPart } from './read-script.ts';
import { READ_SCRIPT, READ_SUDOERS, readSudoersLine } from '../model/host-setup.ts';
import { parseHostFacts } from './setup-chunks.ts';
import { parseStatus } from './status-chunk.ts';
import { sshArgs, type SessionOptions } from './transport.ts';
import { describeTarget, type HostTarget } from '../model/host-target.ts';
import { SUDO_REFUSED } from './ssh-failure.ts';

interface Pending {
  readonly part: ReadPart | undefined;
  readonly done: (r: string | Error) => void;
}

/** The answer to a lock the script took (what precedes its first section marker). */
function checkReadLock(target: HostTarget, stdout: string): void {
  const where = describeTarget(target);
  const lockOut = (stdout.split(`${SECTION_MARK} `)[0] ?? '').trim();
  if (lockOut.startsWith('@@lock busy')) {
    const holder = lockOut.split('\n').slice(1).join(' ').trim() || 'another run';
    throw new LvsError('LVS_LOCKED', `director ${where} is locked by ${holder}`, {
      hint: 'Wait for that run to finish (or pass --lock-timeout SECONDS), then plan again.',
    });
  }
  if (lockOut.startsWith('@@lock noflock')) {
    throw new LvsError('LVS_NO_FLOCK', `director ${where} has no \`flock\` command`, { hint: 'Install util-linux on the director.' });
  }
  if (!lockOut.startsWith('@@lock ok')) {
    throw new LvsError('LVS_HOST_OUTPUT', `director ${where}: unexpected answer from the read script: ${stdout.slice(0, 200)}`);
  }
}

export class ReadOnlyDirectorHost implements DirectorHost {
  private waitSeconds = 0;
  private pending: Pending[] = [];
  private running = new Set<ReturnType<typeof execa>>();

  constructor(
    readonly target: HostTarget,
    private readonly opts: SessionOptions = {},
  ) {}

  private refuse(verb: string, changes = true): never {
    throw readOnlyRefusal(verb, [this.target], changes);
  }

  /** Sends the carried parts and this one (if any) in one run of the script; resolves with its output. */
  private send(part: ReadPart | undefined, carry: boolean): Promise<string> {
    const p = new Promise<string>((resolve, reject) => {
      this.pending.push({ part, done: (r) => (r instanceof Error ? reject(r) : resolve(r)) });
    });
    p.catch(() => undefined);
    if (!carry) void this.run();
    return p;
  }

  private async run(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const tag = newTag();
    let result: string | Error;
    try {
      const args = readScriptArgs(
        tag,
        this.waitSeconds,
        batch.flatMap((b) => (b.part ? [b.part] : [])),
      );
      result = await this.exec(args);
      checkReadLock(this.target, result);
      // Each part parses its own sections: the tag is the run's, the part's suffix keeps them apart.
      result = `${tag}\n${result}`;
    } catch (e) {
      result = e as Error;
    }
    for (const b of batch) b.done(result);
  }

  private async exec(args: string[]): Promise<string> {
    const where = describeTarget(this.target);
    const command = ['sudo', '-n', READ_SCRIPT, ...args];
    const child =
      this.target.transport === 'local'
        ? execa(command[0]!, command.slice(1), { reject: false, stdin: 'ignore', env: { LC_ALL: 'C' } })
        : execa('ssh', sshArgs(this.target, this.opts, command), { reject: false, stdin: 'ignore' });
    this.running.add(child);
    const r = await child;
    this.running.delete(child);
    const err = String(r.stderr ?? '')
      .trim()
      .split('\n')
      .filter(Boolean)
      .slice(-3)
      .join('; ');
    if (this.target.transport === 'ssh' && r.exitCode === 255) {
      const hostKey = /host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(err);
      throw new LvsError(
        hostKey ? 'LVS_HOST_KEY' : 'LVS_HOST_UNREACHABLE',
        `director ${where}: ${hostKey ? 'the host key is not trusted' : 'cannot reach the host over SSH'}${err ? `: ${err}` : ''}`,
        { hint: hostKey ? 'Pin the host key in the known-hosts file (ssh-keyscan, checked out of band).' : 'Check that the host is up and that sshd answers.' },
      );
    }
    if (r.exitCode !== 0) {
      const user = this.target.ssh?.planUser ?? this.target.ssh?.user ?? '<plan user>';
      if (SUDO_REFUSED.test(err) || /command not found|No such file/i.test(err)) {
        throw new LvsError('LVS_SUDO_REQUIRED', `director ${where}: sudo did not run the read script ${READ_SCRIPT} (nothing was read): ${err}`, {
          hint: `Apply once with the apply key and the Director's \`setup\` with \`ssh.planUser\`: it installs the script and \`${readSudoersLine(user)}\` in ${READ_SUDOERS}.`,
        });
      }
      throw new LvsError('LVS_HOST_OUTPUT', `director ${where}: the read script ended with status ${r.exitCode}${err ? `: ${err}` : ''}`, {
        hint: 'The installed read script may be older than this lvsform: apply with the apply key to install the current one.',
      });
    }
    return String(r.stdout ?? '');
  }

  /** The tag the run used, and its output without it. */
  private static split(answer: string): [string, string] {
    const at = answer.indexOf('\n');
    return [answer.slice(0, at), answer.slice(at + 1)];
  }

  lock(opts: LockOptions): Promise<void> {
    if (opts.exclusive) this.refuse('taking the exclusive lock');
    this.waitSeconds = opts.waitSeconds;
    // The script takes the shared lock itself in every run; a carried lock is answered with the read it rides with.
    if (!opts.carry) return Promise.resolve();
    return this.send(undefined, true).then(() => undefined);
  }

  async capabilities(table: Table, opts: CapabilityOptions): Promise<Capabilities> {
    const answer = await this.send({ kind: 'caps', help: opts.help, modules: capabilityModules(table) }, opts.carry ?? false);
    const [tag, stdout] = ReadOnlyDirectorHost.split(answer);
    return parseCapabilities(partTag(tag, 'caps'), stdout, describeTarget(this.target));
  }

  async readLive(stack: string, opts: ReadLiveOptions = {}): Promise<LiveState> {
    const answer = await this.send({ kind: 'table', stack }, false);
    opts.onRead?.();
    const [tag, stdout] = ReadOnlyDirectorHost.split(answer);
    return parseLive(partTag(tag, 'table'), stdout, stack, describeTarget(this.target));
  }

  /** The fast path stores and trusts a table lvsform wrote; a read-only run reads the whole table instead. */
  async readFast(): ReturnType<DirectorHost['readFast']> {
    return { ok: false, reason: 'a read-only run reads the whole table' };
  }

  async readFacts(stack: string, desired: Table): Promise<HostFacts> {
    const answer = await this.send({ kind: 'facts', stack, modules: requiredModules(desired) }, false);
    const [tag, stdout] = ReadOnlyDirectorHost.split(answer);
    const query = factsQuery(stack, desired, this.target.ssh?.planUser);
    // The script reads a fixed list; the query's files are a prefix of it in the same order.
    const files = readFactsFiles(stack);
    if (query.files.some((f, i) => files[i] !== f)) throw new Error('read-only facts: the file lists of the query and the script differ');
    return parseHostFacts(partTag(tag, 'facts'), stdout, query, describeTarget(this.target));
  }

  /** The read script has no settings read yet: a plan of an app that manages director settings needs the apply key. */
  readSettings(): Promise<LiveSettings> {
    this.refuse('reading director settings (VIPs, timeouts, sysctls)', false);
  }
  applySettings(): Promise<LiveSettings | undefined> {
    this.refuse('changing director settings');
  }
  setup(): Promise<void> {
    this.refuse('host set-up');
  }
  saveRules(): ReturnType<DirectorHost['saveRules']> {
    this.refuse('saving the table');
  }
  applyBatch(): Promise<string> {
    this.refuse('apply');
  }
  readCounters(): ReturnType<DirectorHost['readCounters']> {
    this.refuse('draining');
  }
  writeRecord(): Promise<string> {
    this.refuse('writing the ownership record');
  }
  verifyFast(): ReturnType<DirectorHost['verifyFast']> {
    this.refuse('apply');
  }
  verifyByProc(): ReturnType<DirectorHost['verifyByProc']> {
    this.refuse('apply');
  }
  readProcFingerprint(): ReturnType<DirectorHost['readProcFingerprint']> {
    this.refuse('apply');
  }
  storeTable(): void {
    this.refuse('storing the table');
  }
  async status(stack: string): ReturnType<DirectorHost['status']> {
    const answer = await this.send({ kind: 'status', stack }, false);
    const [tag, stdout] = ReadOnlyDirectorHost.split(answer);
    return parseStatus(partTag(tag, 'status'), stdout, stack, this.target);
  }
  doctorFacts(): ReturnType<DirectorHost['doctorFacts']> {
    this.refuse('doctor', false);
  }
  forceUnlock(): ReturnType<DirectorHost['forceUnlock']> {
    this.refuse('force-unlock');
  }

  async flush(): Promise<void> {
    if (this.pending.length > 0) await this.run();
  }

  async close(): Promise<void> {
    const unsent = this.pending;
    this.pending = [];
    for (const u of unsent) u.done(new Error('ReadOnlyDirectorHost.close: a carried read was never sent'));
    await Promise.all([...this.running].map((c) => c.catch(() => undefined)));
  }

  kill(): void {
    for (const c of this.running) c.kill('SIGKILL');
  }
}

/** Opens a director read-only (see `ReadOnlyDirectorHost`). */
export function openReadOnlyHost(target: HostTarget, opts: SessionOptions = {}): DirectorHost {
  return new ReadOnlyDirectorHost({ ...target, readOnly: true }, opts);
}
