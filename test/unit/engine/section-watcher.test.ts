/**
 * The sections of a round trip read as the answer arrives (sectionWatcher) are the ones the whole answer gives
 * (splitRoundTrip), however the output is cut into pieces on the way; and a read's early work reaches its parse only
 * for the very text it was done on.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { earlyWatcher, parseRoundTrip } from '../../../providers/ipvs/host/sh-director-host.ts';
import { sectionLine, sectionWatcher, splitHead, splitRoundTrip } from '../../../providers/ipvs/host/sections.ts';
import type { HostRequest } from '../../../providers/ipvs/host/requests/index.ts';
import type { HostTarget } from '../../../providers/ipvs/model/host-target.ts';

const TAG = '0123456789abcdef';
const TARGET: HostTarget = { name: 'lb1', transport: 'ssh', ssh: { host: 'lb1.example.net' } };

/** An answer of `parts` requests, each with sections whose lines are `lines`, markers among data that looks like them. */
function answer(sections: readonly { part: number; name: string; lines: readonly string[] }[]): string {
  return sections.flatMap((s) => [sectionLine(TAG, `${s.part} ${s.name}`).replace(`${TAG} ${s.part} `, `${TAG}-${s.part} `), ...s.lines]).join('\n');
}

/** Feeds `text` to a watcher in pieces cut at `cuts`, and returns every section it reported. */
function watched(text: string, cuts: readonly number[]): Map<string, string> {
  const seen = new Map<string, string>();
  const feed = sectionWatcher(TAG, (part, name, body) => seen.set(`${part} ${name}`, body));
  const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const c of [...at, text.length]) {
    feed(text.slice(from, c));
    from = c;
  }
  return seen;
}

