/**
 * Tagged sections: how every reply travels back from a host. A request's script opens each part of its answer with a
 * marker line that carries the round trip's random tag, the request's place in the round trip and the section's name,
 * so that output printed by the host (a hostile or broken `ipvsadm`) cannot forge a section, and each request's
 * parser reads its own sections and nothing else. The one writer (`section`) and the one reader (`splitRoundTrip`).
 */
import { randomBytes } from 'node:crypto';
import { shQuote } from './shell-quote.ts';

/** What every section marker line starts with (then the tag and the section's name). */
export const SECTION_MARK = '@@lvsform-section';

/** A fresh random tag for the section markers of one round trip. */
export function newTag(): string {
  return randomBytes(8).toString('hex');
}

/** A request's tag in a round trip: the round trip's tag, a dash, the request's part (its index, or a fixed name). */
export function partTag(tag: string, part: string | number): string {
  return `${tag}-${part}`;
}

export function sectionLine(tag: string, name: string): string {
  return `${SECTION_MARK} ${tag} ${name}`;
}

/** The line of `sh` that opens a section of a request's answer. */
export function section(tag: string, name: string): string {
  return `printf '%s\\n' ${shQuote(sectionLine(tag, name))}`;
}

/** One request's sections, by name. */
export type Sections = ReadonlyMap<string, string>;

/** Splits output into the sections of one tag. Text before the first marker is returned under ''. */
export function splitSections(tag: string, stdout: string): Map<string, string> {
  return splitRoundTrip(tag, stdout, '').parts.get('') ?? new Map([['', stdout]]);
}

/**
 * Splits a round trip's output, in one pass, into each part's sections (`tag-part name`): `lead` is what came before
 * the first marker. With `sub` '' the tag is matched whole (`tag name`), for a single chunk's output.
 */
export function splitRoundTrip(tag: string, stdout: string, sub = '-'): { readonly lead: string; readonly parts: Map<string, Map<string, string>> } {
  const parts = new Map<string, Map<string, string>>();
  const prefix = `${SECTION_MARK} ${tag}${sub === '' ? ' ' : sub}`;
  let lead: string | undefined;
  let current: Map<string, string> | undefined;
  let name = '';
  let lines: string[] = [];
  const flush = (): void => {
    if (current) current.set(name, lines.join('\n'));
    else lead = lines.join('\n');
  };
  for (const line of stdout.split('\n')) {
    if (!line.startsWith(prefix)) {
      lines.push(line);
      continue;
    }
    flush();
    const rest = line.slice(prefix.length);
    const space = sub === '' ? -1 : rest.indexOf(' ');
    const part = space < 0 ? '' : rest.slice(0, space);
    name = space < 0 ? rest : rest.slice(space + 1);
    current = parts.get(part) ?? new Map<string, string>();
    parts.set(part, current);
    if (sub === '' && !current.has('')) current.set('', lead ?? '');
    lines = [];
  }
  flush();
  return { lead: lead ?? '', parts };
}

/**
 * A section's head: its text before the first line that starts with `until` (without that line break), and the rest
 * from that line on; the whole text and no rest when no line starts with it. One section can so carry two outputs of
 * one process (`ipvsadm -R` printing a save and then a listing), and early work can start on the first.
 */
export function splitHead(text: string, until: string): { readonly head: string; readonly rest: string | undefined } {
  if (until !== '' && text.startsWith(until)) return { head: '', rest: text };
  const at = until === '' ? -1 : text.indexOf(`\n${until}`);
  return at < 0 ? { head: text, rest: undefined } : { head: text.slice(0, at), rest: text.slice(at + 1) };
}

/**
 * Reads a round trip's sections as its output arrives: feed it each piece of the output, in order, and it calls
 * `done(part, name, text)` for each section whose end is known (the next marker line has arrived), with the text
 * `splitRoundTrip` gives that section. The last section is never reported: only the whole output says where it ends.
 * A section for which `headOf(part, name)` gives a line start is reported by its head instead (`splitHead`), as soon
 * as that line has begun to arrive, or whole at its end when no such line came.
 *
 * Each piece is searched once (a large read comes in a thousand pieces; searching the output so far at each would
 * copy it whole each time), and a section's text is joined once, when it is reported.
 */
export function sectionWatcher(
  tag: string,
  done: (part: string, name: string, text: string) => void,
  headOf?: (part: string, name: string) => string | undefined,
): (piece: string) => void {
  const prefix = `${SECTION_MARK} ${tag}-`;
  /** The section being read: its text so far, in pieces, while it may still be reported. */
  let open: { part: string; name: string; until: string | undefined; kept: string[]; reported: boolean } | undefined;
  /** The start of a line that may still turn out to be a marker line, or the open section's head line. */
  let carry = '';
  /** Whether the next piece (after `carry`) begins at a line start. */
  let lineStart = true;
  const keep = (text: string): void => {
    if (open && !open.reported && text !== '') open.kept.push(text);
  };
  /** The open section's text so far and `more`, without the line break that ends it. */
  const body = (more: string): string => {
    const text = (open?.kept.join('') ?? '') + more;
    return text.endsWith('\n') ? text.slice(0, -1) : text;
  };
  /** The first line start at or after `from` (itself a line start, or 0) where `text` has `word`, or -1. */
  const lineWith = (text: string, word: string, from: number): number => {
    if (from === 0 && lineStart && text.startsWith(word)) return 0;
    const at = text.indexOf(`\n${word}`, Math.max(0, from - 1));
    return at < 0 ? -1 : at + 1;
  };
  return (piece) => {
    const text = carry + piece;
    carry = '';
    // Everything in `text` before `pos` is dealt with; `pos` is 0 or a line start.
    let pos = 0;
    for (;;) {
      // Only a whole marker line ends the open section.
      const at = lineWith(text, prefix, pos);
      if (open?.until !== undefined && !open.reported) {
        const head = lineWith(text, open.until, pos);
        if (head >= 0 && (at < 0 || head < at)) {
          done(open.part, open.name, body(text.slice(pos, head)));
          open.reported = true;
          open.kept = [];
        }
      }
      if (at < 0) break;
      const eol = text.indexOf('\n', at);
      if (eol < 0) {
        // The marker line has begun to arrive: the next piece completes it.
        keep(text.slice(pos, at));
        carry = text.slice(at);
        lineStart = true;
        return;
      }
      if (open && !open.reported) done(open.part, open.name, body(text.slice(pos, at)));
      const rest = text.slice(at + prefix.length, eol);
      const space = rest.indexOf(' ');
      if (space < 0) open = undefined;
      else {
        const part = rest.slice(0, space);
        const name = rest.slice(space + 1);
        open = { part, name, until: headOf?.(part, name) || undefined, kept: [], reported: false };
      }
      pos = eol + 1;
    }
    // The last line, if not whole, is held back while it may still become a marker line or the head's line.
    const last = Math.max(pos, text.lastIndexOf('\n') + 1);
    const tail = text.slice(last);
    const pending = open?.until !== undefined && !open.reported ? open.until : undefined;
    if ((last > 0 || lineStart) && tail.length > 0 && (prefix.startsWith(tail) || pending?.startsWith(tail))) {
      keep(text.slice(pos, last));
      carry = tail;
      lineStart = true;
    } else {
      keep(text.slice(pos));
      if (text !== '') lineStart = text.endsWith('\n');
    }
  };
}
