/**
 * JSON.parse that refuses an object with the same key twice. JSON.parse keeps the last value without a word, so a
 * second, empty `"lvsform_virtual_service": {}` in a hand-edited cdk.tf.json would read every service as absent and
 * a plan would destroy them all; a duplicated `"port"` would quietly take the last value. No reviver can see a
 * duplicate (it is given the object after the last value won), so the text is scanned.
 *
 * JSON.parse judges the syntax first (its messages stay the ones users know); the scan then runs over text known to
 * be valid JSON, so it only has to tell strings, keys and nesting apart. Keys are compared decoded: `"a"` and
 * `"\u0061"` are the same key, as they are to JSON.parse.
 */

/** A valid JSON text that holds one object key twice. `path` is the key's path, `line` the line of its second use. */
export class DuplicateKeyError extends SyntaxError {
  readonly key: string;
  readonly path: string;
  readonly line: number;

  constructor(key: string, path: string, line: number) {
    super(`duplicate key ${path} (line ${line}): an object holds ${JSON.stringify(key)} twice, and JSON would keep only the last value`);
    this.name = 'DuplicateKeyError';
    this.key = key;
    this.path = path;
    this.line = line;
  }
}

/**
 * Parses JSON text like JSON.parse, and throws DuplicateKeyError when an object holds a key twice. Throws JSON.parse's
 * own SyntaxError on text that is not JSON. A leading byte-order mark is not removed: callers that read files do that.
 */
export function parseJsonStrict(text: string): unknown {
  const value: unknown = JSON.parse(text);
  // Only objects can hold a duplicate; a text without '{' past its first character has none.
  if (typeof value === 'object' && value !== null) findDuplicateKey(text);
  return value;
}

interface Frame {
  /** Keys seen so far; undefined for an array. */
  readonly keys: Set<string> | undefined;
  /** The key or index under which this container sits in its parent, for the path. */
  readonly at: string | number | undefined;
  /** The current key (objects) or index (arrays) inside this container. */
  inner: string | number | undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Scans valid JSON text and throws DuplicateKeyError at the first key seen twice in one object. */
function findDuplicateKey(text: string): void {
  const stack: Frame[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      const top = stack[stack.length - 1];
      if (expectKey && top?.keys !== undefined) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        if (top.keys.has(key)) throw new DuplicateKeyError(key, pathOf(stack, key), lineAt(text, i));
        top.keys.add(key);
        top.inner = key;
        expectKey = false;
      }
      i = end;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const parent = stack[stack.length - 1];
      stack.push({ keys: c === 0x7b ? new Set() : undefined, at: parent?.inner, inner: c === 0x7b ? undefined : 0 });
      expectKey = c === 0x7b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.keys !== undefined) expectKey = true;
      else if (top !== undefined) top.inner = (top.inner as number) + 1;
    }
  }
}

/** Index of the quote that closes the string opened at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const q = text.indexOf('"', i);
    // Valid JSON closes every string; the guard keeps a bad caller from looping.
    if (q < 0) return text.length;
    let slashes = 0;
    for (let j = q - 1; text.charCodeAt(j) === BACKSLASH; j--) slashes++;
    if (slashes % 2 === 0) return q;
    i = q + 1;
  }
}

/** The path of `key` in the innermost open object: `resource.lvsform_virtual_service`, `services[2].port`. */
function pathOf(stack: readonly Frame[], key: string): string {
  let out = '';
  for (const p of [...stack.slice(1).map((f) => f.at), key]) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (p !== undefined && /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(p)) out += out === '' ? p : `.${p}`;
    else if (p !== undefined) out += `[${JSON.stringify(p)}]`;
  }
  return out;
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}
