/**
 * Every file and directory lvsform writes on this machine goes through here, under one rule: lvsform never removes or
 * replaces a file or directory it did not create.
 *
 * - An output directory (synth's, from cdktf.json's `output`) is lvsform's to replace only when it is empty or holds a
 *   synth manifest (`manifest.json` with `stacks`); it may never be `/`, the home directory, the project, the
 *   working directory or a parent of any of them, nor a file. Symlinks are followed to the real place, which is judged.
 * - A file output (`plan --out`, `import --out`, `init`) is written only as a regular file: a symlink, FIFO, device,
 *   socket or directory in its place is refused, never written through or replaced. It is written to a temporary
 *   file beside it and renamed into place, so a write that fails (a full disk, a file-size limit) leaves the target
 *   exactly as it was and nothing half-written.
 *
 * It lives in read/, the first stage that touches the local file system, so that synth (read/), saved plans (plan/)
 * and the command line share it.
 */
import { randomBytes } from 'node:crypto';
import type { BigIntStats, Stats } from 'node:fs';
import { access, constants, link, lstat, mkdir, mkdtemp, open, readdir, readFile, realpath, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, parse, resolve, sep } from 'node:path';
import type { ErrorCode } from '../model/error-codes.ts';
import { LvsError } from '../model/errors.ts';

/** What a kind of file system entry is called in a message. */
function kindOf(info: Stats | BigIntStats): string {
  if (info.isSymbolicLink()) return 'a symbolic link';
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  if (info.isSocket()) return 'a socket';
  return 'a file';
}

function errnoText(e: unknown): string {
  const x = e as NodeJS.ErrnoException;
  return x.code ? `${x.message.replace(/^[A-Z]+: /, '').replace(/, \w+( '.*')?$/, '')} (${x.code})` : String((e as Error).message ?? e);
}

/** `path`, or its nearest existing ancestor, with symlinks resolved; the missing tail is appended as written. */
async function realLocation(path: string): Promise<string> {
  const abs = resolve(path);
  const missing: string[] = [];
  let at = abs;
  for (;;) {
    try {
      return join(await realpath(at), ...missing);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const up = dirname(at);
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || up === at) throw e;
      missing.unshift(basename(at));
      at = up;
    }
  }
}

/** `dir` and each of its parents up to `/`. */
function selfAndParents(dir: string): string[] {
  const out = [dir];
  for (let d = dir; dirname(d) !== d; d = dirname(d)) out.push(dirname(d));
  return out;
}

async function realOrUndefined(path: () => string): Promise<string | undefined> {
  try {
    return await realpath(path());
  } catch {
    return undefined;
  }
}

/** The places no output directory may be, each with what it is called: `/`, home, project, cwd and their parents. */
async function protectedPlaces(project: string): Promise<Map<string, string>> {
  const places = new Map<string, string>();
  const add = (dir: string | undefined, name: string) => {
    if (dir === undefined) return;
    const [self, ...parents] = selfAndParents(dir);
    if (!places.has(self!)) places.set(self!, name);
    for (const p of parents) if (!places.has(p)) places.set(p, `a parent of ${name} (${dir})`);
  };
  places.set(parse(resolve('/')).root, 'the root directory');
  add(await realOrUndefined(() => project), 'the project directory');
  add(await realOrUndefined(() => homedir()), 'the home directory');
  add(await realOrUndefined(() => process.cwd()), 'the working directory');
  return places;
}

/** Whether `dir` holds the manifest a synth writes (what makes a non-empty directory lvsform's output). */
async function holdsSynthManifest(dir: string): Promise<boolean> {
  try {
    // A FIFO or device by that name would block the read or never end: only a regular file is a manifest.
    if (!(await lstat(join(dir, 'manifest.json'))).isFile()) return false;
    const raw: unknown = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    const stacks = (raw as { stacks?: unknown } | null)?.stacks;
    return typeof stacks === 'object' && stacks !== null && !Array.isArray(stacks);
  } catch {
    return false;
  }
}

