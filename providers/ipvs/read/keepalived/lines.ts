/**
 * The line layer of keepalived's configuration reader (lib/parser.c `read_line`), before blocks and keywords, in its
 * order: comments are removed (`#` and `!` outside double quotes, `\#` and `\!` escape them); a line starting with
 * `@ID` is kept only for config id ID (`@^ID`: for every other id); `$NAME=value` defines (no space before `=`,
 * a value ending in `\` goes on over the next lines), replaced where `$NAME` or `${NAME}` is used, at use; then
 * `include PATTERN` (and includer/m/w/b/a): the rest of the line is a glob(3) pattern with braces, relative to the
 * directory of the including file (keepalived/glob.ts), its matches read in glob's order, directories, executable and
 * unreadable files skipped with a warning. Any other line ending in `\` is not continued (keepalived keeps the `\`).
 * Each output line keeps where it came from (`file:line`), so that every warning and error names the real place.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LvsError } from '../../model/errors.ts';
import { globMark } from './glob.ts';

const CODE = 'LVS_PARSE_KEEPALIVED';
/** Nested includes deeper than this are refused (keepalived has no limit but its open files; no real configuration nests so deep). */
export const MAX_INCLUDE_DEPTH = 32;
/** A definition that still names a definition after this many rounds is refused (a definition loop). */
const MAX_EXPANSIONS = 32;
const MAX_LINE = 64 * 1024;

export interface KeepalivedLines {
  /** The lines, definitions replaced and includes inlined; definition lines and comments are left empty. */
  readonly lines: string[];
  /** `file:line` of each line. */
  readonly origins: string[];
  /** What the reader could not follow, prefixed with `file:line:`. */
  readonly warnings: string[];
}

/** What an `include` pattern reads: the files, and each match skipped as keepalived skips it (the reason, one line each). */
export interface IncludeResult {
  readonly files: { readonly file: string; readonly text: string }[];
  readonly skipped: string[];
}

/** Reads the files an `include` pattern names; undefined when includes cannot be followed (text given alone). */
export type IncludeReader = (pattern: string, fromFile: string) => IncludeResult;

export interface KeepalivedLinesOptions {
  /** Follows `include`; without it each include is reported as not followed. */
  readonly include?: IncludeReader;
  /**
   * keepalived's config id (`-i`, by default the director's host name): selects the `@ID` lines. Without it an
   * `@ID` line is left out and an `@^ID` line kept (as for an id none of them names), each with a warning.
   */
  readonly configId?: string;
}

/** keepalived's decomment(): leading and trailing blanks and the comment go, `\#`/`\!` outside quotes lose the `\`. */
export function decomment(line: string): string {
  if (!/["#!\\]/.test(line)) return line.replace(/^[ \t]+/, '').replace(/[ \t]+$/, '');
  let out = '';
  let quoted = false;
  let i = line.length - line.replace(/^[ \t]+/, '').length;
  let continued = false;
  for (; i < line.length; i++) {
    const c = line[i]!;
    if (c === '"') quoted = !quoted;
    else if (c === '\\') {
      if (i + 1 === line.length) {
        continued = true;
        break;
      }
      const next = line[i + 1]!;
      out += !quoted && (next === '#' || next === '!') ? next : c + next;
      i++;
      continue;
    } else if (!quoted && (c === '#' || c === '!')) break;
    out += c;
  }
  out = out.replace(/[ \t]+$/, '');
  return continued ? `${out}\\` : out;
}

interface Definition {
  readonly value: string;
  /** A multi-line definition: used only as the last thing on a line, its later lines follow the line. */
  readonly multiline: boolean;
}

interface State {
  readonly out: KeepalivedLines;
  readonly defs: Map<string, Definition>;
  readonly options: KeepalivedLinesOptions;
  /** The files being read, outermost first (an include of one of them is a loop). */
  readonly stack: string[];
}

/**
 * Replaces `$NAME` (followed by a blank, `,`, `)` or the end) and `${NAME}` of known definitions left to right, reading
 * what a replacement wrote again, as keepalived's replace_param() does; unknown names stay as written. A multi-line
 * definition is replaced only when it ends the line: its first line takes its place, the rest is returned as the lines
 * that follow.
 */
function expand(line: string, defs: ReadonlyMap<string, Definition>, where: string): { line: string; following: string[]; changed: boolean } {
  let out = line;
  const following: string[] = [];
  let changed = false;
  let pos = 0;
  let lastAt = -1;
  let rounds = 0;
  for (;;) {
    const use = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*)(?=[ \t,)]|$))/g;
    use.lastIndex = pos;
    const found = use.exec(out);
    if (found === null) return { line: out, following, changed };
    const def = defs.get((found[1] ?? found[2])!);
    if (def === undefined || (def.multiline && found.index + found[0].length !== out.length)) {
      pos = found.index + 1;
      continue;
    }
    if (found.index !== lastAt) {
      lastAt = found.index;
      rounds = 0;
    } else if (++rounds > MAX_EXPANSIONS) {
      throw new LvsError(CODE, `${where}: the definitions used here refer to each other without end`, {
        hint: 'Check the $NAME definitions it uses for a loop.',
      });
    }
    let value = def.value;
    if (def.multiline) {
      const [first, ...rest] = value.split('\n');
      value = first!;
      following.unshift(...rest);
    }
    out = out.slice(0, found.index) + value + out.slice(found.index + found[0].length);
    changed = true;
    pos = found.index;
    if (out.length > MAX_LINE)
      throw new LvsError(CODE, `${where}: the line grows beyond ${MAX_LINE} characters as its definitions are replaced`, {
        hint: 'Check the $NAME definitions it uses.',
      });
  }
}

