/**
 * Property tests of every reader and renderer of outside input: the synthesized JSON, saved plan files (re-signed
 * after each mutation, as anyone can), cdktf.json and the manifest, ownership records, ipvsadm-save, `--thresholds`, `--stats`, `--rate` and
 * /proc/net/ip_vs text, and keepalived configurations. Inputs are generated and mutated from real examples; the only
 * allowed outcomes are success or an LvsError with a stable code, never any other exception. Whatever a reader
 * accepts is rendered too (plan text, Markdown, JSON, restore lines, the generated app), which must not throw either.
 * Fixed seeds and bounded runs keep each property to a few seconds.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { App, Director, Forwarding, LvsStack, PersistenceEngine, Protocol, RealServerPool, Scheduler } from '../../../lib/index.ts';
import { LvsError } from '../../../providers/ipvs/model/errors.ts';
import { generateApp } from '../../../providers/ipvs/import/generate-app.ts';
import { parseKeepalived } from '../../../providers/ipvs/read/parse-keepalived.ts';
import { mergeThresholds, parseCounters, parseRate, parseStats, parseThresholds } from '../../../providers/ipvs/read/parse-list.ts';
import { parseProcIpvs } from '../../../providers/ipvs/read/parse-proc.ts';
import { parseSave } from '../../../providers/ipvs/read/parse-save.ts';
import { parsePlanFile, writePlanFile } from '../../../providers/ipvs/plan/plan-file.ts';
import { planToJson } from '../../../providers/ipvs/render/plan-json.ts';
import { readSynth } from '../../../providers/ipvs/read/read-synth.ts';
import { loadStacks, readProjectConfig } from '../../../providers/ipvs/read/synth.ts';
import { parseRecord } from '../../../providers/ipvs/model/record.ts';
import { renderMarkdown } from '../../../providers/ipvs/render/render-markdown.ts';
import { renderPlan } from '../../../providers/ipvs/render/render-plan.ts';
import { renderTable } from '../../../providers/ipvs/model/render-restore.ts';
import { diffTables, renderBatch } from '../../../providers/ipvs/plan/diff.ts';
import type { Table } from '../../../providers/ipvs/model/model.ts';
import { project } from '../bad-input/cli-helpers.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');

/** Runs `f`; an LvsError with a stable code counts as a clean refusal. Anything else fails the property. */
function cleanly<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (e instanceof LvsError && /^LVS_[A-Z_]+$/.test(e.code) && e.message.length > 0) return undefined;
    throw e;
  }
}

/** Every path (list of keys) in a JSON value, the root included. */
function pathsOf(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => pathsOf(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) pathsOf(x, [...at, k], out);
  return out;
}

/** Odd values a hand edit or a damaged file may hold. */
const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    null,
    '',
    0,
    -1,
    1.5,
    2 ** 31,
    2 ** 53,
    '1',
    'true',
    [],
    {},
    '198.51.100.300',
    '::ffff:192.0.2.1',
    'rr; reboot',
    '\u0000',
    '__proto__',
    'constructor',
  ),
);

interface Mutation {
  readonly pick: number;
  readonly op: 'set' | 'delete' | 'add';
  readonly key: string;
  readonly value: unknown;
}
const mutation: fc.Arbitrary<Mutation> = fc.record({
  pick: fc.nat(),
  op: fc.constantFrom('set', 'delete', 'add'),
  key: fc.constantFrom('x', 'name', 'port', 'weight', '//', 'lvsform_thing', 'services', 'changes', '__proto__'),
  value: oddValue,
});

