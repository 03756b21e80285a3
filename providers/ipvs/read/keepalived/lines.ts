/**
 * The line layer of keepalived's configuration reader, before blocks and keywords: `$NAME=value` definitions and
 * their use (`$NAME`, `${NAME}`, replaced again while the line still names a definition), and `include PATTERN`
 * (a shell glob, relative to the directory of the file that includes it; a pattern that matches nothing is skipped,
 * as keepalived does). Comments (`#`, `!` outside double quotes) are removed first, as keepalived's own reader does.
 * Each output line keeps where it came from (`file:line`), so that every warning and error names the real place.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LvsError } from '../../model/errors.ts';

const CODE = 'LVS_PARSE_KEEPALIVED';
/** Nested includes deeper than this are refused (an include loop). */
export const MAX_INCLUDE_DEPTH = 8;
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

/** Reads the files an `include` pattern names; undefined when includes cannot be followed (text given alone). */
export type IncludeReader = (pattern: string, fromFile: string) => { file: string; text: string }[];

function withoutComment(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '#' || c === '!')) return line.slice(0, i);
  }
  return line;
}

/** Replaces `$NAME` and `${NAME}` of known definitions; unknown names stay as written, as keepalived leaves them. */
function expand(line: string, defs: ReadonlyMap<string, string>, where: string): string {
  let out = line;
  for (let round = 0; round < MAX_EXPANSIONS; round++) {
    let changed = false;
    out = out.replace(
      /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*)(?=[ \t,)]|$))/g,
      (all, braced: string | undefined, bare: string | undefined) => {
        const value = defs.get((braced ?? bare)!);
        if (value === undefined) return all;
        changed = true;
        return value;
      },
    );
    if (out.length > MAX_LINE)
      throw new LvsError(CODE, `${where}: the line grows beyond ${MAX_LINE} characters as its definitions are replaced`, {
        hint: 'Check the $NAME definitions it uses.',
      });
    if (!changed) return out;
  }
  throw new LvsError(CODE, `${where}: the definitions used here refer to each other without end`, { hint: 'Check the $NAME definitions it uses for a loop.' });
}

/** The line layer of `text` (file `source`); `include` is followed through `read` when given. */
export function keepalivedLines(text: string, source: string, read?: IncludeReader): KeepalivedLines {
  const out: KeepalivedLines = { lines: [], origins: [], warnings: [] };
  const defs = new Map<string, string>();
  walk(text, source, read, defs, out, 0);
  return out;
}

function walk(text: string, source: string, read: IncludeReader | undefined, defs: Map<string, string>, out: KeepalivedLines, depth: number): void {
  const raw = text.split('\n');
  for (let i = 0; i < raw.length; i++) {
    const where = `${source}:${i + 1}`;
    let line = raw[i]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const bare = withoutComment(line).trim();
    const def = /^\$([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*(.*)$/.exec(bare);
    if (def) {
      if (def[2]!.endsWith('\\')) {
        out.warnings.push(`${where}: the multi-line definition $${def[1]} is not read; write it on one line`);
      } else defs.set(def[1]!, expand(def[2]!, defs, where));
      out.lines.push('');
      out.origins.push(where);
      continue;
    }
    // The line is kept (its braces still open and close a block), and skipped as a keyword lvsform does not know.
    if (bare.startsWith('~SEQ')) out.warnings.push(`${where}: ~SEQ is not expanded - what it would write is skipped; write its lines out`);
    const expanded = defs.size > 0 && bare.includes('$') ? expand(bare, defs, where) : line;
    const builtin = /\$\{?(_PWD|_INSTANCE|_RANDOM)\b/.exec(expanded);
    if (builtin) out.warnings.push(`${where}: keepalived's built-in $${builtin[1]} is not expanded by the import; write its value instead`);
    const words = expanded.trim().split(/[ \t]+/);
    if (words[0] === 'include' && words.length === 2) {
      if (read === undefined) {
        out.warnings.push(`${where}: include ${words[1]} is not followed; import that file separately`);
      } else {
        if (depth >= MAX_INCLUDE_DEPTH)
          throw new LvsError(CODE, `${where}: includes nest deeper than ${MAX_INCLUDE_DEPTH} levels`, { hint: 'Check for a file that includes itself.' });
        const files = read(words[1]!, source);
        if (files.length === 0) out.warnings.push(`${where}: include ${words[1]} matches no file - skipped, as keepalived does`);
        for (const f of files) walk(f.text, f.file, read, defs, out, depth + 1);
      }
      out.lines.push('');
      out.origins.push(where);
      continue;
    }
    out.lines.push(expanded);
    out.origins.push(where);
  }
}

function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (const c of pattern) re += c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${re}$`);
}

/**
 * Follows includes on this machine's files: the pattern is relative to the including file's directory, `*` and `?`
 * match within the last path component, matches are read in name order; directories and unreadable files are
 * skipped, as keepalived skips them. Every file counts against `maxBytes`, all files together.
 */
export function fileIncludeReader(maxBytes: number): IncludeReader {
  let total = 0;
  return (pattern, fromFile) => {
    const full = path.resolve(path.dirname(fromFile), pattern);
    const dir = path.dirname(full);
    const base = path.basename(full);
    let names: string[];
    if (/[*?]/.test(base)) {
      try {
        names = fs
          .readdirSync(dir)
          .filter((n) => globToRegExp(base).test(n))
          .sort()
          .map((n) => path.join(dir, n));
      } catch {
        names = [];
      }
    } else names = [full];
    const files: { file: string; text: string }[] = [];
    for (const file of names) {
      let info: fs.Stats;
      try {
        info = fs.statSync(file);
      } catch {
        continue;
      }
      if (!info.isFile()) continue;
      total += info.size;
      if (total > maxBytes)
        throw new LvsError(CODE, `${fromFile}: the included files add up to more than ${maxBytes} bytes`, {
          hint: 'Import the IPVS part of the configuration only.',
        });
      files.push({ file, text: fs.readFileSync(file, 'utf8') });
    }
    return files;
  };
}