/** The line layer of `text` (file `source`). */
export function keepalivedLines(text: string, source: string, options: KeepalivedLinesOptions = {}): KeepalivedLines {
  const out: KeepalivedLines = { lines: [], origins: [], warnings: [] };
  walk(text, source, { out, defs: new Map(), options, stack: [path.resolve(source)] });
  return out;
}

function emit(state: State, line: string, where: string): void {
  state.out.lines.push(line);
  state.out.origins.push(where);
}

function walk(text: string, source: string, state: State): void {
  const raw = text.split('\n');
  /** The multi-line definition being read: its name and the lines so far. */
  let pending: { name: string; lines: string[]; where: string } | undefined;
  const finish = (): void => {
    if (pending === undefined) return;
    const value = pending.lines.join('\n');
    state.defs.set(pending.name, { value, multiline: value !== '' });
    pending = undefined;
  };
  for (let i = 0; i < raw.length; i++) {
    const where = `${source}:${i + 1}`;
    let line = raw[i]!;
    if (line.endsWith('\r')) line = line.replace(/\r+$/, '');
    if (pending !== undefined) {
      // keepalived ends a multi-line definition at an empty line, or at a line that does not end in `\`.
      emit(state, '', where);
      if (line === '') {
        finish();
        continue;
      }
      const bare = decomment(line);
      if (bare === '') continue;
      if (bare.endsWith('\\')) {
        const part = bare.slice(0, -1).replace(/[ \t]+$/, '');
        if (part !== '') pending.lines.push(part);
        continue;
      }
      pending.lines.push(bare);
      finish();
      continue;
    }
    const started = logical(state, decomment(line), where, 0);
    if (started !== undefined) pending = { ...started, where };
  }
  finish();
}

/**
 * One line after its comment is gone: the conditional, a definition, replacement, include, then the line itself.
 * Returns the multi-line definition the line starts, if it does.
 */
