/**
 * The glob(3) keepalived's `include` runs: `glob(pattern, GLOB_MARK | GLOB_BRACE)` as glibc implements it, for the
 * import to match the same files in the same order. `{a,b}` braces (nested, empty alternatives allowed) expand first,
 * in order; each alternative is then matched component by component with `*`, `?` and `[...]` (`[!..]`/`[^..]`
 * negation, ranges, `[:class:]`), `\` quoting the next character; a name starting with `.` is matched only by a
 * literal `.` (a hidden file is not matched by `*`). The matches of each alternative are sorted as glibc sorts them
 * in the C locale (byte order); a component without wildcards must exist as written. GLOB_MARK: a matched directory
 * ends with `/`. Node 20 has no fs.glob, and a general-purpose glob library differs from glibc in these details.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The file system the glob reads: a directory's names, and what a path is (undefined when it does not exist). */
export interface GlobFs {
  readdir(dir: string): string[] | undefined;
  /** `lstat` first (a dangling symbolic link exists), then `stat` for whether it leads to a directory. */
  kind(file: string): 'dir' | 'other' | undefined;
}

export const nodeGlobFs: GlobFs = {
  readdir(dir) {
    try {
      return fs.readdirSync(dir);
    } catch {
      return undefined;
    }
  },
  kind(file) {
    try {
      fs.lstatSync(file);
    } catch {
      return undefined;
    }
    try {
      return fs.statSync(file).isDirectory() ? 'dir' : 'other';
    } catch {
      return 'other';
    }
  },
};

/** The index of the `}` closing the `{` at `open`, or -1 (then the brace is an ordinary character, as in glibc). */
function closingBrace(pattern: string, open: number): number {
  let depth = 0;
  for (let i = open; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

/** GLOB_BRACE: the patterns `{a,b}` stands for, left to right, as glibc expands them (`{a}` is `a`). */
export function expandBraces(pattern: string): string[] {
  let open = -1;
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '\\') i++;
    else if (pattern[i] === '{') {
      open = i;
      break;
    }
  }
  if (open < 0) return [pattern];
  const close = closingBrace(pattern, open);
  if (close < 0) return [pattern];
  const alternatives: string[] = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open + 1; i < close; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (c === ',' && depth === 0) {
      alternatives.push(pattern.slice(start, i));
      start = i + 1;
    }
  }
  alternatives.push(pattern.slice(start, close));
  const head = pattern.slice(0, open);
  const tail = pattern.slice(close + 1);
  return alternatives.flatMap((alt) => expandBraces(head + alt + tail));
}

type Token = { kind: 'char'; c: string } | { kind: 'any' } | { kind: 'star' } | { kind: 'set'; test: (c: string) => boolean };

