import { describe, expect, it } from 'vitest';
import { diffTables, renderBatch } from '../../../providers/ipvs/plan/diff.ts';
import type { Change } from '../../../providers/ipvs/model/change.ts';
import { type Destination, type Service, type Table, normalizeTable } from '../../../providers/ipvs/model/model.ts';
import { mergeThresholds } from '../../../providers/ipvs/read/parse-list.ts';
import { parseSave } from '../../../providers/ipvs/read/parse-save.ts';
import { fixture } from './fixtures.ts';
import { planDirector } from '../../../providers/ipvs/plan/plan.ts';
import type { DesiredDirector } from '../../../providers/ipvs/model/desired-director.ts';
import { serviceHash, type LiveState } from '../../../providers/ipvs/model/live-state.ts';
import { maskRuntimeValues, type RuntimeManaged } from '../../../providers/ipvs/model/runtime-managed.ts';

const dest = (address: string, extra: Partial<Destination> = {}): Destination => ({
  address,
  port: 80,
  forwarding: { method: 'masq' },
  weight: 1,
  upperThreshold: 0,
  lowerThreshold: 0,
  ...extra,
});
const svc = (address: string, dests: Destination[] = [], config: Partial<Service['config']> = {}): Service => ({
  key: { kind: 'addr', protocol: 'tcp', address, port: 80 },
  config: { scheduler: 'wlc', schedFlags: [], onePacket: false, ...config },
  destinations: dests,
});
const table = (...services: Service[]): Table => normalizeTable({ services });

/** A change in one line: `update service tcp 198.51.100.1:80 [config.scheduler]`, `create destination ... -> 192.0.2.1:80`. */
function brief(c: Change): string {
  const what = c.kind === 'service' ? `service ${c.serviceId}` : `destination ${c.serviceId} -> ${c.destinationId}`;
  return `${c.action} ${what}${c.changedFields ? ` [${c.changedFields.join(',')}]` : ''}${c.replace ? ' (replace)' : ''}`;
}

const A = '198.51.100.1';
const B = '198.51.100.2';
const owned = (...addrs: string[]) => new Set(addrs.map((a) => `tcp ${a}:80`));