export interface OutputDirRule {
  /** The project directory (where cdktf.json is). */
  readonly project: string;
  /** Where the directory was named, for the message: `cdktf.json "output"`. */
  readonly source: string;
  readonly code: ErrorCode;
}

/**
 * Checks that synth may replace the directory `outdir` with its output, and returns the real place to write (symlinks
 * resolved). Refuses, with `rule.code`, anything lvsform did not create.
 */
export async function checkOutputDir(outdir: string, rule: OutputDirRule): Promise<string> {
  const refuse = (why: string, cause?: unknown): never => {
    throw new LvsError(rule.code, `${rule.source} is ${outdir}: ${why}; lvsform replaces only a directory it wrote, so nothing was written`, {
      ...(cause === undefined ? {} : { cause }),
      hint: 'Point "output" in cdktf.json at a directory of its own inside the project, such as "cdktf.out" (the default).',
    });
  };
  let real: string;
  try {
    real = await realLocation(outdir);
  } catch (e) {
    return refuse(`its real location cannot be found: ${errnoText(e)}`, e);
  }
  const entry = await lstat(outdir).catch(() => undefined);
  const via = real === resolve(outdir) ? '' : ` (really ${real}, through a symbolic link)`;
  const place = (await protectedPlaces(rule.project)).get(real);
  if (place !== undefined) refuse(`that${via} is ${place}`);
  if (entry?.isSymbolicLink() && !(await stat(outdir).catch(() => undefined))) refuse(`it is a symbolic link to a place that does not exist`);
  // The nearest existing ancestor must be a directory: a file on the way would be replaced by mkdir's error, or worse.
  for (let at = real; ; at = dirname(at)) {
    const info = await stat(at).catch(() => undefined);
    if (info === undefined) {
      if (dirname(at) === at) break;
      continue;
    }
    if (at === real) {
      if (!info.isDirectory()) refuse(`it${via} is ${kindOf(info)}, not a directory`);
      const entries = await readdir(real).catch((e: unknown) => refuse(`it cannot be read: ${errnoText(e)}`, e));
      if (entries.length > 0 && !(await holdsSynthManifest(real))) {
        const shown = entries.sort().slice(0, 5).join(', ');
        refuse(`it${via} holds files lvsform did not write (${shown}${entries.length > 5 ? ', …' : ''}) and no synth manifest.json`);
      }
    } else if (!info.isDirectory()) {
      refuse(`${at} on its way is ${kindOf(info)}, not a directory`);
    }
    break;
  }
  return real;
}

/**
 * Replaces the output directory `real` (as returned by checkOutputDir, checked again here: the app ran in between)
 * with `fresh`, a directory beside it that this run wrote. The old output is removed only once the new one is in place;
 * if the swap fails, the old output is put back.
 */
export async function replaceOutputDir(outdir: string, real: string, fresh: string, rule: OutputDirRule): Promise<void> {
  const again = await checkOutputDir(outdir, rule);
  if (again !== real) {
    throw new LvsError(rule.code, `${rule.source} ${outdir} now leads to ${again}, not ${real} as when synth began; nothing was replaced`, {
      hint: 'Run synth again.',
    });
  }
  const exists = (await lstat(real).catch(() => undefined)) !== undefined;
  const old = `${fresh}.old`;
  try {
    if (exists) await rename(real, old);
    try {
      await rename(fresh, real);
    } catch (e) {
      if (exists) await rename(old, real);
      throw e;
    }
  } catch (e) {
    throw new LvsError(rule.code, `cannot put the synth output in place at ${real}: ${errnoText(e)}`, {
      cause: e,
      hint: 'The previous output was left as it was.',
    });
  }
  if (exists) await rm(old, { recursive: true, force: true });
}

/**
 * Creates the directory a synth writes into: beside the output (so that the swap is a rename), lvsform's own. `remove`
 * removes it again, and the missing parents of the output that were made for it while they are still empty (after a
 * swap they hold the output, and stay); so a synth that fails leaves no trace.
 */