/** Applies mutations to a copy of `doc` (set, delete or add at a path chosen among those present). */
function mutate(doc: unknown, muts: readonly Mutation[]): unknown {
  let root: unknown = structuredClone(doc);
  for (const m of muts) {
    const paths = pathsOf(root);
    const p = paths[m.pick % paths.length]!;
    if (p.length === 0) {
      if (m.op === 'set') root = m.value;
      continue;
    }
    let parent: any = root;
    for (const k of p.slice(0, -1)) parent = parent[k];
    const last = p[p.length - 1]!;
    if (m.op === 'set') parent[last] = structuredClone(m.value);
    else if (m.op === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else {
      const target = parent[last];
      if (Array.isArray(target)) target.push(structuredClone(m.value));
      else if (target && typeof target === 'object')
        Object.defineProperty(target, m.key, { value: structuredClone(m.value), enumerable: true, writable: true, configurable: true });
    }
  }
  return root;
}

/** Mutates text: replace, insert or delete short runs at random places, with characters that matter to parsers. */
const textMutations = fc.array(
  fc.record({
    at: fc.nat(),
    cut: fc.nat({ max: 12 }),
    insert: fc.oneof(
      fc.string({ maxLength: 8 }),
      fc.constantFrom(
        '{',
        '}',
        '"',
        '\\',
        '\n',
        '#',
        '!',
        '$',
        '${X}',
        '-p',
        ' -w 99999999999',
        ':',
        '[',
        ']',
        '0',
        '65536',
        '-1',
        '\u0000',
        '\r\n',
        '\t',
        'include x',
        '$X=1',
        '->',
        'FWM',
        'TCP',
        'UDP',
      ),
    ),
  }),
  { maxLength: 8 },
);
function mutateText(text: string, muts: readonly { at: number; cut: number; insert: string }[]): string {
  let t = text;
  for (const m of muts) {
    const at = t.length === 0 ? 0 : m.at % (t.length + 1);
    t = t.slice(0, at) + m.insert + t.slice(at + m.cut);
  }
  return t;
}

const SETTINGS = { seed: Number(process.env['PROPERTY_SEED'] ?? 12), numRuns: Number(process.env['PROPERTY_RUNS'] ?? 400), endOnFailure: true } as const;

/** A rich synthesized stack: every construct and option. */
function synthesizedDoc(): unknown {
  const dir = project({});
  const app = new App({ outdir: path.join(dir, 'out') });
  const stack = new LvsStack(app, 'web');
  const lb1 = new Director(stack, 'lb1', { ssh: { host: '203.0.113.2', user: 'root', port: 2222 }, setup: {} });
  const nat = new RealServerPool(stack, 'nat', {
    forwarding: Forwarding.NAT,
    members: [{ address: '192.0.2.11', port: 8080, weight: 3, upperThreshold: 10, lowerThreshold: 2 }, { address: '192.0.2.12' }],
  });
  const dr = new RealServerPool(stack, 'dr', { forwarding: Forwarding.DIRECT_ROUTING, members: [{ address: '192.0.2.21' }] });
  const tun = new RealServerPool(stack, 'tun', { forwarding: Forwarding.tunnel(), members: [{ address: '2001:db8::31' }] });
  lb1.addVirtualService('http', {
    address: '198.51.100.10',
    port: 80,
    scheduler: Scheduler.sourceHash({ fallback: true }),
    persistence: { timeout: 60, netmask: '255.255.255.0' },
    pools: [nat, dr, tun],
  });
  lb1.addVirtualService('sip', {
    protocol: Protocol.UDP,
    address: '198.51.100.11',
    port: 5060,
    persistence: {},
    persistenceEngine: PersistenceEngine.SIP,
    onePacket: true,
    pools: [nat],
  });
  lb1.addVirtualService('mark', { firewallMark: 7, scheduler: Scheduler.ROUND_ROBIN, pools: [dr] });
  app.synth();
  return JSON.parse(fs.readFileSync(path.join(dir, 'out/stacks/web/cdk.tf.json'), 'utf8'));
}

describe('readSynth: mutated synthesized JSON', () => {
  const doc = synthesizedDoc();
  it('reads the unmutated document', () => {
    // GIVEN the document WHEN read THEN one director with three services
    const s = readSynth(doc, 'cdk.tf.json');
    expect(s.directors.map((d) => d.table.services.length)).toEqual([3]);
  });
  it('ends in a table or an LvsError, and an accepted table renders to restore lines', () => {
    // GIVEN up to 4 mutations of a rich document WHEN read THEN success (rendered) or LvsError only
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (muts) => {
        const s = cleanly(() => readSynth(mutate(doc, muts), 'cdk.tf.json'));
        for (const d of s?.directors ?? []) {
          renderTable(d.table);
          renderBatch(diffTables({ services: [] }, d.table, { owned: new Set() }).changes);
        }
      }),
      SETTINGS,
    );
  });
});