const cases: { name: string; live: Table; desired: Table; owned: Set<string>; expectedChanges: string[] }[] = [
  {
    name: 'identical tables: nothing',
    live: table(svc(A, [dest('192.0.2.1')])),
    desired: table(svc(A, [dest('192.0.2.1')])),
    owned: owned(A),
    expectedChanges: [],
  },
  {
    name: 'a new service is created before its real servers',
    live: table(),
    desired: table(svc(A, [dest('192.0.2.2'), dest('192.0.2.1')])),
    owned: owned(),
    expectedChanges: [`create service tcp ${A}:80`, `create destination tcp ${A}:80 -> 192.0.2.1:80`, `create destination tcp ${A}:80 -> 192.0.2.2:80`],
  },
  {
    name: 'an owned service no longer desired is deleted (its real servers with it)',
    live: table(svc(A, [dest('192.0.2.1')])),
    desired: table(),
    owned: owned(A),
    expectedChanges: [`delete service tcp ${A}:80`],
  },
  { name: 'an unowned service not desired is left alone', live: table(svc(A)), desired: table(), owned: owned(), expectedChanges: [] },
  {
    name: 'a desired service live but not owned is a conflict, untouched',
    live: table(svc(A)),
    desired: table(svc(A, [], { scheduler: 'rr' })),
    owned: owned(),
    expectedChanges: [],
  },
  ...(
    [
      ['scheduler', { scheduler: 'rr' }, 'config.scheduler'],
      ['scheduler flags', { scheduler: 'wlc', schedFlags: ['flag-1'] }, 'config.schedFlags'],
      ['persistence on', { persistence: { timeout: 360, netmask: '255.255.255.255' } }, 'config.persistence'],
      ['persistence engine', { persistenceEngine: 'sip' }, 'config.persistenceEngine'],
      ['one-packet', { onePacket: true }, 'config.onePacket'],
    ] as const
  ).map(([field, config, path]) => ({
    name: `${field} changes in place`,
    live: table(svc(A)),
    desired: table(svc(A, [], config as Partial<Service['config']>)),
    owned: owned(A),
    expectedChanges: [`update service tcp ${A}:80 [${path}]`],
  })),
  {
    name: 'persistence off, timeout and netmask change in place',
    live: table(svc(A, [], { persistence: { timeout: 60, netmask: '255.255.255.255' } }), svc(B)),
    desired: table(svc(A, [], { persistence: { timeout: 90, netmask: '255.255.255.0' } }), svc(B, [], { persistence: undefined })),
    owned: owned(A, B),
    expectedChanges: [`update service tcp ${A}:80 [config.persistence.timeout,config.persistence.netmask]`],
  },
  ...(
    [
      ['weight', { weight: 0 }, 'weight'],
      ['upper threshold', { upperThreshold: 10 }, 'upperThreshold'],
      ['lower threshold', { upperThreshold: 10, lowerThreshold: 5 }, 'upperThreshold,lowerThreshold'],
      ['forwarding method', { forwarding: { method: 'droute' } }, 'forwarding'],
    ] as const
  ).map(([field, extra, path]) => ({
    name: `real server ${field} changes in place`,
    live: table(svc(A, [dest('192.0.2.1')])),
    desired: table(svc(A, [dest('192.0.2.1', extra as Partial<Destination>)])),
    owned: owned(A),
    expectedChanges: [`update destination tcp ${A}:80 -> 192.0.2.1:80 [${path}]`],
  })),
  {
    name: 'tunnel type, port and checksum change in place',
    live: table(
      svc(A, [
        dest('192.0.2.1', { forwarding: { method: 'tunnel', type: 'gue', port: 6080, checksum: 'nocsum' } }),
        dest('192.0.2.2', { forwarding: { method: 'tunnel', type: 'ipip' } }),
      ]),
    ),
    desired: table(
      svc(A, [
        dest('192.0.2.1', { forwarding: { method: 'tunnel', type: 'gue', port: 6081, checksum: 'remcsum' } }),
        dest('192.0.2.2', { forwarding: { method: 'tunnel', type: 'gre', checksum: 'csum' } }),
      ]),
    ),
    owned: owned(A),
    expectedChanges: [
      `update destination tcp ${A}:80 -> 192.0.2.1:80 [forwarding.port,forwarding.checksum]`,
      `update destination tcp ${A}:80 -> 192.0.2.2:80 [forwarding.type,forwarding.checksum]`,
    ],
  },
  {
    name: 'ordering: creates, service updates, real-server creates, updates, deletes, service deletes',
    live: table(svc(A, [dest('192.0.2.1'), dest('192.0.2.2')]), svc('198.51.100.9', [dest('192.0.2.9')])),
    desired: table(svc(A, [dest('192.0.2.2', { weight: 5 }), dest('192.0.2.3')], { scheduler: 'rr' }), svc(B, [dest('192.0.2.4')])),
    owned: owned(A, '198.51.100.9'),
    expectedChanges: [
      `create service tcp ${B}:80`,
      `create destination tcp ${B}:80 -> 192.0.2.4:80`,
      `update service tcp ${A}:80 [config.scheduler]`,
      `create destination tcp ${A}:80 -> 192.0.2.3:80`,
      `update destination tcp ${A}:80 -> 192.0.2.2:80 [weight]`,
      `delete destination tcp ${A}:80 -> 192.0.2.1:80`,
      'delete service tcp 198.51.100.9:80',
    ],
  },
  {
    name: 'a real server moving from NAT on port 8080 to direct routing is a new identity (the kernel forces the service port)',
    live: table(svc(A, [dest('192.0.2.1', { port: 8080 })])),
    desired: table(svc(A, [dest('192.0.2.1', { forwarding: { method: 'droute' } })])),
    owned: owned(A),
    expectedChanges: [`create destination tcp ${A}:80 -> 192.0.2.1:80`, `delete destination tcp ${A}:80 -> 192.0.2.1:8080`],
  },
];

