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
 * Reads a round trip's sections as its output arrives: feed it the output so far, each time more has come, and it calls
 * `done(part, name, text)` for each section whose end is known (the next marker line has arrived), with the text
 * `splitRoundTrip` gives that section. The last section is never reported: only the whole output says where it ends.
 * A section for which `headOf(part, name)` gives a line start is reported by its head instead (`splitHead`), as soon
 * as that line has arrived, or whole at its end when no such line came.
 */
export function sectionWatcher(
  tag: string,
  done: (part: string, name: string, text: string) => void,
  headOf?: (part: string, name: string) => string | undefined,
): (soFar: string) => void {
  const prefix = `${SECTION_MARK} ${tag}-`;
  let from = 0;
  let open: { part: string; name: string; start: number; until: string | undefined; searched: number; reported: boolean } | undefined;
  /** Reports the open section's head if its closing line has arrived before `end` (the next marker, or -1). */
  const head = (soFar: string, end: number): void => {
    if (open?.until === undefined || open.reported) return;
    const { until, start } = open;
    let at = soFar.startsWith(until, start) ? start : -1;
    if (at < 0) {
      const nl = soFar.indexOf(`\n${until}`, Math.max(start, open.searched));
      at = nl < 0 ? -1 : nl;
    }
    if (at >= 0 && (end < 0 || at < end)) {
      done(open.part, open.name, soFar.slice(start, at));
      open.reported = true;
    } else if (end < 0) open.searched = Math.max(start, soFar.length - until.length - 1);
  };
  return (soFar) => {
    for (;;) {
      let at = soFar.indexOf(prefix, from);
      // A marker is a whole line: one inside a line is data.
      while (at > 0 && soFar[at - 1] !== '\n') at = soFar.indexOf(prefix, at + 1);
      const eol = at < 0 ? -1 : soFar.indexOf('\n', at);
      // Only a whole marker line ends the open section.
      head(soFar, eol < 0 ? -1 : at);
      if (at < 0) {
        // The next marker may have begun to arrive: search again from where it could start.
        from = Math.max(from, soFar.length - prefix.length);
        return;
      }
      if (eol < 0) {
        from = at;
        return;
      }
      if (open && !open.reported) done(open.part, open.name, soFar.slice(open.start, Math.max(open.start, at - 1)));
      const rest = soFar.slice(at + prefix.length, eol);
      const space = rest.indexOf(' ');
      if (space < 0) open = undefined;
      else {
        const part = rest.slice(0, space);
        const name = rest.slice(space + 1);
        open = { part, name, start: eol + 1, until: headOf?.(part, name) || undefined, searched: eol + 1, reported: false };
      }
      from = eol + 1;
    }
  };
}
