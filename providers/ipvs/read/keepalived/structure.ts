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

/** What keepalived's read_unsigned() makes of a word: the number, and what it warned about on the way. */
export interface KeepalivedNumber {
  readonly value: number;
  /** keepalived accepted the word with a warning (a lenient keyword: `weight 7x` is 7). */
  readonly lenient?: string;
}

const ULONG_MAX = (1n << 64n) - 1n;
const UINT_MAX = 4_294_967_295n;

/**
 * keepalived's read_unsigned(): leading white space is skipped (`weight "  7"` is 7), then strtoul() in base 10
 * (a sign, digits). A word with more after the digits, a negative one or one out of range is refused; but a lenient
 * keyword (keepalived's `ignore_error`: weight, uthreshold, lthreshold) keeps the value strtoul() read when it is
 * in range, with a warning (`weight 7x` is 7, `weight abc` is 0). The empty word reads 0, as in keepalived.
 */
export function readUnsigned(word: string | undefined, min: number, max: number, lenient = false): KeepalivedNumber | undefined {
  if (word === undefined) return undefined;
  const text = word.replace(/^[ \t\f\n\r\v]+/, '');
  const m = /^[ \t\f\n\r\v]*([+-]?)([0-9]*)/.exec(text)!;
  const digits = m[2]!;
  let value = 0n;
  let overflow = false;
  let rest = text;
  if (digits !== '') {
    value = BigInt(digits);
    if (value > ULONG_MAX) {
      value = ULONG_MAX;
      overflow = true;
    } else if (m[1] === '-') value = (ULONG_MAX + 1n - value) % (ULONG_MAX + 1n);
    rest = text.slice(m[0].length);
  }
  const problem = text.startsWith('-')
    ? 'is negative'
    : rest !== ''
      ? 'is not a number'
      : overflow || value > UINT_MAX
        ? 'is out of range'
        : value < BigInt(min) || value > BigInt(max)
          ? `is outside ${min}..${max}`
          : undefined;
  if (problem === undefined) return { value: Number(value) };
  if (lenient && value >= BigInt(min) && value <= BigInt(max)) {
    return { value: Number(value), lenient: `${JSON.stringify(word)} ${problem}; keepalived warns and reads it as ${value}` };
  }
  return undefined;
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

  // One statement per line: keepalived continues no line (a `\` at the end is part of the last word), and the line
  // layer (keepalived/lines.ts) has already removed the comments.
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = lines[i]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const nul = line.indexOf('\u0000');
    if (nul >= 0) fail(source, lineNo, 'NUL byte in the configuration', 'This is not a text keepalived.conf; check the file.');
    flush();
    wordsLine = lineNo;
    let p = 0;
    while (p < line.length) {
      const c = line[p]!;
      if (c === ' ' || c === '\t' || c === '\v' || c === '\f' || c === '\r') {
        p++;
        continue;
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
      while (q < line.length && !' \t\v\f\r{}"'.includes(line[q]!)) q++;
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
