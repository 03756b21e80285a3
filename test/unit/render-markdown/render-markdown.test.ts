/**
 * The Markdown rendering of a plan for pull-request comments: golden files for the common shapes, and properties
 * for what must always hold (escaping, the size limit, every director summarised).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffTables } from '../../../providers/ipvs/plan/diff.ts';
import { type Destination, type Service, normalizeTable } from '../../../providers/ipvs/model/model.ts';
import { drainItems, type DirectorPlan, type Plan } from '../../../providers/ipvs/plan/plan.ts';
import {
  commentMarker,
  escapeHtml,
  escapeMarkdown,
  GITHUB_COMMENT_LIMIT,
  renderMarkdown,
  targetedText,
} from '../../../providers/ipvs/render/render-markdown.ts';

const GOLDEN = join(import.meta.dirname, '__golden__');

const dest = (address: string, weight = 1, port = 80): Destination => ({
  address,
  port,
  forwarding: { method: 'masq' },
  weight,
  upperThreshold: 0,
  lowerThreshold: 0,
});
const svc = (address: string, dests: Destination[], scheduler = 'wlc', port = 80): Service => ({
  key: { kind: 'addr', protocol: 'tcp', address, port },
  config: { scheduler, schedFlags: [], onePacket: false },
  destinations: dests,
});

/** A director plan from a live and a desired table, everything owned. */
function director(name: string, live: Service[], desired: Service[], extra: Partial<DirectorPlan> = {}): DirectorPlan {
  const l = normalizeTable({ services: live });
  const d = normalizeTable({ services: desired });
  const owned = new Set(l.services.map((s) => `tcp ${s.key.kind === 'addr' ? `${s.key.address}:${s.key.port}` : ''}`));
  const { changes, unmanaged, conflicts } = diffTables(l, d, { owned });
  return {
    director: name,
    target: { name, transport: 'ssh', ssh: { host: `203.0.113.${name === 'lb1' ? 2 : 3}`, user: 'root' } },
    fingerprint: 'f'.repeat(64),
    changes,
    drift: [],
    unmanaged,
    conflicts,
    adopted: [],
    batch: '',
    drain: drainItems(changes),
    drainTimeout: 30,
    desired: d,
    paths: {},
    ...extra,
  };
}

function plan(directors: DirectorPlan[], extra: Partial<Plan> = {}): Plan {
  return { formatVersion: 1, stack: 'web', createdAt: '2026-01-01T00:00:00.000Z', mode: 'apply', directors, ...extra };
}

const A = '198.51.100.10';
const B = '198.51.100.11';
const C = '198.51.100.12';

const cases: { name: string; plan: Plan; limit?: number }[] = [
  {
    name: 'changes-on-two-directors',
    plan: plan([
      director(
        'lb1',
        [svc(A, [dest('192.0.2.11'), dest('192.0.2.12'), dest('192.0.2.13')], 'rr'), svc(C, [dest('192.0.2.31')])],
        [svc(A, [dest('192.0.2.11', 3), dest('192.0.2.12')], 'wrr'), svc(B, [dest('192.0.2.21')])],
        { drift: [`tcp ${A}:80`], unmanaged: ['udp 198.51.100.53:53'] },
      ),
      director('lb2', [svc(A, [dest('192.0.2.11')])], [svc(A, [dest('192.0.2.11')])]),
    ]),
  },
  { name: 'no-changes', plan: plan([director('lb1', [svc(A, [dest('192.0.2.11')])], [svc(A, [dest('192.0.2.11')])])]) },
  {
    name: 'error-and-conflict',
    plan: plan([
      director('lb1', [], [], {
        error: {
          code: 'LVS_LOCKED',
          message: 'director lb1 is locked by <script>alert(1)</script> | @octocat **now** `x` [y](http://z)',
          hint: 'Wait,\nor run `lvsform force-unlock lb1`.',
        },
      }),
      director('lb2', [], [svc(A, [])], { conflicts: [`tcp ${A}:80`], changes: [] }),
    ]),
  },
  {
    name: 'targeted',
    plan: plan([
      director('lb1', [], [svc(A, [dest('192.0.2.11')])], {
        targeted: { targets: ['web/lb1/http'], matched: 1, total: 3, untouched: [`tcp ${B}:80`, `tcp ${C}:80`] },
      }),
    ]),
  },
  { name: 'destroy', plan: plan([director('lb1', [svc(A, [dest('192.0.2.11')])], [])], { mode: 'destroy' }) },
  {
    name: 'truncated',
    limit: 3000,
    plan: plan([
      director(
        'lb1',
        [],
        Array.from({ length: 40 }, (_, i) => svc(`198.51.100.${i + 1}`, [dest('192.0.2.1'), dest('192.0.2.2')])),
      ),
      director('lb2', [], [svc(A, [dest('192.0.2.11')])]),
    ]),
  },
];

