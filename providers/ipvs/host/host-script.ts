/**
 * What every request's script shares (requests/): the state directory and its file names, the session's environment,
 * and the one way a file's text is written. Every variable part is either shell-quoted (`shQuote`) or sent as a quoted
 * here-document; nothing from the app, the plan or the host's own output is ever interpreted by the shell.
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

/**
 * Sets a predictable environment: C locale, a PATH with the sbin directories, private file modes (umask 077: every
 * file and directory the session creates is 0600 / 0700 without a `chmod`), and SIGPIPE ignored, so that a script the
 * shell has read runs to its end when the connection is lost.
 *
 * Under emulation, and on small hosts, each process a chunk starts costs tenths of a second, so chunks use the
 * shell's builtins wherever one does the job (`[ -d ]`, `read`, redirections) and start only the commands that matter.
 */
export function preludeChunk(): string {
  return [
    'LC_ALL=C; export LC_ALL',
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH; export PATH',
    'umask 077',
    // A lost connection must not end the shell at its next write: the rest of the script it has read (the ownership
    // record after a batch) still runs, and the end of its input ends it. (A write then fails with EPIPE instead.)
    "trap '' PIPE",
    `lvs_dir=${shQuote(STATE_DIR)}`,
    'true',
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