describe('diffTables', () => {
  for (const c of cases) {
    it(c.name, () => {
      // GIVEN live and desired tables and what the stack owns
      // WHEN diffed
      const diff = diffTables(c.live, c.desired, { owned: c.owned });
      // THEN the ordered changes
      expect(diff.changes.map(brief)).toEqual(c.expectedChanges);
    });
  }

  it('lists live services neither owned nor desired as unmanaged', () => {
    const diff = diffTables(table(svc(A), svc(B)), table(svc(A)), { owned: owned(A) });
    expect(diff.unmanaged).toEqual([`tcp ${B}:80`]);
  });

  it('lists desired services that exist live without being owned as conflicts', () => {
    const diff = diffTables(table(svc(A), svc(B)), table(svc(A), svc(B)), { owned: owned(A) });
    expect(diff.conflicts).toEqual([`tcp ${B}:80`]);
  });

  it('carries before and after values on an update', () => {
    const [c] = diffTables(table(svc(A, [dest('192.0.2.1')])), table(svc(A, [dest('192.0.2.1', { weight: 3 })])), { owned: owned(A) }).changes;
    expect(c).toMatchObject({ action: 'update', kind: 'destination', before: { weight: 1 }, after: { weight: 3 } });
  });

  it('finds nothing to do between the captured live table and itself', () => {
    const live = mergeThresholds(parseSave(fixture('full.save.txt')), fixture('full.thresholds.txt'));
    const again = mergeThresholds(parseSave(fixture('roundtrip.save.txt')), fixture('roundtrip.thresholds.txt'));
    expect(diffTables(live, again, { owned: new Set(live.services.map(renderId)) }).changes).toEqual([]);
  });

  it('turns the captured table into the captured edited table with in-place updates only', () => {
    // GIVEN the table before and after the in-place edits made on the kernel (edits.log.txt)
    const before = parseSave(fixture('full.save.txt'));
    const after = parseSave(fixture('edited.save.txt'));
    const ids = new Set(before.services.map(renderId));
    // WHEN diffed
    const diff = diffTables(before, after, { owned: ids });
    // THEN every change is an update (nothing needs a delete + create), one per service or real server edited
    expect(diff.changes.map((c) => c.action)).toEqual(diff.changes.map(() => 'update'));
    const beforeLines = new Set(fixture('full.save.txt').split('\n'));
    const changedLines = fixture('edited.save.txt')
      .split('\n')
      .filter((l) => !beforeLines.has(l));
    expect(diff.changes.length).toBe(changedLines.length);
  });
});

function renderId(s: Service): string {
  const k = s.key;
  return k.kind === 'fwmark' ? `fwmark ${k.mark} ${k.family}` : `${k.protocol} ${k.address.includes(':') ? `[${k.address}]` : k.address}:${k.port}`;
}

describe('renderBatch', () => {
  it('renders changes as ipvsadm -R lines in order, with no comments or blank lines', () => {
    const diff = diffTables(
      table(svc(A, [dest('192.0.2.1'), dest('192.0.2.2')]), svc(B)),
      table(svc(A, [dest('192.0.2.1', { weight: 2 }), dest('192.0.2.3')], { scheduler: 'rr' }), svc('198.51.100.3', [dest('192.0.2.5')])),
      { owned: owned(A, B) },
    );
    expect(renderBatch(diff.changes)).toBe(
      [
        '-A -t 198.51.100.3:80 -s wlc',
        '-a -t 198.51.100.3:80 -r 192.0.2.5:80 -m -w 1',
        `-E -t ${A}:80 -s rr`,
        `-a -t ${A}:80 -r 192.0.2.3:80 -m -w 1`,
        `-e -t ${A}:80 -r 192.0.2.1:80 -m -w 2`,
        `-d -t ${A}:80 -r 192.0.2.2:80`,
        `-D -t ${B}:80`,
        '',
      ].join('\n'),
    );
  });

  it('renders no changes as an empty batch', () => {
    expect(renderBatch([])).toBe('');
  });
});

