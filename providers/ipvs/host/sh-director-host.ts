/**
 * The one real `DirectorHost`: a POSIX `sh` on the director (`sh -s` locally, or OpenSSH), kept open for the whole
 * run and fed short chunks on its standard input (transport.ts). Each verb is one chunk; a `carry` verb rides with
 * the next one that waits, so plan is one round trip (prelude, lock, capabilities, read) and apply three.
 */
import { capabilityChunk, capabilityModules, parseCapabilities, type Capabilities } from './capabilities.ts';
import { parseDoctorFacts } from '../ops/doctor.ts';
import { doctorChunk } from './doctor-chunk.ts';
import { LvsError } from '../model/errors.ts';
import { readFast, readProcFingerprint, removeTableChunk, verifyByProc, verifyFast, writeTableChunk } from './fast-path.ts';
import {
  SECTION_MARK,
  STATE_DIR,
  batchChunk,
  forceUnlockChunk,
  listChunk,
  lockChunk,
  preludeChunk,
  splitSections,
  unlockChunk,
  whenLocked,
  writeRecordChunk,
} from './host-script.ts';
import { readHostFacts, runHostSetup, saveRulesAfterApply } from './setup-chunks.ts';
import { settingPhase, type LiveSettings, type SettingChange, type SettingsQuery } from '../model/director-settings.ts';
import { checkSettingsApply, parseSettingsApply, parseSettingsRead, readBackQuery, settingsApplyChunk, settingsReadChunk } from './settings-chunk.ts';
import { sudoersLine } from '../model/host-target.ts';
import type { Counters, Table } from '../model/model.ts';
import { parseCounters } from '../read/parse-list.ts';
import { newTag, readLive } from './read-live.ts';
import { serializeRecord, type OwnershipRecord } from '../model/record.ts';
import { readStatus } from './status-chunk.ts';
import { HostSession, type SessionOptions } from './transport.ts';
import { describeTarget, type HostTarget } from '../model/host-target.ts';
import type { CapabilityOptions, DirectorHost, ForceUnlockResult, LockOptions, ReadLiveOptions } from './director-host.ts';

/** The lock's answer: what precedes the first section marker of the round trip that carried it. */
function checkLockAnswer(target: HostTarget, name: string, stdout: string): void {
  const where = describeTarget(target);
  const lockOut = (stdout.split(`\n${SECTION_MARK} `)[0] ?? '').trim();
  if (lockOut.startsWith('@@lock busy')) {
    const holder = lockOut.split('\n').slice(1).join(' ').trim() || 'another run';
    throw new LvsError('LVS_LOCKED', `director ${where} is locked by ${holder}`, {
      hint: 'Wait for that run to finish (or pass --lock-timeout SECONDS); if it was killed, run `lvsform force-unlock ' + name + '`.',
    });
  }
  if (lockOut.startsWith('@@lock noflock')) {
    throw new LvsError('LVS_NO_FLOCK', `director ${where} has no \`flock\` command`, {
      hint: 'Install util-linux on the director; lvsform never changes a director without its lock.',
    });
  }
  if (lockOut.startsWith('@@lock denied')) {
    const user = lockOut.slice('@@lock denied'.length).trim() || 'the login user';
    throw new LvsError('LVS_NOT_ROOT', `director ${where}: ${user} is not root and cannot write ${STATE_DIR}; nothing was changed`, {
      hint: `Connect as root, or give the Director ssh: { user: '${user}', sudo: true } with the sudoers rule \`${sudoersLine(user)}\` on the director.`,
    });
  }
  if (!lockOut.startsWith('@@lock ok')) {
    throw new LvsError('LVS_HOST_OUTPUT', `director ${where}: unexpected answer while locking: ${lockOut.slice(0, 200)}`);
  }
}

export class ShDirectorHost implements DirectorHost {
  private readonly session: HostSession;
  private prelude = false;
  private locked = false;

  constructor(
    readonly target: HostTarget,
    opts: SessionOptions = {},
  ) {
    this.session = HostSession.open(target, opts);
  }

  /** The environment every chunk expects (`$lvs_dir`, PATH, umask), in a round trip of its own when nothing carries it. */
  private async ensurePrelude(): Promise<void> {
    if (this.prelude) return;
    this.prelude = true;
    await this.session.run(preludeChunk());
  }

  async lock(opts: LockOptions): Promise<void> {
    this.prelude = true;
    this.locked = true;
    const script = `${preludeChunk()}\n${lockChunk({ exclusive: opts.exclusive, waitSeconds: opts.waitSeconds, holder: opts.holder })}`;
    const answer = await (opts.carry ? this.session.defer(script) : this.session.run(script));
    checkLockAnswer(this.target, this.target.name, answer.stdout);
  }

  async capabilities(table: Table, opts: CapabilityOptions): Promise<Capabilities> {
    const tag = newTag();
    const chunk = capabilityChunk(tag, capabilityModules(table), opts.help);
    const r = await (opts.carry ? this.session.defer(whenLocked(chunk)) : this.session.run(chunk));
    return parseCapabilities(tag, r.stdout, describeTarget(this.target));
  }

  readLive(stack: string, opts: ReadLiveOptions = {}): ReturnType<DirectorHost['readLive']> {
    if (!this.prelude) {
      // The environment travels with the read: no round trip of its own.
      this.prelude = true;
      void this.session.defer(preludeChunk());
    }
    return readLive(this.session, stack, opts);
  }

