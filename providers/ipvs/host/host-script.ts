/**
 * The POSIX `sh` chunks lvsform runs on a director. Every variable part is either shell-quoted (`shQuote`) or sent as
 * a quoted here-document; nothing from the app, the plan or the host's own output is ever interpreted by the shell.
 *
 * Sections of output are delimited by marker lines that carry the session's random tag, so that output printed by
 * the host (a hostile or broken `ipvsadm`) cannot forge a section.
 */
import { SAFE_NAME } from '../model/limits.ts';
import { LvsError } from '../model/errors.ts';
import { gzipSync } from 'node:zlib';
import { hereDoc, shQuote } from './shell-quote.ts';

/** Where lvsform keeps its files on a director: ownership records (`<stack>.json`) and the lock. */
export const STATE_DIR = '/var/lib/lvsform';

/**
 * The quoted file name of a stack's record (or of its temporary file). A stack name comes from synthesized JSON or a
 * saved plan, both files a person can edit: one that could leave the state directory (`../x`) or is no plain file
 * name is refused here, at the one place every record path is built.
 */
export function stackFile(stack: string, prefix = '', suffix = '.json'): string {
  if (!SAFE_NAME.test(stack)) {
    throw new LvsError('LVS_UNSAFE_VALUE', `stack name ${JSON.stringify(stack)} is not a plain file name`, {
      hint: 'A stack name is letters, digits, . _ - (up to 63, starting with a letter or digit); synthesize the app again or make a new plan.',
    });
  }
  return shQuote(`${prefix}${stack}${suffix}`);
}

/** What every section marker line starts with (then the session's tag and the section's name). */
export const SECTION_MARK = '@@lvsform-section';

export function sectionLine(tag: string, name: string): string {
  return `${SECTION_MARK} ${tag} ${name}`;
}

/**
 * A chunk that runs only when the lock sent before it in the same round trip was taken (`lockChunk` sets
 * `lvs_lock_ok`); after a refused lock it prints nothing.
 */
export function whenLocked(chunk: string): string {
  return `if [ "$lvs_lock_ok" = 1 ]; then\n${chunk}\nfi`;
}

/** The line that opens a section of a chunk's output. */
export function section(tag: string, name: string): string {
  return `printf '%s\\n' ${shQuote(sectionLine(tag, name))}`;
}

/** Splits a chunk's output into its sections. Text before the first marker is returned under ''. */
export function splitSections(tag: string, stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  const prefix = `${SECTION_MARK} ${tag} `;
  let name = '';
  let lines: string[] = [];
  for (const line of stdout.split('\n')) {
    if (line.startsWith(prefix)) {
      out.set(name, lines.join('\n'));
      name = line.slice(prefix.length);
      lines = [];
    } else {
      lines.push(line);
    }
  }
  out.set(name, lines.join('\n'));
  return out;
}

/**
 * Sets a predictable environment: C locale, a PATH with the sbin directories, private file modes (umask 077: every
 * file and directory the session creates is 0600 / 0700 without a `chmod`).
 *
 * Under emulation, and on small hosts, each process a chunk starts costs tenths of a second, so chunks use the
 * shell's builtins wherever one does the job (`[ -d ]`, `read`, redirections) and start only the commands that matter.
 */
export function preludeChunk(): string {
  return [
    'LC_ALL=C; export LC_ALL',
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH; export PATH',
    'umask 077',
    `lvs_dir=${shQuote(STATE_DIR)}`,
    'true',
  ].join('\n');
}

export interface LockRequest {
  readonly exclusive: boolean;
  /** Seconds to wait for the lock; 0 = fail at once. */
  readonly waitSeconds: number;
  /** Who holds it, written for `force-unlock` and "locked by" messages (one line, no secrets). */
  readonly holder: string;
}

/**
 * Takes the director's lock on file descriptor 9 of the session's shell. The kernel releases it when the shell ends,
 * whatever ends it (a finished run, a dropped connection, a killed process). Prints `@@lock ok` (and sets
 * `lvs_lock_ok=1` for the chunks that follow), `@@lock busy` followed by the holder's line, `@@lock noflock`, or
 * `@@lock denied USER` when the login cannot write the state directory.
 */