describe('diffTables at scale', () => {
  it('finds exactly the changed weights among 10,000 services x 4 real servers', () => {
    // GIVEN 10,000 services x 4 reals live, and a desired table with 1% of weights changed
    const make = (w: (i: number) => number) =>
      table(
        ...Array.from({ length: 10_000 }, (_, i) => ({
          ...svc(
            `198.51.${100 + ((i >> 8) % 3)}.${i & 255}`,
            [1, 2, 3, 4].map((j) => dest(`192.0.2.${j}`, { weight: j === 1 ? w(i) : 1 })),
          ),
          key: { kind: 'addr' as const, protocol: 'tcp' as const, address: `198.51.100.${i & 255}`, port: 1000 + (i >> 8) },
        })),
      );
    const live = make(() => 1);
    const desired = make((i) => (i % 100 === 0 ? 5 : 1));
    const ids = new Set(live.services.map(renderId));
    // WHEN diffed (its speed is measured by bench/apply, not asserted here)
    const changes = diffTables(live, desired, { owned: ids }).changes;
    // THEN exactly the changed weights, as destination updates of the weight field
    expect(changes).toHaveLength(100);
    expect(changes.every((c) => c.kind === 'destination' && c.action === 'update' && c.changedFields?.join() === 'weight')).toBe(true);
  });
});

/** A live state of a table with the record lvsform would have written for it (every service owned, hashed as given). */
function liveWith(t: Table, hashOf: (s: Service) => string = serviceHash): LiveState {
  const services = Object.fromEntries(t.services.map((s) => [renderId(s), { path: `web/lb1/${renderId(s)}`, h: hashOf(s) }]));
  return { table: t, fingerprint: 'f', ipvsadmVersion: '', record: { format: 1, stack: 'web', director: 'lb1', updated: '', services } };
}

function desiredDirector(t: Table, runtime?: RuntimeManaged): DesiredDirector {
  return {
    name: 'lb1',
    target: { name: 'lb1', transport: 'local' },
    table: t,
    paths: new Map(t.services.map((s) => [renderId(s), `web/lb1/${renderId(s)}`])),
    ...(runtime ? { runtime } : {}),
  };
}

const SA = `tcp ${A}:80`;
const weightOf = (ids: string[]): RuntimeManaged => ({ [SA]: Object.fromEntries(ids.map((id) => [id, ['weight'] as const])) });

const runtimeCases: { name: string; live: Table; desired: Table; runtime?: RuntimeManaged; expectedChanges: string[] }[] = [
  {
    name: 'a weight changed at run time on a run-time managed real server is neither shown nor reverted',
    live: table(svc(A, [dest('192.0.2.1', { weight: 0 }), dest('192.0.2.2')])),
    desired: table(svc(A, [dest('192.0.2.1'), dest('192.0.2.2')])),
    runtime: weightOf(['192.0.2.1:80', '192.0.2.2:80']),
    expectedChanges: [],
  },
  {
    name: 'the same weight change without runtimeManaged is reverted',
    live: table(svc(A, [dest('192.0.2.1', { weight: 0 }), dest('192.0.2.2')])),
    desired: table(svc(A, [dest('192.0.2.1'), dest('192.0.2.2')])),
    expectedChanges: [`update destination ${SA} -> 192.0.2.1:80 [weight]`],
  },
  {
    name: 'a new member of a run-time managed pool is created with its declared weight',
    live: table(svc(A, [dest('192.0.2.1', { weight: 0 })])),
    desired: table(svc(A, [dest('192.0.2.1', { weight: 3 }), dest('192.0.2.2', { weight: 3 })])),
    runtime: weightOf(['192.0.2.1:80', '192.0.2.2:80']),
    expectedChanges: [`create destination ${SA} -> 192.0.2.2:80`],
  },
  {
    name: 'a member removed from a run-time managed pool is still removed',
    live: table(svc(A, [dest('192.0.2.1', { weight: 0 }), dest('192.0.2.2', { weight: 7 })])),
    desired: table(svc(A, [dest('192.0.2.1')])),
    runtime: weightOf(['192.0.2.1:80']),
    expectedChanges: [`delete destination ${SA} -> 192.0.2.2:80`],
  },
  {
    name: 'only the real servers of the run-time managed pool keep their live weight',
    live: table(svc(A, [dest('192.0.2.1', { weight: 0 }), dest('192.0.2.2', { weight: 0 })])),
    desired: table(svc(A, [dest('192.0.2.1'), dest('192.0.2.2')])),
    runtime: weightOf(['192.0.2.1:80']),
    expectedChanges: [`update destination ${SA} -> 192.0.2.2:80 [weight]`],
  },
  {
    name: 'thresholds left to the checker: a threshold change is kept, a weight change is still reverted',
    live: table(svc(A, [dest('192.0.2.1', { weight: 4, upperThreshold: 50, lowerThreshold: 10 })])),
    desired: table(svc(A, [dest('192.0.2.1')])),
    runtime: { [SA]: { '192.0.2.1:80': ['thresholds'] } },
    expectedChanges: [`update destination ${SA} -> 192.0.2.1:80 [weight]`],
  },
  {
    name: 'a declared change of another field keeps the live weight in the edit',
    live: table(svc(A, [dest('192.0.2.1', { weight: 0 })])),
    desired: table(svc(A, [dest('192.0.2.1', { weight: 2, forwarding: { method: 'droute' } })])),
    runtime: weightOf(['192.0.2.1:80']),
    expectedChanges: [`update destination ${SA} -> 192.0.2.1:80 [forwarding]`],
  },
];