describe('parsePlanFile: mutated plans, re-signed', () => {
  const base = readSynth(synthesizedDoc(), 'cdk.tf.json').directors[0]!;
  const diff = diffTables({ services: [] }, base.table, { owned: new Set() });
  const plan = {
    formatVersion: 1 as const,
    stack: 'web',
    createdAt: '2025-01-01T00:00:00.000Z',
    mode: 'apply' as const,
    directors: [
      {
        director: 'lb1',
        target: { name: 'lb1', transport: 'ssh' as const, ssh: { host: '203.0.113.2', user: 'root' } },
        fingerprint: '0'.repeat(64),
        changes: diff.changes,
        drift: ['tcp 198.51.100.10:80'],
        unmanaged: ['udp 198.51.100.99:53'],
        conflicts: [],
        adopted: [],
        batch: renderBatch(diff.changes),
        desired: base.table,
        paths: Object.fromEntries(base.paths),
        drain: [],
        drainTimeout: 30,
        hostSetup: [{ kind: 'module' as const, action: 'create' as const, name: 'ip_vs_sh' }],
      },
      {
        director: 'lb2',
        target: { name: 'lb2', transport: 'local' as const },
        fingerprint: '',
        changes: [],
        drift: [],
        unmanaged: [],
        conflicts: ['tcp 198.51.100.20:80'],
        adopted: [],
        batch: '',
        desired: { services: [] },
        paths: {},
        drain: [],
        drainTimeout: 30,
        error: { code: 'LVS_HOST_UNREACHABLE', message: 'director lb2: cannot reach', hint: 'check' },
      },
    ],
  };
  const resign = (p: unknown) =>
    JSON.stringify({ kind: 'lvsform-plan', format_version: 1, digest: createHash('sha256').update(JSON.stringify(p)).digest('hex'), plan: p });

  it('reads and renders the unmutated plan', async () => {
    // GIVEN the plan written by writePlanFile WHEN read back THEN it renders in every form
    const file = path.join(project({}), 'p.plan');
    await writePlanFile(file, plan as never);
    const read = parsePlanFile(fs.readFileSync(file, 'utf8'), file);
    expect(renderPlan(read)).toMatch(/Plan incomplete: 1 of 2/);
    expect(renderMarkdown(read)).toMatch(/incomplete/);
    expect(planToJson(read)).toBeTruthy();
  });
  it('ends in a plan that renders (text, Markdown, JSON) or an LvsError', () => {
    // GIVEN up to 4 mutations of the plan, re-signed WHEN read and rendered THEN success or LvsError only
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (muts) => {
        const p = cleanly(() => parsePlanFile(resign(mutate(plan, muts)), 'm.plan'));
        if (p) {
          renderPlan(p);
          renderMarkdown(p);
          JSON.stringify(planToJson(p));
        }
      }),
      SETTINGS,
    );
  });
  it('ends in a plan or an LvsError when the file text itself is damaged', () => {
    // GIVEN text mutations of a signed plan WHEN read THEN success or LvsError only
    const text = resign(plan);
    fc.assert(
      fc.property(textMutations, (muts) => void cleanly(() => parsePlanFile(mutateText(text, muts), 'm.plan'))),
      SETTINGS,
    );
  });
});

describe('parseRecord: mutated ownership records', () => {
  const record = {
    format: 1,
    stack: 'web',
    director: 'lb1',
    updated: '2025-01-01T00:00:00.000Z',
    services: { 'tcp 198.51.100.10:80': { path: 'web/lb1/http' } },
  };
  it('ends in a record or an LvsError (mutated values)', () => {
    // GIVEN mutated records WHEN parsed THEN success or LvsError only
    fc.assert(
      fc.property(
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (muts) => void cleanly(() => parseRecord(JSON.stringify(mutate(record, muts)), 'web', 'lb1')),
      ),
      SETTINGS,
    );
  });
  it('ends in a record or an LvsError (damaged text)', () => {
    // GIVEN damaged record text WHEN parsed THEN success or LvsError only
    const text = JSON.stringify(record);
    fc.assert(
      fc.property(textMutations, (muts) => void cleanly(() => parseRecord(mutateText(text, muts), 'web', 'lb1'))),
      SETTINGS,
    );
  });
});