export function lockChunk(req: LockRequest): string {
  const mode = req.exclusive ? '-x' : '-s';
  const holder = req.holder.replace(/[\r\n\0]/g, ' ');
  return [
    'if ! command -v flock >/dev/null 2>&1; then echo "@@lock noflock"',
    // A login that is not root (and no sudo) cannot write the state directory: say so before `exec 9>>` would fail
    // and end the shell. Root passes this test without starting a process.
    // The directory is made private when it is made (no chmod on every run: a process each time); `lvsform doctor`
    // reports a state directory that someone else opened to other users.
    'elif ! { { [ -d "$lvs_dir" ] || mkdir -m 700 -p "$lvs_dir" 2>/dev/null; } && [ -w "$lvs_dir" ]; }; then echo "@@lock denied $(id -un 2>/dev/null)"; else',
    '  exec 9>>"$lvs_dir/lock"',
    `  if flock ${mode} -w ${Math.max(0, Math.floor(req.waitSeconds))} 9; then`,
    `    printf '%s %s\\n' "$$" ${shQuote(`${req.exclusive ? 'exclusive' : 'shared'} ${holder}`)} > "$lvs_dir/lock.holder"`,
    '    lvs_lock_ok=1; echo "@@lock ok"',
    '  else',
    '    echo "@@lock busy"; cat "$lvs_dir/lock.holder" 2>/dev/null',
    '  fi',
    'fi',
  ].join('\n');
}

export interface ReadRequest {
  readonly tag: string;
  readonly stack: string;
  /** Also list thresholds (`ipvsadm -S` omits them). */
  readonly thresholds: boolean;
  /** Also print the ownership record. */
  readonly record: boolean;
  /** Read only when the lock of the same round trip was taken (`lockChunk` sent just before, in one `run`). */
  readonly whenLocked?: boolean;
}

/**
 * Reads the live table: `ipvsadm -S -n`, then `ipvsadm -L -n --thresholds`, then the stack's ownership record. The
 * record is followed by a newline of its own, so that a record damaged to lack its last newline still ends before the
 * next marker (and is then reported as corrupt, not as a broken read).
 */
export function readChunk(req: ReadRequest): string {
  const lines = [
    section(req.tag, 'ipvsadm-version'),
    'command -v ipvsadm >/dev/null 2>&1 || echo "@@missing ipvsadm"',
    section(req.tag, 'save'),
    'ipvsadm -S -n 2>&1 9>&-; lvs_rc=$?',
    section(req.tag, 'save-status'),
    'echo "$lvs_rc"',
  ];
  if (req.thresholds) {
    lines.push(section(req.tag, 'thresholds'), 'ipvsadm -L -n --thresholds 2>&1 9>&-');
  }
  if (req.record) {
    lines.push(
      section(req.tag, 'record'),
      `if [ -f "$lvs_dir"/${stackFile(req.stack)} ]; then cat "$lvs_dir"/${stackFile(req.stack)}; echo; else echo "@@none"; fi`,
      otherRecordsChunk(req.tag, req.stack),
    );
  }
  lines.push(section(req.tag, 'end'));
  return req.whenLocked ? whenLocked(lines.join('\n')) : lines.join('\n');
}

/** The name of the section that holds the record of another stack: `other <stack>`. */
export const OTHER_RECORD_SECTION = 'other ';

/**
 * Prints the ownership record of every other stack on the director, one section `other <stack>` each, so that a plan
 * knows which services another stack owns (ownership is exclusive). The glob and the tests are the shell's own: no
 * process starts when no other stack has a record. A file whose name is not a stack name (the temporary `.x.json.tmp`
 * is hidden from `*`) is skipped, so no name can break a marker line.
 */
export function otherRecordsChunk(tag: string, stack: string): string {
  return [
    'for lvs_f in "$lvs_dir"/*.json; do',
    '  [ -f "$lvs_f" ] || continue',
    '  lvs_n=${lvs_f##*/}; lvs_n=${lvs_n%.json}',
    `  case $lvs_n in ${stackFile(stack, '', '')}|""|[!A-Za-z0-9]*|*[!A-Za-z0-9_.-]*) continue ;; esac`,
    `  printf '%s %s\\n' ${shQuote(sectionLine(tag, OTHER_RECORD_SECTION.trim()))} "$lvs_n"; cat "$lvs_f"; echo`,
    'done',
  ].join('\n');
}

/** Lists the table with connection counters (`ipvsadm -L -n`), for draining and status. */
export function listChunk(tag: string, extra: '' | '--stats' | '--rate' = ''): string {
  return [section(tag, 'list'), `ipvsadm -L -n ${extra} 2>&1 9>&-`, section(tag, 'end')].join('\n');
}