describe('renderMarkdown golden files', () => {
  it.each(cases)('$name', ({ name, plan: p, limit }) => {
    // GIVEN a plan WHEN rendered as Markdown THEN it matches the golden file (regenerate on purpose with UPDATE_GOLDEN=1)
    const actual = renderMarkdown(p, limit ? { limit } : {});
    const file = join(GOLDEN, `${name}.md`);
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(file, actual);
    expect(existsSync(file), `missing golden file ${file}`).toBe(true);
    expect(actual).toBe(readFileSync(file, 'utf8'));
  });
});

describe('renderMarkdown properties', () => {
  const fleet = plan(
    Array.from({ length: 1000 }, (_, n) =>
      director(
        `lb${n + 1}`,
        [svc(C, [dest('192.0.2.9')])],
        Array.from({ length: 30 }, (_, i) => svc(`198.51.100.${i + 1}`, [dest('192.0.2.1'), dest('192.0.2.2'), dest('192.0.2.3')])),
      ),
    ),
  );

  it('stays within the GitHub comment limit for 1,000 directors with 120 changes each', () => {
    // GIVEN a fleet-size plan WHEN rendered THEN it fits in one comment
    expect(renderMarkdown(fleet).length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
  });

  it('says how many directors it could not detail when the limit is reached', () => {
    // GIVEN a fleet-size plan WHEN rendered THEN the note on the left-out directors is there
    expect(renderMarkdown(fleet)).toMatch(/_Details of \d+ more director\(s\) not shown/);
  });

  it('keeps every <details> and code fence closed when cutting', () => {
    // GIVEN plans cut at several limits WHEN rendered THEN tags and fences balance
    for (const limit of [2000, 5000, 20000, GITHUB_COMMENT_LIMIT]) {
      const md = renderMarkdown(fleet, { limit });
      expect(md.length, `limit ${limit}`).toBeLessThanOrEqual(limit);
      expect(md.split('<details>').length).toBe(md.split('</details>').length);
      expect(md.split('\n').filter((l) => l.startsWith('```')).length % 2).toBe(0);
    }
  });

  it('starts with the marker CI uses to find and update its comment', () => {
    expect(renderMarkdown(plan([])).split('\n')[0]).toBe(commentMarker('web'));
  });

  it('keeps a stack name from closing the marker comment', () => {
    expect(commentMarker('a-->b <x>')).toBe('<!-- lvsform-plan stack=a-_b__x_ -->');
  });
});

describe('escapeMarkdown', () => {
  const cases: [string, string, string][] = [
    ['HTML', '<img src=x onerror=alert(1)>', '&lt;img src=x onerror=alert(1)&gt;'],
    ['a table cell break', 'a | b', 'a \\| b'],
    ['emphasis and code', '**b** _i_ `c`', '\\*\\*b\\*\\* \\_i\\_ \\`c\\`'],
    ['a link', '[x](http://y)', '\\[x\\](http://y)'],
    ['an image', '![x](http://y)', '!\\[x\\](http://y)'],
    ['strike-through', '~~gone~~', '\\~\\~gone\\~\\~'],
    ['a mention', 'ping @octocat', 'ping @\u200boctocat'],
    ['an address with @ inside a word', 'root@203.0.113.2', 'root@203.0.113.2'],
    ['new lines', 'one\ntwo\r\nthree', 'one two three'],
    ['an entity', '&amp;', '&amp;amp;'],
  ];
  it.each(cases)('neutralises %s', (_what, input, expected) => {
    expect(escapeMarkdown(input)).toBe(expected);
  });
});

describe('escapeHtml', () => {
  it('neutralises tags, quotes and mentions inside <summary>', () => {
    expect(escapeHtml('</summary><b x="1">@team')).toBe('&lt;/summary&gt;&lt;b x=&quot;1&quot;&gt;@\u200bteam');
  });
});

describe('targetedText', () => {
  it('is absent for an untargeted plan', () => {
    expect(targetedText(plan([director('lb1', [], [])]))).toBeUndefined();
  });

  it('sums the directors and names the targets', () => {
    const scope = { targets: ['web/lb1/http'], matched: 1, total: 2, untouched: [] };
    const p = plan([director('lb1', [], [], { targeted: scope }), director('lb2', [], [], { targeted: { ...scope, matched: 0 } })]);
    expect(targetedText(p)).toBe('targeted: 1 of 4 services (--target web/lb1/http); the other services of the stack are left exactly as they are');
  });
});