  readFast(stack: string, expectedServices: number, opts: { readonly whenLocked?: boolean } = {}): ReturnType<DirectorHost['readFast']> {
    return readFast(this.session, stack, expectedServices, opts.whenLocked ?? false);
  }

  readFacts(stack: string, desired: Table): ReturnType<DirectorHost['readFacts']> {
    // The boot unit of the director settings is read too, so that a plan can remove it once nothing needs it.
    return readHostFacts(this.session, stack, desired, true);
  }

  setup(items: Parameters<DirectorHost['setup']>[0]): Promise<void> {
    return runHostSetup(this.session, items);
  }

  saveRules(items: Parameters<DirectorHost['saveRules']>[0]): ReturnType<DirectorHost['saveRules']> {
    return saveRulesAfterApply(this.session, items);
  }

  async readSettings(query: SettingsQuery): Promise<LiveSettings> {
    await this.ensurePrelude();
    const tag = newTag();
    const where = describeTarget(this.target);
    const r = await this.session.run(settingsReadChunk(tag, query));
    const found = parseSettingsRead(splitSections(tag, r.stdout), query, where);
    if (!found) throw new LvsError('LVS_HOST_OUTPUT', `director ${where}: the settings read ended early: ${r.stdout.slice(-300)}`);
    return found;
  }

  async applySettings(
    changes: readonly SettingChange[],
    phase: 'before' | 'after',
    opts: { readonly carry?: boolean } = {},
  ): Promise<LiveSettings | undefined> {
    const mine = changes.filter((c) => settingPhase(c) === phase);
    if (mine.length === 0) return undefined;
    const tag = newTag();
    const readBack = readBackQuery(mine);
    const chunk = settingsApplyChunk(tag, mine, phase, readBack);
    const r = await (opts.carry ? this.session.defer(chunk) : this.session.run(chunk));
    return checkSettingsApply(this.target, mine, parseSettingsApply(tag, r.stdout, readBack, describeTarget(this.target)));
  }

  async applyBatch(batch: string, opts: { readonly carry?: boolean } = {}): Promise<string> {
    const tag = newTag();
    const chunk = batchChunk(tag, batch);
    const r = await (opts.carry ? this.session.defer(chunk) : this.session.run(chunk));
    return (splitSections(tag, r.stdout).get('restore') ?? '').trim();
  }

  async readCounters(director: string): Promise<Map<string, Counters>> {
    const tag = newTag();
    const res = await this.session.run(listChunk(tag));
    return parseCounters(splitSections(tag, res.stdout).get('list') ?? '', undefined, `ipvsadm -L -n on ${director}`);
  }

  async writeRecord(stack: string, record: OwnershipRecord | undefined, opts: { readonly gzip: boolean; readonly carry?: boolean }): Promise<string> {
    const chunk = writeRecordChunk(stack, record ? serializeRecord(record) : undefined, opts.gzip);
    const r = await (opts.carry ? this.session.defer(chunk) : this.session.run(chunk));
    return r.stdout.includes(record ? '@@record written' : '@@record removed') ? '' : r.stdout.trim().slice(0, 200) || 'no answer';
  }

  verifyFast(...args: Parameters<DirectorHost['verifyFast']>): ReturnType<DirectorHost['verifyFast']> {
    return verifyFast(this.session, ...args);
  }

  verifyByProc(...args: Parameters<DirectorHost['verifyByProc']>): ReturnType<DirectorHost['verifyByProc']> {
    return verifyByProc(this.session, ...args);
  }

  readProcFingerprint(owned: Table): ReturnType<DirectorHost['readProcFingerprint']> {
    return readProcFingerprint(this.session, owned);
  }

  storeTable(stack: string, text: string | undefined): void {
    void this.session.defer(text === undefined ? removeTableChunk(stack) : writeTableChunk(stack, text));
  }

  async status(stack: string): ReturnType<DirectorHost['status']> {
    await this.ensurePrelude();
    return readStatus(this.session, stack);
  }

  async doctorFacts(modules: readonly string[]): Promise<Map<string, string>> {
    await this.ensurePrelude();
    const { stdout } = await this.session.run(doctorChunk(modules));
    return parseDoctorFacts(stdout);
  }

  async forceUnlock(): Promise<ForceUnlockResult> {
    await this.ensurePrelude();
    const out = (await this.session.run(forceUnlockChunk())).stdout.trim();
    if (out.startsWith('@@unlock none')) return { kind: 'none' };
    if (out.startsWith('@@unlock freed')) return { kind: 'freed' };
    if (out.startsWith('@@unlock alive')) return { kind: 'alive', holder: out.split('\n').slice(1).join(' ') };
    return { kind: 'held' };
  }

  flush(): Promise<void> {
    return this.session.flush();
  }

  /** The unlock is the shell's last input: no round trip is waited for (the kernel frees the lock with the shell anyway). */
  close(): Promise<void> {
    return this.session.close(this.locked ? unlockChunk() : undefined);
  }

  kill(): void {
    this.session.kill();
  }
}

/** The engine's default way to open a director. */
export function openShDirectorHost(target: HostTarget, opts: SessionOptions = {}): DirectorHost {
  return new ShDirectorHost(target, opts);
}
