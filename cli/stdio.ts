/**
 * Standard output and standard error that cannot be written. Node reports a failed write as an `'error'` event on the
 * stream, and an unhandled one ends the process with a stack trace: `lvsform show web.plan > /dev/full` (ENOSPC) or
 * `lvsform import --save big | head -1` (EPIPE, the reader has gone). A reader that has gone is not an error of
 * lvsform's: like a C program killed by SIGPIPE (which Node ignores), lvsform stops at once, prints nothing, and exits
 * 141 (128 + SIGPIPE), the status a shell shows for `yes | head -1`. Any other failure stops it with one error line on
 * standard error (when that still works) and exit 1.
 */
import { constants } from 'node:os';
import { printError } from './print-error.ts';

const SIGPIPE_STATUS = 128 + constants.signals.SIGPIPE;
let installed = false;

function describe(e: NodeJS.ErrnoException): string {
  return `${e.message.replace(/^\w+: /, '').replace(/, write$/, '')}${e.code ? ` (${e.code})` : ''}`;
}

/** Installs the handlers once per process (`main` may run several times in one process, as the tests do). */
export function guardStdio(exit: (code: number) => never = process.exit): void {
  if (installed) return;
  installed = true;
  let failed = false;
  const onError = (name: 'standard output' | 'standard error') => (e: NodeJS.ErrnoException) => {
    if (failed) return;
    failed = true;
    if (e.code === 'EPIPE') exit(SIGPIPE_STATUS);
    if (name === 'standard output') {
      try {
        printError({
          code: 'LVS_OUTPUT_WRITE',
          message: `cannot write to standard output: ${describe(e)}`,
          hint: 'Check where the output goes (a full disk, a closed file); the command stopped.',
        });
      } catch {
        // Standard error is gone too: the exit status is all that is left.
      }
    }
    exit(1);
  };
  process.stdout.on('error', onError('standard output'));
  process.stderr.on('error', onError('standard error'));
}
