/**
 * Errors with a stable `code`, a message a person can act on (it names the file, line, director or construct path and
 * says what to do), and `cause` for the underlying error. The CLI prints `message` (and `hint`); `--json` prints `code`.
 */
export class LvsError extends Error {
  readonly code: string;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LvsError';
    this.code = code;
    this.hint = options.hint;
  }
}

export function isLvsError(e: unknown): e is LvsError {
  return e instanceof LvsError;
}