const CLASSES: Record<string, (c: string) => boolean> = {
  alnum: (c) => /^[A-Za-z0-9]$/.test(c),
  alpha: (c) => /^[A-Za-z]$/.test(c),
  blank: (c) => c === ' ' || c === '\t',
  cntrl: (c) => c.length === 1 && (c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127),
  digit: (c) => /^[0-9]$/.test(c),
  graph: (c) => c.length === 1 && c.charCodeAt(0) > 32 && c.charCodeAt(0) < 127,
  lower: (c) => /^[a-z]$/.test(c),
  print: (c) => c.length === 1 && c.charCodeAt(0) >= 32 && c.charCodeAt(0) < 127,
  punct: (c) => /^[!-/:-@[-`{-~]$/.test(c),
  space: (c) => /^[ \t\n\v\f\r]$/.test(c),
  upper: (c) => /^[A-Z]$/.test(c),
  xdigit: (c) => /^[0-9A-Fa-f]$/.test(c),
};

/** A bracket expression starting at chars[i] === '['; undefined when it has no closing `]` (then `[` is literal). */
function bracket(chars: string[], i: number): { token: Token; next: number } | undefined {
  let j = i + 1;
  const negate = chars[j] === '!' || chars[j] === '^';
  if (negate) j++;
  const tests: ((c: string) => boolean)[] = [];
  let first = true;
  for (; j < chars.length; j++) {
    let c = chars[j]!;
    if (c === ']' && !first) {
      const any = (x: string) => tests.some((t) => t(x));
      return { token: { kind: 'set', test: negate ? (x) => !any(x) : any }, next: j + 1 };
    }
    first = false;
    if (c === '[' && (chars[j + 1] === ':' || chars[j + 1] === '=' || chars[j + 1] === '.')) {
      const delim = chars[j + 1]!;
      let end = j + 2;
      while (end + 1 < chars.length && !(chars[end] === delim && chars[end + 1] === ']')) end++;
      if (end + 1 < chars.length) {
        const name = chars.slice(j + 2, end).join('');
        j = end + 1;
        if (delim === ':') {
          // An unknown class makes the whole pattern invalid in glibc: it matches nothing.
          tests.push(CLASSES[name] ?? (() => false));
        } else tests.push((x) => x === name);
        continue;
      }
    }
    if (c === '\\' && j + 1 < chars.length) c = chars[++j]!;
    if (chars[j + 1] === '-' && chars[j + 2] !== undefined && chars[j + 2] !== ']') {
      let hi = chars[j + 2]!;
      j += 2;
      if (hi === '\\' && j + 1 < chars.length) hi = chars[++j]!;
      const lo = c.codePointAt(0)!;
      const high = hi.codePointAt(0)!;
      tests.push((x) => x.codePointAt(0)! >= lo && x.codePointAt(0)! <= high);
    } else {
      const lit = c;
      tests.push((x) => x === lit);
    }
  }
  return undefined;
}

function tokens(pattern: string): Token[] {
  const chars = [...pattern];
  const out: Token[] = [];
  for (let i = 0; i < chars.length; ) {
    const c = chars[i]!;
    if (c === '\\' && i + 1 < chars.length) {
      out.push({ kind: 'char', c: chars[i + 1]! });
      i += 2;
    } else if (c === '*') {
      out.push({ kind: 'star' });
      i++;
    } else if (c === '?') {
      out.push({ kind: 'any' });
      i++;
    } else if (c === '[') {
      const b = bracket(chars, i);
      if (b) {
        out.push(b.token);
        i = b.next;
      } else {
        out.push({ kind: 'char', c });
        i++;
      }
    } else {
      out.push({ kind: 'char', c });
      i++;
    }
  }
  return out;
}

/** Whether a path component has a wildcard glob(3) expands (`*`, `?`, or a `[` with its `]`). */
export function hasWildcard(component: string): boolean {
  return tokens(component).some((t) => t.kind !== 'char');
}

/** fnmatch(3) of one name with FNM_PERIOD: a leading `.` only by a literal `.`. */
export function matchName(pattern: string, name: string): boolean {
  const pat = tokens(pattern);
  const str = [...name];
  if (str[0] === '.' && !(pat[0]?.kind === 'char' && pat[0].c === '.')) return false;
  let p = 0;
  let s = 0;
  let starP = -1;
  let starS = 0;
  while (s < str.length) {
    const t = pat[p];
    if (t !== undefined && t.kind === 'star') {
      starP = p++;
      starS = s;
    } else if (t !== undefined && (t.kind === 'any' || (t.kind === 'char' ? t.c === str[s] : t.test(str[s]!)))) {
      p++;
      s++;
    } else if (starP >= 0) {
      p = starP + 1;
      s = ++starS;
    } else return false;
  }
  while (pat[p]?.kind === 'star') p++;
  return p === pat.length;
}

function unquoted(component: string): string {
  return component.replace(/\\(.)/gs, '$1');
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** One pattern without braces: its matches, sorted, directories marked with a trailing `/`. */
function globOne(pattern: string, cwd: string, gfs: GlobFs): string[] {
  const absolute = pattern.startsWith('/');
  const dirsOnly = pattern.endsWith('/');
  const parts = pattern.split('/').filter((p) => p !== '');
  const join = (base: string, name: string) => (base === '' ? name : base.endsWith('/') ? base + name : `${base}/${name}`);
  const onDisk = (p: string) => path.resolve(cwd, p === '' ? '.' : p);
  let found = [absolute ? '/' : ''];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const last = i === parts.length - 1;
    const next: string[] = [];
    for (const base of found) {
      if (!hasWildcard(part)) {
        next.push(join(base, unquoted(part)));
        continue;
      }
      const names = gfs.readdir(onDisk(base));
      if (names === undefined) continue;
      // readdir(3) lists `.` and `..` too, which `.*` matches (as directories, the include then skips them).
      names.push('.', '..');
      for (const name of names) {
        if (!matchName(part, name)) continue;
        const candidate = join(base, name);
        if (last || gfs.kind(onDisk(candidate)) === 'dir') next.push(candidate);
      }
    }
    found = next;
  }
  const out: string[] = [];
  for (const f of found) {
    if (f === '' || f === '/') continue;
    const kind = gfs.kind(onDisk(f));
    if (kind === undefined || (dirsOnly && kind !== 'dir')) continue;
    out.push(kind === 'dir' ? `${f}/` : f);
  }
  // glibc sorts after marking: `../` comes before `./`.
  return out.sort(byteOrder);
}

/**
 * `glob(pattern, GLOB_MARK | GLOB_BRACE)` relative to `cwd`: the matching paths as the pattern spells them (relative
 * when it is), in glibc's order; empty when nothing matches (GLOB_NOMATCH).
 */
export function globMark(pattern: string, cwd: string, gfs: GlobFs = nodeGlobFs): string[] {
  return expandBraces(pattern).flatMap((p) => globOne(p, cwd, gfs));
}