export async function freshDirBeside(real: string): Promise<{ fresh: string; remove: () => Promise<void> }> {
  const made = await mkdir(dirname(real), { recursive: true });
  const fresh = await mkdtemp(`${real}.synth-`);
  return {
    fresh,
    remove: async () => {
      await rm(fresh, { recursive: true, force: true });
      if (made !== undefined) await removeCreatedDirs(made, dirname(real));
    },
  };
}

/** A file this run read: what it was called, and which file it is (device and inode, whatever the spelling or link). */
export interface InputFile {
  readonly path: string;
  readonly id: string;
}

/** The identity of a file, from its stat (bigint, so that no inode number is rounded). */
export function fileIdentity(info: BigIntStats): string {
  return `${info.dev}:${info.ino}`;
}

export interface FileRule {
  readonly code: ErrorCode;
  /** The message begins `cannot <verb> <path>: …`, e.g. `save the plan to`. */
  readonly verb: string;
  /** What to do, ending the hint. */
  readonly hint: string;
  /**
   * What to do when the directory is missing, not a directory or not writable (`hint` speaks of the file: --force,
   * another name, which would not help there). @default how to make the directory, or to choose another
   */
  readonly placeHint?: string;
  /**
   * What may be replaced when the target exists: `never`; `ours` (a file `isOurs` recognises, or an empty one); or
   * `regular` (any regular file: the user asked, e.g. with --force).
   */
  readonly replace: 'never' | 'ours' | 'regular';
  /** Recognises a file lvsform wrote, from its first bytes. */
  readonly isOurs?: (head: string) => boolean;
  /** What `isOurs` recognises, for the message: `an lvsform plan file`. */
  readonly ours?: string;
  /** Why an existing file is refused under `never` (createFiles: what follows the list of files). @default 'it exists' */
  readonly exists?: string;
  /** The files the run read: never replaced, whatever `replace` says (an import's source is often the only copy). */
  readonly inputs?: readonly InputFile[];
}

function fileError(path: string, rule: FileRule, why: string, cause?: unknown, hint?: string): LvsError {
  return new LvsError(rule.code, `cannot ${rule.verb} ${path}: ${why}`, { ...(cause === undefined ? {} : { cause }), hint: hint ?? rule.hint });
}

async function headOf(path: string): Promise<string> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

/**
 * Checks that a file may be written at `path` under `rule`: its directory exists and is writable, and what is there
 * now (if anything) is a regular file the rule lets lvsform replace. Run it before the work (so that a typo is found at
 * once) and again right before the rename (writeFileSafely does).
 */
export async function checkFileTarget(path: string, rule: FileRule): Promise<void> {
  const dir = dirname(resolve(path));
  // The place, not the file: rule.hint speaks of the file (--force, another name), which would not help here.
  const place = (fallback: string) => rule.placeHint ?? fallback;
  const info = await stat(dir).catch((e: unknown) => {
    throw fileError(
      path,
      rule,
      `the directory ${dir} does not exist`,
      e,
      place(`Create it first (mkdir -p ${dir}), or write to a file in an existing directory.`),
    );
  });
  if (!info.isDirectory()) throw fileError(path, rule, `${dir} is not a directory`, undefined, place('Write to a file in an existing directory.'));
  await access(dir, constants.W_OK).catch((e: unknown) => {
    throw fileError(
      path,
      rule,
      `the directory ${dir} is not writable`,
      e,
      place(`Make ${dir} writable for this user, or write to a file in another directory.`),
    );
  });
  // bigint: its inode number (fileIdentity) is not rounded.
  const existing = await lstat(path, { bigint: true }).catch(() => undefined);
  if (existing === undefined) return;
  if (existing.isDirectory()) throw fileError(path, rule, 'it is a directory');
  if (!existing.isFile()) throw fileError(path, rule, `it is ${kindOf(existing)}; lvsform writes only regular files and replaces nothing else`);
  const id = fileIdentity(existing);
  const input = rule.inputs?.find((f) => f.id === id);
  if (input !== undefined) {
    const same = resolve(input.path) === resolve(path) ? '' : ` (${input.path})`;
    throw fileError(
      path,
      rule,
      `it is the file this run read from${same}; nothing was written`,
      undefined,
      'Write to another file: the one read stays as it is.',
    );
  }
  if (rule.replace === 'regular') return;
  if (rule.replace === 'never') throw fileError(path, rule, rule.exists ?? 'it exists');
  if (existing.size === 0n) return;
  const head = await headOf(path).catch(() => '');
  if (!rule.isOurs?.(head)) {
    throw fileError(
      path,
      rule,
      `it exists and is not ${rule.ours ?? 'a file lvsform wrote'}; lvsform replaces only files it wrote`,
      undefined,
      `Choose another file name, or remove ${path} yourself if it is no longer needed.`,
    );
  }
}

