/**
 * keepalived.conf structure: lines (after keepalived/lines.ts has expanded includes and definitions) to words, to
 * statements with nested blocks, as keepalived's own reader splits them. No meaning is given to any keyword here.
 */
import { describeValue } from '../../model/describe-value.ts';
import { LvsError } from '../../model/errors.ts';

/** The deepest block nesting accepted (keepalived's own configurations nest five or six levels). */
export const MAX_KEEPALIVED_DEPTH = 32;

/** The largest configuration read (bytes of text). */
export const MAX_KEEPALIVED_BYTES = 16 * 1024 * 1024;

export const CODE = 'LVS_PARSE_KEEPALIVED';

/** An unsigned integer word in [min, max], or undefined. */
export function parseUint(text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined || !/^[0-9]{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= max ? n : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Structure: lines -> tokens -> statements with nested blocks.

export interface Stmt {
  readonly words: string[];
  readonly line: number;
  block?: Stmt[];
}

/** Where line N of the text came from (`file:line`); the plain `source:N` for text read alone. */
export type Origin = (line: number) => string;

export function fail(source: string | Origin, line: number, message: string, hint?: string): never {
  const where = typeof source === 'string' ? `${source}:${line}` : source(line);
  throw new LvsError(CODE, `${where}: ${message}`, hint === undefined ? {} : { hint });
}

/** A token of the input as a message shows it: quoted, cut with its length when long (model/describe-value.ts). */
export function shown(token: string): string {
  return describeValue(token);
}

/** Splits the text into statements and blocks as keepalived's reader does; throws on broken structure. */
export function parseStructure(text: string, source: string | Origin): Stmt[] {
  if (text.length > MAX_KEEPALIVED_BYTES) {
    fail(source, 1, `the file is ${text.length} bytes; the import reads at most ${MAX_KEEPALIVED_BYTES}`, 'Import the IPVS part of the configuration only.');
  }
  const root: Stmt[] = [];
  const stack: { stmts: Stmt[]; line: number }[] = [{ stmts: root, line: 0 }];
  let words: string[] = [];
  let wordsLine = 1;
  const top = () => stack[stack.length - 1]!;
  const flush = (): void => {
    if (words.length > 0) top().stmts.push({ words, line: wordsLine });
    words = [];
  };

  const lines = text.split('\n');
  let continued = false;
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = lines[i]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const nul = line.indexOf('\u0000');
    if (nul >= 0) fail(source, lineNo, 'NUL byte in the configuration', 'This is not a text keepalived.conf; check the file.');
    if (!continued) {
      flush();
      wordsLine = lineNo;
    }
    continued = false;
    let p = 0;
    while (p < line.length) {
      const c = line[p]!;
      if (c === ' ' || c === '\t' || c === '\v' || c === '\f') {
        p++;
        continue;
      }
      if (c === '#' || c === '!') break;
      if (c === '\\' && p === line.length - 1) {
        continued = true;
        break;
      }
      if (c === '{') {
        const owner = words.length > 0 ? (flush(), top().stmts[top().stmts.length - 1]!) : top().stmts[top().stmts.length - 1];
        if (owner === undefined || owner.block !== undefined) fail(source, lineNo, "'{' without a keyword before it");
        if (stack.length > MAX_KEEPALIVED_DEPTH) {
          fail(source, lineNo, `blocks nest deeper than ${MAX_KEEPALIVED_DEPTH} levels`, 'Check for unbalanced braces.');
        }
        owner.block = [];
        stack.push({ stmts: owner.block, line: lineNo });
        wordsLine = lineNo;
        p++;
        continue;
      }
      if (c === '}') {
        flush();
        if (stack.length === 1) fail(source, lineNo, "'}' closes no block", 'Check for unbalanced braces.');
        stack.pop();
        wordsLine = lineNo;
        p++;
        continue;
      }
      if (c === '"') {
        const end = line.indexOf('"', p + 1);
        if (end < 0) fail(source, lineNo, 'unterminated quoted string', 'Close the string with " on the same line.');
        if (words.length === 0) wordsLine = lineNo;
        words.push(line.slice(p + 1, end));
        p = end + 1;
        continue;
      }
      let q = p;
      while (q < line.length && !' \t\v\f{}"'.includes(line[q]!)) q++;
      if (words.length === 0) wordsLine = lineNo;
      words.push(line.slice(p, q));
      p = q;
    }
  }
  flush();
  if (stack.length > 1) {
    fail(source, top().line, `the block opened here is never closed (${stack.length - 1} '}' missing at the end of the file)`, 'Check for unbalanced braces.');
  }
  return root;
}