/** Text readers: a real example, damaged; an accepted table is rendered and turned into an app. */
function textProperty(name: string, text: string, read: (t: string) => Table | unknown): void {
  it(`${name}: ends in a result or an LvsError`, () => {
    // GIVEN damaged text WHEN read THEN success (rendered) or LvsError only
    fc.assert(
      fc.property(textMutations, (muts) => {
        const out = cleanly(() => read(mutateText(text, muts)));
        if (out && typeof out === 'object' && 'services' in (out as object)) {
          const table = out as Table;
          renderTable(table);
          cleanly(() => generateApp(table, { stack: 'imported', director: { name: 'lb1', local: true } }));
        }
      }),
      SETTINGS,
    );
  });
}

describe('ipvsadm text readers: damaged real output', () => {
  textProperty('parseSave', fixture('ipvsadm/full.save.txt'), (t) => parseSave(t, 'rules.save'));
  textProperty('parseThresholds', fixture('ipvsadm/full.thresholds.txt'), (t) => parseThresholds(t));
  textProperty('mergeThresholds', fixture('ipvsadm/full.thresholds.txt'), (t) => mergeThresholds(parseSave(fixture('ipvsadm/full.save.txt')), t));
  textProperty('parseStats', fixture('ipvsadm/full.stats.txt'), (t) => parseStats(t));
  textProperty('parseRate', fixture('ipvsadm/full.rate.txt'), (t) => parseRate(t));
  textProperty('parseCounters', fixture('ipvsadm/full.list.txt'), (t) => parseCounters(t));
  textProperty('parseProcIpvs', fixture('ipvsadm/full.proc.txt'), (t) => ({ digest: parseProcIpvs(t) }));
  textProperty(
    'parseSave of generated lines',
    '-A -t 198.51.100.10:80 -s sh -b sh-port -p 60 -M 255.255.255.0\n-a -t 198.51.100.10:80 -r 192.0.2.11:80 -i --tun-type gue --tun-port 6080 -w 3 -x 10 -y 2\n',
    (t) => parseSave(t),
  );
});

describe('keepalived configurations: damaged real configurations', () => {
  for (const name of fs.readdirSync(path.join(FIXTURES, 'keepalived')).sort()) {
    textProperty(`parseKeepalived ${name}`, fixture(`keepalived/${name}`), (t) => parseKeepalived(t, name).table);
  }
  textProperty(
    'parseKeepalived with definitions and one-line blocks',
    '$VIP=198.51.100.10\n$P=80\nvirtual_server $VIP ${P} { lvs_sched rr\n protocol TCP\n real_server 192.0.2.11 $P { weight 1 uthreshold 100 } }\n',
    (t) => parseKeepalived(t, 'k.conf').table,
  );
});

describe('project files: mutated cdktf.json and manifest', () => {
  /** Outcomes of async readers: an LvsError is a clean refusal. */
  async function cleanlyAsync(f: () => Promise<unknown>): Promise<void> {
    try {
      await f();
    } catch (e) {
      if (!(e instanceof LvsError && /^LVS_[A-Z_]+$/.test(e.code))) throw e;
    }
  }
  const files = { ...SETTINGS, numRuns: Math.min(SETTINGS.numRuns, 150) };

  it('readProjectConfig ends in a config or an LvsError', async () => {
    // GIVEN mutated cdktf.json files WHEN read THEN success or LvsError only
    const dir = project({});
    const good = { language: 'typescript', app: 'npx tsx main.ts', output: 'cdktf.out' };
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (muts) => {
        fs.writeFileSync(path.join(dir, 'cdktf.json'), JSON.stringify(mutate(good, muts)) ?? 'null');
        await cleanlyAsync(() => readProjectConfig(dir));
      }),
      files,
    );
  });

  it('loadStacks ends in stacks or an LvsError for a mutated manifest', async () => {
    // GIVEN a synthesized output whose manifest is mutated WHEN loaded THEN success or LvsError only
    const dir = project({});
    const app = new App({ outdir: path.join(dir, 'out') });
    new Director(new LvsStack(app, 'web'), 'lb1', { local: true });
    app.synth();
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'out/manifest.json'), 'utf8'));
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (muts) => {
        fs.writeFileSync(path.join(dir, 'out/manifest.json'), JSON.stringify(mutate(manifest, muts)) ?? 'null');
        await cleanlyAsync(() => loadStacks(path.join(dir, 'out')));
      }),
      files,
    );
  });
});
