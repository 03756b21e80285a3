import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApp } from '../../../providers/ipvs/import/generate-app.ts';
import { type Service, type Table, normalizeTable, serviceId, tableEquals } from '../../../providers/ipvs/model/model.ts';
import { parseKeepalived } from '../../../providers/ipvs/read/parse-keepalived.ts';
import { readSynth } from '../../../providers/ipvs/read/read-synth.ts';

const ROOT = join(import.meta.dirname, '../../..');
const FIXTURES = join(ROOT, 'test/fixtures/keepalived');
const TSX = join(ROOT, 'node_modules/.bin/tsx');

const dest = (address: string, port: number, extra: Partial<Service['destinations'][number]> = {}) => ({
  address,
  port,
  forwarding: { method: 'masq' as const },
  weight: 1,
  upperThreshold: 0,
  lowerThreshold: 0,
  ...extra,
});

/** What the keepalived fixtures do not cover: raw flags on any scheduler, a newer kernel's scheduler, odd pools. */
const EXTRAS: Table = normalizeTable({
  services: [
    {
      key: { kind: 'addr', protocol: 'tcp', address: '198.51.100.200', port: 80 },
      config: { scheduler: 'rr', schedFlags: ['flag-1', 'flag-3'], onePacket: false },
      destinations: [dest('192.0.2.201', 80), dest('192.0.2.202', 8080, { weight: 0 }), dest('192.0.2.203', 80, { forwarding: { method: 'droute' } })],
    },
    {
      key: { kind: 'addr', protocol: 'tcp', address: '198.51.100.200', port: 443 },
      config: { scheduler: 'sh', schedFlags: ['flag-1', 'flag-3'], onePacket: false },
      destinations: [dest('192.0.2.201', 443), dest('192.0.2.202', 8080, { weight: 0 }), dest('192.0.2.203', 443, { forwarding: { method: 'droute' } })],
    },
    {
      key: { kind: 'addr', protocol: 'udp', address: '198.51.100.201', port: 53 },
      config: { scheduler: 'twos', schedFlags: [], onePacket: true, persistence: { timeout: 2_678_400, netmask: '255.255.255.128' } },
      destinations: [
        dest('192.0.2.204', 53, { upperThreshold: 10, lowerThreshold: 10 }),
        dest('192.0.2.205', 53, { upperThreshold: 10, lowerThreshold: 10 }),
        dest('192.0.2.206', 53),
      ],
    },
    {
      key: { kind: 'fwmark', mark: 4_294_967_295, family: 'inet6' },
      config: { scheduler: 'mh', schedFlags: ['flag-2'], onePacket: true, persistence: { timeout: 1, netmask: '1' } },
      destinations: [
        dest('2001:db8::207', 0, { forwarding: { method: 'tunnel', type: 'gue', port: 65535, checksum: 'remcsum' } }),
        dest('192.0.2.207', 0, { forwarding: { method: 'tunnel', type: 'ipip' } }),
      ],
    },
    {
      key: { kind: 'addr', protocol: 'sctp', address: '2001:db8:100::200', port: 3868 },
      config: { scheduler: 'wlc', schedFlags: [], onePacket: false },
      destinations: [],
    },
  ],
});

interface Case {
  readonly name: string;
  readonly table: Table;
}

const corpus: Case[] = [
  ...readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.conf'))
    .sort()
    .map((f) => ({ name: f.replace(/\.conf$/, ''), table: parseKeepalived(readFileSync(join(FIXTURES, f), 'utf8'), f).table })),
  { name: 'extras', table: EXTRAS },
];