function logical(state: State, text: string, where: string, depth: number): { name: string; lines: string[] } | undefined {
  const { out, defs, options } = state;
  let line = text;
  if (line.startsWith('@')) {
    const negated = line[1] === '^';
    const from = negated ? 2 : 1;
    const blank = line.slice(from).search(/[ \t]/);
    if (blank < 0) {
      emit(state, '', where);
      return undefined;
    }
    const id = line.slice(from, from + blank);
    const rest = line.slice(from + blank).replace(/^[ \t]+/, '');
    if (options.configId === undefined) {
      out.warnings.push(
        negated
          ? `${where}: ${shownLine(line)} is for every config id but ${id} - imported as for a config id none of the @ lines names; pass --config-id to choose (keepalived's -i, by default its host name)`
          : `${where}: ${shownLine(line)} is for config id ${id} only - not imported; pass --config-id ${id} to import it (keepalived's -i, by default its host name)`,
      );
    }
    if ((options.configId === id) === negated) {
      emit(state, '', where);
      return undefined;
    }
    line = rest;
  }

  const def = line.startsWith('$') ? /^\$([A-Za-z_][A-Za-z0-9_]*)=[ \t]*(.*)$/s.exec(line) : null;
  if (def) {
    emit(state, '', where);
    const value = def[2]!;
    if (value.endsWith('\\')) {
      const first = value.slice(0, -1).replace(/[ \t]+$/, '');
      return { name: def[1]!, lines: first === '' ? [] : [first] };
    }
    defs.set(def[1]!, { value, multiline: false });
    return undefined;
  }
  const spaced = line.startsWith('$') ? /^\$([A-Za-z_][A-Za-z0-9_]*)[ \t]+=/.exec(line) : null;
  if (spaced) {
    out.warnings.push(
      `${where}: ${shownLine(line)} is not a definition for keepalived (no space may stand before '=') - $${spaced[1]} stays undefined; write $${spaced[1]}=...`,
    );
  }

  let following: string[] = [];
  let replaced = false;
  if (line.startsWith('~SEQ') || line.startsWith('~LST')) {
    // The line is kept (its braces still open and close a block), and skipped as a keyword lvsform does not know.
    out.warnings.push(`${where}: ${line.slice(0, 4)} is not expanded - what it would write is skipped; write its lines out`);
  } else if (defs.size > 0 && line.includes('$')) {
    const expanded = expand(line, defs, where);
    following = expanded.following;
    replaced = expanded.changed;
    // keepalived removes comments again from what the replacement wrote.
    line = expanded.changed ? decomment(expanded.line) : expanded.line;
  }
  const builtin = line.includes('$_') || line.includes('${_') ? /\$\{?(_PWD|_INSTANCE|_RANDOM|_HASH)\b/.exec(line) : null;
  if (builtin) out.warnings.push(`${where}: keepalived's built-in $${builtin[1]} is not expanded by the import; write its value instead`);

  const include = line.startsWith('include') ? /^include([rmwba]?)[ \t]+(.+)$/s.exec(line) : null;
  if (replaced && depth < MAX_EXPANSIONS && (line.startsWith('@') || /^\$[A-Za-z_][A-Za-z0-9_]*=/.test(line))) {
    // keepalived 2.2.7 reads a line again when a replacement made it conditional or a definition (`$IF_MAIN=@main`).
    if (logical(state, line, where, depth + 1) !== undefined) out.warnings.push(`${where}: a multi-line definition written by a replacement is not read`);
  } else if (include) {
    emit(state, '', where);
    followInclude(state, `include${include[1]}`, include[2]!, where);
  } else {
    if (line.endsWith('\\')) {
      out.warnings.push(
        `${where}: the line ends in \\, which keepalived does not continue (only a $NAME=... definition goes on over lines) - read as one line, the \\ included`,
      );
    }
    emit(state, line, where);
  }
  // The later lines of a multi-line definition, each read as a line of its own where the definition is used.
  for (const next of following) {
    if (depth >= MAX_EXPANSIONS) throw new LvsError(CODE, `${where}: the multi-line definitions used here refer to each other without end`);
    const started = logical(state, next, where, depth + 1);
    if (started !== undefined) {
      out.warnings.push(`${where}: a multi-line definition inside a multi-line definition is not read`);
    }
  }
  return undefined;
}

function followInclude(state: State, keyword: string, pattern: string, where: string): void {
  const { out, options, stack } = state;
  if (options.include === undefined) {
    out.warnings.push(`${where}: ${keyword} ${pattern} is not followed; import that file separately`);
    return;
  }
  const source = stack[stack.length - 1]!;
  const { files, skipped } = options.include(pattern, source);
  for (const s of skipped) out.warnings.push(`${where}: ${keyword} ${pattern}: ${s}`);
  if (files.length === 0 && skipped.length === 0) out.warnings.push(`${where}: ${keyword} ${pattern} matches no file - skipped, as keepalived does`);
  for (const f of files) {
    const file = path.resolve(f.file);
    if (stack.includes(file)) {
      const chain = [...stack.slice(stack.indexOf(file)), file].map((p) => path.basename(p)).join(' -> ');
      throw new LvsError(CODE, `${where}: ${keyword} ${pattern} includes ${f.file} again while reading it (${chain}): an include loop`, {
        hint: 'Remove the include that leads back; keepalived would read these files over and over until it runs out of open files.',
      });
    }
    if (stack.length > MAX_INCLUDE_DEPTH)
      throw new LvsError(CODE, `${where}: includes nest deeper than ${MAX_INCLUDE_DEPTH} levels`, { hint: 'Check the chain of includes.' });
    stack.push(file);
    walk(f.text, f.file, state);
    stack.pop();
  }
}

function shownLine(line: string): string {
  return JSON.stringify(line.length > 60 ? `${line.slice(0, 57)}...` : line);
}

/**
 * Follows includes on this machine's files as keepalived does (lib/parser.c `open_conf_file`): the pattern is
 * globbed relative to the including file's directory with braces (keepalived/glob.ts), the matches read in glob's
 * order; a directory, a file that is not regular or is executable (any x bit), and a file that cannot be read are
 * each skipped with the reason. Every file counts against `maxBytes`, all files together.
 */
export function fileIncludeReader(maxBytes: number, readFile: (file: string) => string = (f) => fs.readFileSync(f, 'utf8')): IncludeReader {
  let total = 0;
  return (pattern, fromFile) => {
    const cwd = path.dirname(path.resolve(fromFile));
    const files: { file: string; text: string }[] = [];
    const skipped: string[] = [];
    for (const match of globMark(pattern, cwd)) {
      if (match.endsWith('/')) {
        skipped.push(`${match} is a directory - skipped, as keepalived does`);
        continue;
      }
      const file = path.resolve(cwd, match);
      let info: fs.Stats | undefined;
      try {
        info = fs.statSync(file);
      } catch {
        info = undefined;
      }
      if (info === undefined || !info.isFile() || (info.mode & 0o111) !== 0) {
        skipped.push(`${match} is not a regular non-executable file - skipped, as keepalived does`);
        continue;
      }
      total += info.size;
      if (total > maxBytes)
        throw new LvsError(CODE, `${fromFile}: the included files add up to more than ${maxBytes} bytes`, {
          hint: 'Import the IPVS part of the configuration only.',
        });
      let text: string;
      try {
        text = readFile(file);
      } catch (e) {
        skipped.push(`${match} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}) - skipped, as keepalived does`);
        continue;
      }
      files.push({ file, text });
    }
    return { files, skipped };
  };
}
