/** One thing wrong with an app: the construct path it belongs to and what to do about it. */
export interface ValidationProblem {
  /** Construct path (`web/lb1/http`), or the API call for a value judged outside any construct. */
  readonly path: string;
  /** What is wrong, the value that was given, and what to do. */
  readonly message: string;
}

/**
 * Thrown when an app describes something IPVS cannot do, or does not do as written.
 *
 * Props that can be judged alone throw at once (one problem); rules that depend on later calls are checked at
 * synth, where every problem of every stack is gathered into one error and nothing is written.
 */
export class ValidationError extends Error {
  /** Stable code for scripts and `--json` output. */
  readonly code = 'LVS_VALIDATION';
  /** Every problem found, in construct-tree order. */
  readonly problems: readonly ValidationProblem[];
  /** What to do next, for the command line. */
  readonly hint: string | undefined;

  constructor(problems: readonly ValidationProblem[]) {
    super(ValidationError.format(problems));
    this.name = 'ValidationError';
    this.problems = problems;
    this.hint = problems.length > 1 ? 'fix every problem listed; nothing was synthesized' : undefined;
  }

  /** Throws a ValidationError with one problem. */
  static fail(path: string, message: string): never {
    throw new ValidationError([{ path, message }]);
  }

  private static format(problems: readonly ValidationProblem[]): string {
    const line = (p: ValidationProblem): string => (p.path ? `${p.path}: ${p.message}` : p.message);
    if (problems.length === 1) return line(problems[0]!);
    return `${problems.length} problems in the app:\n${problems.map((p) => `  - ${line(p)}`).join('\n')}`;
  }
}

/** True for a ValidationError (also across module copies, by its code). */
export function isValidationError(e: unknown): e is ValidationError {
  return e instanceof ValidationError || (e instanceof Error && (e as { code?: unknown }).code === 'LVS_VALIDATION');
}