describe('run-time managed fields (planDirector)', () => {
  for (const c of runtimeCases) {
    it(c.name, () => {
      // GIVEN an owned service live, its desired state and what a checker owns
      // WHEN planned
      const plan = planDirector(desiredDirector(c.desired, c.runtime), liveWith(c.live));
      // THEN the ordered changes
      expect(plan.changes.map(brief)).toEqual(c.expectedChanges);
    });
  }

  it('writes the live weight into the edit line of a run-time managed real server', () => {
    // GIVEN a checker's weight 0 and a declared move to direct routing
    const live = table(svc(A, [dest('192.0.2.1', { weight: 0 })]));
    const desired = table(svc(A, [dest('192.0.2.1', { weight: 2, forwarding: { method: 'droute' } })]));
    // WHEN planned
    const plan = planDirector(desiredDirector(desired, weightOf(['192.0.2.1:80'])), liveWith(live));
    // THEN the batch keeps weight 0, and the desired table verified after the batch says so too
    expect(plan.batch).toBe(`-e -t ${A}:80 -r 192.0.2.1:80 -g -w 0\n`);
    expect(plan.desired.services[0]!.destinations[0]!.weight).toBe(0);
  });

  it('does not call a run-time change of a run-time managed field drift', () => {
    // GIVEN a record hashed as an apply with runtimeManaged writes it, then the checker sets weight 0
    const runtime = weightOf(['192.0.2.1:80']);
    const applied = table(svc(A, [dest('192.0.2.1')]));
    const recorded = liveWith(applied, (s) => serviceHash(maskRuntimeValues(s, runtime)));
    const now = { ...recorded, table: table(svc(A, [dest('192.0.2.1', { weight: 0 })])) };
    // WHEN planned
    const plan = planDirector(desiredDirector(applied, runtime), now);
    // THEN no drift and no change
    expect([plan.drift, plan.changes]).toEqual([[], []]);
  });

  it('calls the same change drift without runtimeManaged', () => {
    // GIVEN a record of the applied table, then a hand change of the weight
    const applied = table(svc(A, [dest('192.0.2.1')]));
    const now = { ...liveWith(applied), table: table(svc(A, [dest('192.0.2.1', { weight: 0 })])) };
    // WHEN planned
    const plan = planDirector(desiredDirector(applied), now);
    // THEN the service is drifted
    expect(plan.drift).toEqual([SA]);
  });

  it('reads a record written before runtimeManaged was set as no drift while the service is unchanged', () => {
    // GIVEN a record hashed without masking (an older apply), weight 5 live and unchanged since
    const applied = table(svc(A, [dest('192.0.2.1', { weight: 5 })]));
    // WHEN planned with the weight now left to a checker
    const plan = planDirector(desiredDirector(applied, weightOf(['192.0.2.1:80'])), liveWith(applied));
    // THEN no drift
    expect(plan.drift).toEqual([]);
  });

  it('carries the run-time managed fields of owned services in the plan, for the read-back and the record', () => {
    // GIVEN a run-time managed service
    const t = table(svc(A, [dest('192.0.2.1')]));
    // WHEN planned
    const plan = planDirector(desiredDirector(t, weightOf(['192.0.2.1:80'])), liveWith(t));
    // THEN the plan names them; a plan without any has no such field (saved plans stay as they were)
    expect(plan.runtime).toEqual(weightOf(['192.0.2.1:80']));
    expect('runtime' in planDirector(desiredDirector(t), liveWith(t))).toBe(false);
  });
});
