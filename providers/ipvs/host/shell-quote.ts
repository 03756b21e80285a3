/**
 * Quoting for POSIX `sh`. Every value that reaches a host's shell goes through `shQuote`: it is wrapped in single
 * quotes, inside which `sh` interprets nothing, and each single quote is written as `'\''`. NUL cannot travel in a
 * shell word at all, so it is refused rather than silently truncated by the remote shell.
 */
import { LvsError } from '../model/errors.ts';

export function shQuote(value: string | number): string {
  const text = String(value);
  if (text.includes('\0')) {
    throw new LvsError('LVS_UNSAFE_VALUE', `a value meant for a host's shell contains a NUL byte: ${JSON.stringify(text)}`, {
      hint: 'Remove the NUL byte from the value (a host name, path or name in the app or on the command line).',
    });
  }
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** A command line for a POSIX shell: each word quoted. */
export function shJoin(argv: readonly (string | number)[]): string {
  return argv.map(shQuote).join(' ');
}

/**
 * A here-document body that cannot end early: the delimiter is chosen so that no line of `body` equals it.
 * Returns `<<'DELIM'\n…\nDELIM` ready to follow a command.
 */
export function hereDoc(body: string, base = 'LVSFORM_EOF'): string {
  // A search of the text, not a set of its lines: a batch of 10,000 services has 50,000 of them.
  const isLine = (delim: string): boolean => {
    for (let at = body.indexOf(delim); at >= 0; at = body.indexOf(delim, at + 1)) {
      const end = at + delim.length;
      if ((at === 0 || body[at - 1] === '\n') && (end === body.length || body[end] === '\n')) return true;
    }
    return false;
  };
  let delim = base;
  for (let i = 0; isLine(delim); i += 1) delim = `${base}_${i}`;
  const text = body.endsWith('\n') || body === '' ? body : `${body}\n`;
  return `<<'${delim}'\n${text}${delim}`;
}
