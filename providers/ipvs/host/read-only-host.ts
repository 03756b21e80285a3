/**
 * A `DirectorHost` for `--read-only` runs: it reaches a director only as `ssh planUser@host sudo -n READ_SCRIPT ARGS`
 * (read-script.ts), with no script on standard input. A round trip is one run of the script: the kinds it can answer
 * (a shared lock, the capabilities, the table and record, the set-up facts, a status read) become its arguments and
 * are parsed by the same request modules as the `sh` host's, from the sections the script prints; any other kind
 * refuses with LVS_READ_ONLY before anything is sent.
 */
import { execa } from 'execa';
import { LvsError } from '../model/errors.ts';
import type { DirectorHost, ExchangeOptions } from './director-host.ts';
import { describeTarget, hostKind, readOnlyRefusal, type HostTarget } from '../model/host-target.ts';
import { READ_SCRIPT, READ_SUDOERS, readSudoersLine } from '../model/host-setup.ts';
import { type HostReply, type HostRequest, KINDS, type RepliesOf } from './requests/index.ts';
import type { ReplyContext, RequestKind } from './requests/kind.ts';
import { checkLockAnswer } from './requests/lock.ts';
import { readFactsFiles, readScriptArgs, type ReadPart } from './read-script.ts';
import { newTag, splitRoundTrip } from './sections.ts';
import { SUDO_REFUSED } from './ssh-failure.ts';
import { sshArgs, type SessionOptions } from './transport.ts';

/** What a read-only run refuses, by kind: the verb named in the refusal, and whether it would change something. */
const REFUSED: Partial<Record<HostRequest['kind'], readonly [string, boolean]>> = {
  // The read script has no settings read yet: a plan of an app that manages director settings needs the apply key.
  'settings-read': ['reading director settings (VIPs, timeouts, sysctls)', false],
  'settings-apply': ['changing director settings', true],
  setup: ['host set-up', true],
  'save-rules': ['saving the table', true],
  sync: ['apply', true],
  batch: ['apply', true],
  counters: ['draining', true],
  'write-record': ['writing the ownership record', true],
  'store-table': ['storing the table', true],
  proc: ['apply', true],
  'fast-read': ['apply', true],
  'doctor-facts': ['doctor', false],
  'force-unlock': ['force-unlock', true],
  unlock: ['unlocking', true],
  // A real server has no read script: the director set-up installs it, and a RealServerHost has no set-up of its own
  // that could. Its plan needs the apply key.
  'real-server-read': ['reading a real server (the read script is installed on directors only)', false],
  'real-server-apply': ['preparing a real server', true],
  'real-server-record': ['writing the ownership record', true],
};

/** The script's part for a request (undefined: nothing to send, as for a lock, which the script takes itself). */
function partOf(target: HostTarget, req: HostRequest): ReadPart | undefined {
  switch (req.kind) {
    case 'lock':
      if (req.exclusive) throw readOnlyRefusal('taking the exclusive lock', [target]);
      return undefined;
    case 'capabilities':
      return { kind: 'caps', help: req.help, modules: req.modules };
    case 'read-table':
      return { kind: 'table', stack: req.stack };
    case 'facts': {
      // The script reads a fixed list; the query's files are a prefix of it in the same order.
      const files = readFactsFiles(req.stack);
      if (req.query.files.some((f, i) => files[i] !== f)) throw new Error('read-only facts: the file lists of the query and the script differ');
      return { kind: 'facts', stack: req.stack, modules: req.query.modules };
    }
    case 'status':
      return { kind: 'status', stack: req.stack };
    default: {
      const [verb, changes] = REFUSED[req.kind] ?? [req.kind, true];
      throw readOnlyRefusal(verb, [target], changes);
    }
  }
}

/** The script's name for each part, as its sections are tagged (`TAG-caps`, `TAG-table`, …). */
const PART_NAME: Partial<Record<HostRequest['kind'], ReadPart['kind']>> = {
  capabilities: 'caps',
  'read-table': 'table',
  facts: 'facts',
  status: 'status',
};

export class ReadOnlyDirectorHost implements DirectorHost {
  private waitSeconds = 0;
  private running = new Set<ReturnType<typeof execa>>();

  constructor(
    readonly target: HostTarget,
    private readonly opts: SessionOptions = {},
  ) {}

  async exchange<const R extends readonly HostRequest[]>(requests: R, opts: ExchangeOptions = {}): Promise<RepliesOf<R>> {
    const parts = requests.map((r) => partOf(this.target, r));
    for (const r of requests) if (r.kind === 'lock') this.waitSeconds = r.waitSeconds;
    const sent = parts.filter((p): p is ReadPart => p !== undefined);
    // The script takes the shared lock itself in every run; a lock alone sends nothing.
    if (sent.length === 0) return requests.map((r) => ({ kind: r.kind })) as RepliesOf<R>;
    const tag = newTag();
    const running = this.exec(readScriptArgs(tag, this.waitSeconds, sent));
    // The read script's arguments travel when it starts: nothing more is sent.
    opts.onSent?.();
    const stdout = await running;
    opts.onAnswer?.();
    const { lead, parts: sections } = splitRoundTrip(tag, stdout);
    const ctx: ReplyContext = { target: this.target, where: describeTarget(this.target), stdout };
    // The script answers its lock before its sections, whether or not the round trip asked for one.
    checkLockAnswer(lead, ctx);
    return requests.map((r) => {
      if (r.kind === 'lock') return { kind: 'lock' };
      const kind = KINDS[r.kind] as unknown as RequestKind<HostRequest, HostReply>;
      return kind.parse(r, sections.get(PART_NAME[r.kind] ?? '') ?? new Map(), ctx);
    }) as RepliesOf<R>;
  }

  private async exec(args: string[]): Promise<string> {
    const kind = hostKind(this.target);
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
        `${kind} ${where}: ${hostKey ? 'the host key is not trusted' : 'cannot reach the host over SSH'}${err ? `: ${err}` : ''}`,
        { hint: hostKey ? 'Pin the host key in the known-hosts file (ssh-keyscan, checked out of band).' : 'Check that the host is up and that sshd answers.' },
      );
    }
    if (r.exitCode !== 0) {
      const user = this.target.ssh?.planUser ?? this.target.ssh?.user ?? '<plan user>';
      if (SUDO_REFUSED.test(err) || /command not found|No such file/i.test(err)) {
        throw new LvsError('LVS_SUDO_REQUIRED', `${kind} ${where}: sudo did not run the read script ${READ_SCRIPT} (nothing was read): ${err}`, {
          hint: `Apply once with the apply key and the Director's \`setup\` with \`ssh.planUser\`: it installs the script and \`${readSudoersLine(user)}\` in ${READ_SUDOERS}.`,
        });
      }
      throw new LvsError('LVS_HOST_OUTPUT', `${kind} ${where}: the read script ended with status ${r.exitCode}${err ? `: ${err}` : ''}`, {
        hint: 'The installed read script may be older than this lvsform: apply with the apply key to install the current one.',
      });
    }
    return String(r.stdout ?? '');
  }

  async close(): Promise<void> {
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