/** Feeds a batch to `ipvsadm -R` and prints what it said and its exit status. */
export function batchChunk(tag: string, batch: string): string {
  return [
    section(tag, 'restore'),
    `ipvsadm -R 2>&1 9>&- ${hereDoc(batch)}`,
    'lvs_rc=$?',
    section(tag, 'restore-status'),
    'echo "$lvs_rc"',
    section(tag, 'end'),
  ].join('\n');
}

/**
 * Up to this many characters a file's text travels as one quoted word written by the shell's printf (no process);
 * above it, compressed where the host has gzip (the transfer then matters more than the two processes).
 */
const INLINE_WRITE_MAX = 262_144;

/**
 * Without gzip on the host, a text up to this size still travels as one printf word rather than as a `cat` of a
 * here-document (a process that costs 0.1–0.6 s on an emulated director, and dash forks a writer for a large
 * here-document too). The record of 10,000 services is ≈ 0.7 MB. dash, bash and busybox sh hold a word of a few
 * megabytes without trouble (printf is their builtin: no argument-length limit applies).
 */
export const PRINTF_WRITE_MAX = 4_194_304;

/**
 * The command that writes `text` (and a final newline) to the file `target` (a quoted path): the shell's own printf for
 * a small text, or for a large one on a host with gzip and base64, the compressed text decoded there; without them,
 * printf up to `PRINTF_WRITE_MAX` and `cat` of a here-document above.
 */
export function writeFileCommand(target: string, text: string, gzip: boolean): string {
  const body = text.endsWith('\n') ? text : `${text}\n`;
  const printable = !body.includes('\0');
  if (body.length <= INLINE_WRITE_MAX && printable) return `printf '%s' ${shQuote(body)} > ${target}`;
  if (gzip) {
    // The pipeline stands on the here-document's first line (its delimiter must stand alone on the last line), so
    // base64 reads the document and nothing else: two processes, no temporary file.
    const [redirect, ...rest] = hereDoc(gzipSync(body, { level: 6 }).toString('base64')).split('\n');
    return [`base64 -d ${redirect} | gzip -dc > ${target}`, ...rest].join('\n');
  }
  if (body.length <= PRINTF_WRITE_MAX && printable) return `printf '%s' ${shQuote(body)} > ${target}`;
  return `cat > ${target} ${hereDoc(body)}`;
}

/** Writes the ownership record atomically (temporary file in the same directory, then rename), mode 0600. */
export function writeRecordChunk(stack: string, json: string | undefined, gzip = false): string {
  const file = `"$lvs_dir"/${stackFile(stack)}`;
  if (json === undefined) return `rm -f ${file}; echo "@@record removed"`;
  const tmp = `"$lvs_dir"/${stackFile(stack, '.', '.json.tmp')}`;
  const write = writeFileCommand(tmp, json, gzip);
  // The temporary file is created under the session's umask 077 (0600); the directory exists once the lock is held.
  return ['[ -d "$lvs_dir" ] || mkdir -p "$lvs_dir"', write, `mv -f ${tmp} ${file} && echo "@@record written"`].join('\n');
}

/**
 * Releases the lock before the shell ends, and forgets the holder line if it is this shell's: the file is emptied by
 * the shell's own redirection (no `rm` process); an empty holder file means no holder, as a missing one does.
 */
export function unlockChunk(): string {
  return [
    'lvs_holder=""; [ -f "$lvs_dir/lock.holder" ] && read -r lvs_holder lvs_rest < "$lvs_dir/lock.holder"',
    'if [ "$lvs_holder" = "$$" ]; then : > "$lvs_dir/lock.holder"; fi',
    'exec 9>&- 2>/dev/null',
    'true',
  ].join('\n');
}

/** For `force-unlock`: frees the lock if its holder is gone, refuses while the holder process is alive. */
export function forceUnlockChunk(): string {
  return [
    'if [ ! -s "$lvs_dir/lock.holder" ]; then echo "@@unlock none"; else',
    '  lvs_pid=$(cut -d" " -f1 "$lvs_dir/lock.holder")',
    '  case "$lvs_pid" in ""|*[!0-9]*) lvs_pid=0 ;; esac',
    '  if [ "$lvs_pid" -gt 0 ] && kill -0 "$lvs_pid" 2>/dev/null; then echo "@@unlock alive"; cat "$lvs_dir/lock.holder"; else',
    '    exec 9>>"$lvs_dir/lock"',
    '    if flock -x -n 9; then rm -f "$lvs_dir/lock.holder"; echo "@@unlock freed"; cat /dev/null; exec 9>&-; else',
    '      echo "@@unlock held"; fi',
    '  fi',
    'fi',
  ].join('\n');
}
