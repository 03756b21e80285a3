/**
 * How an error reads on standard error, everywhere the CLI prints one (main.ts, the verbs' per-director reports,
 * stdio.ts): `Error [CODE]: message` and, indented on the next line, the hint.
 */
import type { ErrorInfo } from '../providers/ipvs/model/errors.ts';

export function errorText(e: ErrorInfo): string {
  return `Error [${e.code}]: ${e.message}\n${e.hint ? `  ${e.hint}\n` : ''}`;
}

/** Writes `errorText(e)` to standard error. */
export function printError(e: ErrorInfo): void {
  process.stderr.write(errorText(e));
}