describe('sectionWatcher', () => {
  const line = fc.oneof(
    fc.string({ maxLength: 12 }).map((s) => s.replace(/\n/g, ' ')),
    fc.constant(''),
    fc.constant(`@@lvsform-section ${TAG}-0 forged`).map((s) => `x ${s}`),
    fc.constant('@@lvsform-section ffffffffffffffff-0 other-tag'),
  );
  const section = fc.record({
    part: fc.integer({ min: 0, max: 3 }),
    name: fc.constantFrom('save', 'record', 'save-status', 'other a b'),
    lines: fc.array(line, { maxLength: 4 }),
  });

  it('reports each section but the last, with the text the whole answer gives, however the answer is cut', () => {
    fc.assert(
      // (Each request names each of its sections once, as every request kind's script does.)
      fc.property(
        fc.uniqueArray(section, { minLength: 1, maxLength: 6, selector: (s) => `${s.part} ${s.name}` }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (sections, cuts) => {
          // GIVEN an answer (a chunk's output always ends in a line break: the end marker follows) WHEN it arrives in pieces
          const text = `${answer(sections)}\n`;
          const seen = watched(text, cuts);
          // THEN every section reported is as splitRoundTrip gives it, and every section but the last is reported
          const { parts } = splitRoundTrip(TAG, text);
          for (const [key, body] of seen) {
            const [part, ...name] = key.split(' ');
            expect(parts.get(part!)?.get(name.join(' '))).toBe(body);
          }
          for (const s of sections.slice(0, -1)) expect(seen.has(`${s.part} ${s.name}`)).toBe(true);
        },
      ),
      { seed: 20261202, numRuns: 300 },
    );
  });

  it('reports a section that has a head by the head splitHead gives, as soon as the head has arrived', () => {
    const HEAD = 'IP Virtual Server version';
    fc.assert(
      fc.property(
        fc.uniqueArray(section, { minLength: 1, maxLength: 5, selector: (s) => `${s.part} ${s.name}` }),
        fc.array(fc.constantFrom(`${HEAD} 1.2.1 (size=4096)`, 'TCP  198.51.100.10:80 rr', `x ${HEAD}`, HEAD.slice(0, 9)), { maxLength: 3 }),
        fc.nat({ max: 5 }),
        fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (sections, listing, into, carries, cuts) => {
          // GIVEN sections of which some carry a listing among their lines (or a line that only looks like one): a
          // 'save' may have none while a later section has one
          const withListing = sections.map((s, i) => (carries[i] ? { ...s, lines: [...s.lines.slice(0, into), ...listing, ...s.lines.slice(into)] } : s));
          const text = `${answer(withListing)}\n`;
          const reports: [string, string][] = [];
          const feed = sectionWatcher(
            TAG,
            (part, name, body) => reports.push([`${part} ${name}`, body]),
            (_part, name) => (name === 'save' ? HEAD : undefined),
          );
          const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          let from = 0;
          for (const c of [...at, text.length]) {
            feed(text.slice(from, c));
            from = c;
          }
          const seen = new Map(reports);
          // THEN each section is reported once: a 'save' by its head (the whole section when no line starts the
          // listing), the others whole, each as the whole answer gives it
          expect(seen.size).toBe(reports.length);
          const { parts } = splitRoundTrip(TAG, text);
          for (const [key, body] of seen) {
            const [part, ...name] = key.split(' ');
            const whole = parts.get(part!)?.get(name.join(' '));
            expect(body).toBe(name.join(' ') === 'save' ? splitHead(whole ?? '', HEAD).head : whole);
          }
          // AND every section but the last is reported, and a 'save' as soon as its listing has begun
          for (const s of withListing.slice(0, -1)) expect(seen.has(`${s.part} ${s.name}`)).toBe(true);
          const last = withListing.at(-1)!;
          if (last.name === 'save' && splitHead(parts.get(String(last.part))?.get('save') ?? '', HEAD).rest !== undefined) {
            expect(seen.has(`${last.part} save`)).toBe(true);
          }
        },
      ),
      { seed: 20261203, numRuns: 400 },
    );
  });
});

describe('early work on a read', () => {
  const read: HostRequest = { kind: 'read-table', stack: 'web', thresholds: true, record: true };
  const save = ['-A -t 198.51.100.10:80 -s rr', '-a -t 198.51.100.10:80 -r 192.0.2.11:8080 -m -w 1'];
  const listing = (real: string) => [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port            Uthreshold Lthreshold ActiveConn InActConn',
    'TCP  198.51.100.10:80 rr',
    `  -> ${real}:8080               0          0          0          0`,
  ];
  /**
   * A read's answer: the save and the listing of one `ipvsadm -R` in one section (the sh host's read), or the listing
   * in a section of its own (the read-only script's).
   */
  const out = (saveLines: readonly string[], real = '192.0.2.11', layout: 'one process' | 'two sections' = 'one process') =>
    [
      `@@lvsform-section ${TAG}-0 ipvsadm-version`,
      `@@lvsform-section ${TAG}-0 record`,
      '@@none',
      `@@lvsform-section ${TAG}-0 save`,
      ...saveLines,
      ...(layout === 'one process' ? listing(real) : []),
      `@@lvsform-section ${TAG}-0 save-status`,
      '0',
      ...(layout === 'two sections' ? [`@@lvsform-section ${TAG}-0 thresholds`, ...listing(real)] : []),
      `@@lvsform-section ${TAG}-0 end`,
    ].join('\n');

  for (const layout of ['one process', 'two sections'] as const) {
    it(`parses the save while the listing still comes, and the reply is the one a whole parse gives (${layout})`, () => {
      // GIVEN a read's answer arriving line by line
      const text = out(save, '192.0.2.11', layout);
      const early = earlyWatcher([read], TAG, TARGET)!;
      for (const l of text.split('\n')) {
        early.onData(`${l}\n`);
        // (one process: the save's work starts with the listing's first line, before the listing is whole)
        if (layout === 'one process' && l.startsWith('IP Virtual Server')) expect(early.results.get('0')?.has('save')).toBe(true);
      }
      // THEN the save and the record were worked on before the end, and the replies equal a parse without them
      expect([...(early.results.get('0')?.keys() ?? [])].sort()).toEqual(['record', 'save']);
      const whole = parseRoundTrip([read], TAG, text, TARGET);
      expect(parseRoundTrip([read], TAG, text, TARGET, early.results)).toEqual(whole);
      expect(whole[0]?.kind === 'read-table' && whole[0].live.table.services.length).toBe(1);
    });

    it(`does not use work done on another text (the answer that is parsed differs) (${layout})`, () => {
      // GIVEN early work on one save, and a whole answer with another
      const early = earlyWatcher([read], TAG, TARGET)!;
      early.onData(out(save, '192.0.2.11', layout));
      const other = out([save[0]!, '-a -t 198.51.100.10:80 -r 192.0.2.12:8080 -m -w 1'], '192.0.2.12', layout);
      // THEN the parse reads the answer it is given
      const [reply] = parseRoundTrip([read], TAG, other, TARGET, early.results);
      if (reply?.kind !== 'read-table') throw new Error('not a read');
      expect(reply.live.table.services[0]!.destinations.map((d) => d.address)).toEqual(['192.0.2.12']);
    });
  }

  it('refuses a save with services and no listing after it, naming the director', () => {
    // GIVEN an answer whose one-process dump stopped after the save (an ipvsadm that does not take -L in -R)
    const text = out(save).replace(/IP Virtual Server[\s\S]*?(?=@@lvsform-section [0-9a-f]+-0 save-status)/, '');
    // THEN the read fails as a broken answer, not as a table without thresholds
    expect(() => parseRoundTrip([read], TAG, text, TARGET)).toThrow(/lb1\.example\.net.*printed no listing after the save/);
  });
});
