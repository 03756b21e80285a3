/**
 * Errors with a stable `code`, a message a person can act on (it names the file, line, director or construct path and
 * says what to do), and `cause` for the underlying error. The CLI prints `message` (and `hint`); `--json` prints `code`.
 */
import type { ErrorCode } from './error-codes.ts';

export { ERROR_CODES, isErrorCode, type ErrorCode } from './error-codes.ts';

export class LvsError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LvsError';
    this.code = code;
    this.hint = options.hint;
  }
}

/** The errors behind `e`, outermost first (`e` itself excluded): one line each, the code first when there is one. */
export function causeChain(e: unknown): string[] {
  const lines: string[] = [];
  const seen = new Set<unknown>();
  let cause = e instanceof Error ? e.cause : undefined;
  while (cause !== undefined && !seen.has(cause) && lines.length < 20) {
    seen.add(cause);
    if (cause instanceof LvsError) lines.push(`[${cause.code}] ${cause.message}`);
    else if (cause instanceof Error) lines.push(`${cause.name}: ${cause.message}`);
    else lines.push(String(cause));
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return lines;
}

export function isLvsError(e: unknown): e is LvsError {
  return e instanceof LvsError;
}

/** An error as data, as plans, outcomes, reports and `--json` carry it. */
export interface ErrorInfo {
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
}

/** The one conversion of a caught error to data: an LvsError as it is, anything else as `LVS_INTERNAL`. */
export function errorInfo(e: unknown): ErrorInfo {
  if (isLvsError(e)) return { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
  return { code: 'LVS_INTERNAL', message: e instanceof Error ? e.message : String(e) };
}