describe('generateApp round trip: table -> TypeScript -> synth -> readSynth -> the same table', () => {
  const work = join(ROOT, 'test/.tmp', `generate-app-${process.pid}`);
  const results = new Map<string, { table?: Table; error?: string; code: string }>();

  beforeAll(async () => {
    const limit = pLimit(4);
    await Promise.all(
      corpus.map((c) =>
        limit(async () => {
          const dir = join(work, c.name);
          mkdirSync(dir, { recursive: true });
          const code = generateApp(c.table, { stack: c.name, director: { name: 'lb1', ssh: { host: '203.0.113.2', user: 'root' } }, source: `${c.name}.conf` });
          writeFileSync(join(dir, 'main.ts'), code);
          const run = await execa(TSX, ['main.ts'], { cwd: dir, reject: false, all: true, env: { CDKTF_OUTDIR: join(dir, 'out') } });
          if (run.exitCode !== 0) {
            results.set(c.name, { error: run.all ?? '', code });
            return;
          }
          const json = JSON.parse(readFileSync(join(dir, 'out/stacks', c.name, 'cdk.tf.json'), 'utf8'));
          const synth = readSynth(json, c.name);
          results.set(c.name, { table: synth.directors[0]?.table ?? { services: [] }, code });
        }),
      ),
    );
  }, 120_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('covers every scheduler, flag, forwarding method, protocol and family in its corpus', () => {
    // GIVEN the corpus WHEN its features are listed
    const services = corpus.flatMap((c) => c.table.services);
    const dests = services.flatMap((s) => s.destinations);
    const seen = new Set([
      ...services.map((s) => `sched ${s.config.scheduler}`),
      ...services.flatMap((s) => s.config.schedFlags.map((f) => `flag ${s.config.scheduler} ${f}`)),
      ...services.map((s) => (s.key.kind === 'addr' ? `proto ${s.key.protocol}` : `fwmark ${s.key.family}`)),
      ...services.map((s) => `family ${s.key.kind === 'addr' && s.key.address.includes(':') ? 6 : 4}`),
      ...services.filter((s) => s.config.persistenceEngine).map((s) => `pe ${s.config.persistenceEngine}`),
      ...services.filter((s) => s.config.onePacket).map(() => 'ops'),
      ...dests.map((d) => (d.forwarding.method === 'tunnel' ? `tunnel ${d.forwarding.type} ${d.forwarding.checksum ?? ''}` : d.forwarding.method)),
      ...dests.filter((d) => d.weight === 0).map(() => 'weight 0'),
      ...dests.filter((d) => d.upperThreshold > 0 && d.lowerThreshold > 0).map(() => 'thresholds'),
    ]);
    // THEN everything the model can say is exercised
    const wanted = [
      ...['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh'].map((s) => `sched ${s}`),
      'flag sh flag-1',
      'flag sh flag-2',
      'flag mh flag-1',
      'flag mh flag-2',
      'flag wlc flag-3',
      'flag rr flag-1',
      'proto tcp',
      'proto udp',
      'proto sctp',
      'fwmark inet',
      'fwmark inet6',
      'family 4',
      'family 6',
      'pe sip',
      'ops',
      'masq',
      'droute',
      'tunnel ipip ',
      'tunnel gue nocsum',
      'tunnel gue csum',
      'tunnel gue remcsum',
      'tunnel gre nocsum',
      'tunnel gre csum',
      'weight 0',
      'thresholds',
    ];
    expect(wanted.filter((w) => !seen.has(w))).toEqual([]);
  });

  it.each(corpus.map((c) => c.name))('%s synthesizes back to the table it was generated from', (name) => {
    // GIVEN the app generated from the corpus table, run through the real construct library (beforeAll)
    const c = corpus.find((x) => x.name === name)!;
    const r = results.get(name);
    // WHEN its cdk.tf.json is read back
    expect(r?.error, r?.error ? `${r.error}\n--- generated ---\n${r.code}` : undefined).toBeUndefined();
    // THEN the table is the same
    expect(tableEquals(r!.table!, c.table), `${JSON.stringify(r!.table, null, 1)}\n--- generated ---\n${r!.code}`).toBe(true);
  });
});

describe('generateApp text', () => {
  const shared: Table = normalizeTable({
    services: [80, 443].map((port) => ({
      key: { kind: 'addr' as const, protocol: 'tcp' as const, address: '198.51.100.10', port },
      config: { scheduler: 'wlc', schedFlags: [], onePacket: false },
      destinations: [dest('192.0.2.11', port), dest('192.0.2.12', port)],
    })),
  });
  const opts = { stack: 'web', director: { name: 'lb1', local: true } };

  it('is the same for the same table whatever the input order', () => {
    // GIVEN one table in two orders
    const reversed: Table = { services: [...shared.services].reverse() };
    // WHEN generated
    const a = generateApp(shared, opts);
    const b = generateApp(reversed, opts);
    // THEN the text is identical
    expect(a).toBe(b);
  });

  it('puts services with the same real servers into one pool', () => {
    // GIVEN two services on the same VIP with the same reals WHEN generated
    const text = generateApp(shared, opts);
    // THEN one RealServerPool, named after the VIP, serves both
    expect(text.match(/new RealServerPool\(/g)).toHaveLength(1);
    expect(text).toContain("new RealServerPool(stack, '198-51-100-10-reals'");
    expect(text.match(/pools: \[pool1\]/g)).toHaveLength(2);
  });

  it.each([
    { name: 'the default scheduler', absent: 'scheduler:' },
    { name: 'NAT forwarding', absent: 'forwarding:' },
    { name: 'weight 1', absent: 'weight:' },
    { name: 'zero thresholds', absent: 'Threshold' },
    { name: 'the TCP protocol', absent: 'protocol:' },
    { name: 'a port equal to the service port', absent: 'port: 80 }' },
  ])('leaves out $name', ({ absent }) => {
    // GIVEN a table of defaults WHEN generated
    const text = generateApp(shared, opts);
    // THEN the default is not written
    expect(text).not.toContain(absent);
  });

  it.each([
    { name: 'sh with both flags', sched: 'sh', flags: ['flag-1', 'flag-2'] as const, text: 'Scheduler.sourceHash({ fallback: true, port: true })' },
    { name: 'mh with fallback', sched: 'mh', flags: ['flag-1'] as const, text: 'Scheduler.maglevHash({ fallback: true })' },
    { name: 'flag-3 on sh', sched: 'sh', flags: ['flag-2', 'flag-3'] as const, text: "Scheduler.of('sh', { flags: ['sh-port', 'flag-3'] })" },
    { name: 'a scheduler of a newer kernel', sched: 'twos', flags: [] as const, text: "Scheduler.of('twos')" },
    { name: 'a named scheduler', sched: 'lblcr', flags: [] as const, text: 'Scheduler.LOCALITY_BASED_LEAST_CONNECTION_WITH_REPLICATION' },
  ])('writes $name as $text', ({ sched, flags, text }) => {
    // GIVEN a service with that scheduler
    const table: Table = { services: [{ ...shared.services[0]!, config: { ...shared.services[0]!.config, scheduler: sched, schedFlags: [...flags] } }] };
    // WHEN generated THEN the scheduler reads as the construct API spells it
    expect(generateApp(table, opts)).toContain(`scheduler: ${text}`);
  });

  it('writes notes as comments that cannot break out of the comment', () => {
    // GIVEN a note with a newline and code in it WHEN generated
    const text = generateApp(shared, { ...opts, notes: ['x.conf:1: bad\nprocess.exit(1)'] });
    // THEN it stays on one comment line
    expect(text).toContain('// x.conf:1: bad process.exit(1)\n');
  });

  it('names services and pools after what they serve', () => {
    // GIVEN the shared table WHEN generated
    const ids = [...generateApp(shared, opts).matchAll(/addVirtualService\('([^']+)'/g)].map((m) => m[1]);
    // THEN each service id spells protocol, address and port
    expect(ids).toEqual(shared.services.map((s) => serviceId(s.key).replace(/[ .:]/g, '-')));
  });
});