/**
 * Writes `data` to `path` under `rule`: into a temporary file beside it, synced, then renamed into place (or linked,
 * under `never`, so that a file that appeared meanwhile is not replaced). A failure removes the temporary file and
 * leaves `path` as it was.
 */
export async function writeFileSafely(path: string, data: string, rule: FileRule, mode = 0o666): Promise<void> {
  await checkFileTarget(path, rule);
  const untouched = (await lstat(path).catch(() => undefined)) ? `${path} was left as it was` : 'nothing was written';
  const tmp = join(dirname(resolve(path)), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  const clean = () => rm(tmp, { force: true }).catch(() => undefined);
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (e) {
    await clean();
    throw fileError(path, rule, `${errnoText(e)}; ${untouched}`, e);
  }
  try {
    await checkFileTarget(path, rule);
    if (rule.replace === 'never') {
      await link(tmp, path);
      await unlink(tmp);
    } else {
      await rename(tmp, path);
    }
  } catch (e) {
    await clean();
    if (e instanceof LvsError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw fileError(path, rule, rule.exists ?? 'it exists', e);
    throw fileError(path, rule, `${errnoText(e)}; ${untouched}`, e);
  }
}

/**
 * Creates the new files `files` (name → text) in `dir`, which is created when missing; replaces nothing. Either all
 * are written or none is: on a failure, the files and directories this call created are removed again.
 */
export async function createFiles(dir: string, files: Readonly<Record<string, string>>, rule: FileRule): Promise<void> {
  const root = resolve(dir);
  // The nearest existing ancestor of `root` (or `root` itself) must be a directory.
  let made: string | undefined;
  for (let at = root; ; at = dirname(at)) {
    const info = await stat(at).catch(() => undefined);
    if (info === undefined) {
      if (dirname(at) === at) break;
      continue;
    }
    if (!info.isDirectory()) {
      throw fileError(root, rule, at === root ? `it is ${kindOf(info)}, not a directory` : `${at} on its way is ${kindOf(info)}, not a directory`);
    }
    break;
  }
  const existing: string[] = [];
  for (const name of Object.keys(files)) if ((await lstat(join(root, name)).catch(() => undefined)) !== undefined) existing.push(name);
  if (existing.length) throw fileError(root, rule, `it already has ${existing.join(', ')}; ${rule.exists ?? 'nothing was written'}`);
  const written: string[] = [];
  try {
    made = await mkdir(root, { recursive: true });
    for (const [name, text] of Object.entries(files)) {
      const file = join(root, name);
      const fh = await open(file, 'wx');
      written.push(file);
      try {
        await fh.writeFile(text);
      } finally {
        await fh.close();
      }
    }
  } catch (e) {
    for (const file of written.reverse()) await unlink(file).catch(() => undefined);
    // mkdir returns the first directory it created: remove that one and those below it, which hold nothing else.
    if (made !== undefined) await removeCreatedDirs(made, root);
    if (e instanceof LvsError) throw e;
    throw fileError(root, rule, `${errnoText(e)}; nothing was written`, e, 'Check the directory, its permissions and the free space.');
  }
}

/** Removes `root` and its parents up to `first` (the first directory mkdir created), each only when empty. */
async function removeCreatedDirs(first: string, root: string): Promise<void> {
  for (let d = root; d === first || d.startsWith(first + sep); d = dirname(d)) {
    const gone = await rmdir(d).then(
      () => true,
      () => false,
    );
    if (!gone || d === first) return;
  }
}
