/**
 * Every plan the planner can write reads back as itself: `writePlanFile` then `readPlanFile` (what `show` and
 * `apply FILE` use) gives an equal plan. Plans are made by the planner itself (`planDirector`, `planHostSetup`,
 * `failedPlan`) from generated live tables, ownership records, desired tables, options and host facts, for targets of
 * every kind: ssh with every option (sudo included), ssh config + alias, and this machine. The schema is also held to
 * the types at compile time (plan-schema.ts); this checks the bounds of its values against what the readers admit.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { failedPlan } from '../../../providers/ipvs/apply/run-stack.ts';
import { canonicalAddress } from '../../../providers/ipvs/model/canonical.ts';
import { LvsError } from '../../../providers/ipvs/model/errors.ts';
import type { ErrorCode } from '../../../providers/ipvs/model/error-codes.ts';
import { INT_MAX } from '../../../providers/ipvs/model/limits.ts';
import {
  type Destination,
  type Forwarding,
  type SchedFlag,
  type Service,
  type ServiceKey,
  type Table,
  normalizeTable,
  serviceId,
} from '../../../providers/ipvs/model/model.ts';
import { tableFingerprint, serviceHash, type LiveState } from '../../../providers/ipvs/model/live-state.ts';
import { readScriptText } from '../../../providers/ipvs/host/read-script.ts';
import type { HostTarget, SshTarget } from '../../../providers/ipvs/model/host-target.ts';
import type { OwnershipRecord } from '../../../providers/ipvs/model/record.ts';
import { DEBIAN_DEFAULTS, FORWARDING_SYSCTLS, modulesFile, sysctlFile, type HostFacts } from '../../../providers/ipvs/model/host-setup.ts';
import { PLAN_FORMAT, planDirector, type DirectorPlan, type Plan, type PlanOptions } from '../../../providers/ipvs/plan/plan.ts';
import type { DesiredDirector } from '../../../providers/ipvs/model/desired-director.ts';
import { readPlanFile, writePlanFile } from '../../../providers/ipvs/plan/plan-file.ts';

const SETTINGS = { seed: Number(process.env['PROPERTY_SEED'] ?? 19), numRuns: Number(process.env['PROPERTY_RUNS'] ?? 200), endOnFailure: true } as const;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-plan-roundtrip-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// ---- model values as the readers produce them (canonical addresses, kernel names, every bound) ----

const v4 = fc.ipV4().map((a) => canonicalAddress(a)!);
const v6 = fc.ipV6().map((a) => canonicalAddress(a)!);
const port = fc.oneof(fc.constantFrom(0, 1, 80, 65535), fc.integer({ min: 0, max: 65535 }));
const bigInt = fc.oneof(fc.constantFrom(0, 1, INT_MAX), fc.integer({ min: 0, max: INT_MAX }));
/** Scheduler and engine names as every reader admits them: up to 16 characters (a newer kernel's kept as text). */
const kernelName = fc.oneof(fc.constantFrom('rr', 'wlc', 'sh', 'mh', 'sip', 'a'.repeat(16)), fc.stringMatching(/^[a-z][a-z0-9_]{0,15}$/));

const forwarding: fc.Arbitrary<Forwarding> = fc.oneof(
  fc.constant({ method: 'masq' as const }),
  fc.constant({ method: 'droute' as const }),
  fc.constant({ method: 'tunnel' as const, type: 'ipip' as const }),
  fc.record({
    method: fc.constant('tunnel' as const),
    type: fc.constant('gue' as const),
    port: fc.integer({ min: 1, max: 65535 }),
    checksum: fc.constantFrom('nocsum' as const, 'csum' as const, 'remcsum' as const),
  }),
  fc.record({ method: fc.constant('tunnel' as const), type: fc.constant('gre' as const), checksum: fc.constantFrom('nocsum' as const, 'csum' as const) }),
);

function destination(family: 'inet' | 'inet6'): fc.Arbitrary<Destination> {
  return fc.record({ address: family === 'inet' ? v4 : v6, port, forwarding, weight: bigInt, upperThreshold: bigInt, lowerThreshold: bigInt });
}

const serviceKey: fc.Arbitrary<ServiceKey> = fc.oneof(
  fc.record({
    kind: fc.constant('addr' as const),
    protocol: fc.constantFrom('tcp' as const, 'udp' as const, 'sctp' as const),
    address: fc.oneof(v4, v6),
    port,
  }),
  fc.record({
    kind: fc.constant('fwmark' as const),
    mark: fc.oneof(fc.constantFrom(1, 2 ** 32 - 1), fc.integer({ min: 1, max: 2 ** 32 - 1 })),
    family: fc.constantFrom('inet' as const, 'inet6' as const),
  }),
);

const service: fc.Arbitrary<Service> = serviceKey.chain((key) => {
  const family = key.kind === 'fwmark' ? key.family : key.address.includes(':') ? 'inet6' : 'inet';
  return fc.record({
    key: fc.constant(key),
    config: fc.record(
      {
        scheduler: kernelName,
        schedFlags: fc.subarray(['flag-1', 'flag-2', 'flag-3'] as SchedFlag[]),
        persistence: fc.record({
          timeout: fc.integer({ min: 1, max: INT_MAX }),
          netmask: family === 'inet' ? fc.constantFrom('255.255.255.255', '255.255.255.0', '0.0.0.0') : fc.integer({ min: 0, max: 128 }).map(String),
        }),
        persistenceEngine: kernelName,
        onePacket: fc.boolean(),
      },
      { requiredKeys: ['scheduler', 'schedFlags', 'onePacket'] },
    ),
    destinations: fc.uniqueArray(destination(family), { maxLength: 4, selector: (d) => `${d.address}:${d.port}` }),
  });
});

const table: fc.Arbitrary<Table> = fc.uniqueArray(service, { maxLength: 5, selector: (s) => serviceId(s.key) }).map((services) => normalizeTable({ services }));

/** A desired table near the live one: some live services kept, some edited (so the plan updates), some new. */
function desiredNear(live: Table): fc.Arbitrary<Table> {
  return fc
    .record({
      keep: fc.subarray([...live.services]),
      edit: fc.subarray([...live.services]),
      extra: fc.uniqueArray(service, { maxLength: 3, selector: (s) => serviceId(s.key) }),
      scheduler: kernelName,
      weight: bigInt,
    })
    .map(({ keep, edit, extra, scheduler, weight }) => {
      const byId = new Map<string, Service>();
      for (const s of [...extra, ...keep]) byId.set(serviceId(s.key), s);
      for (const s of edit) {
        byId.set(serviceId(s.key), {
          ...s,
          config: { ...s.config, scheduler },
          // The first real server changes weight; the last one of several goes.
          destinations: s.destinations.slice(0, s.destinations.length > 1 ? -1 : undefined).map((d, i) => (i === 0 ? { ...d, weight } : d)),
        });
      }
      return normalizeTable({ services: [...byId.values()] });
    });
}

// ---- targets of every kind ----

/** Any text the synthesized-JSON reader admits for an ssh setting (1 to 4096 characters). */
const sshText = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }),
  fc.constantFrom('a'.repeat(4096), 'root', 'deploy', '/home/deploy/.ssh/id ed25519'),
);
const ssh: fc.Arbitrary<SshTarget> = fc.oneof(
  // host, with every other option
  fc.record(
    { host: sshText, port: fc.integer({ min: 1, max: 65535 }), user: sshText, identityFile: sshText, knownHostsFile: sshText, sudo: fc.boolean() },
    { requiredKeys: ['host'] },
  ),
  // ssh config + alias
  fc.record({ configFile: sshText, alias: sshText, user: sshText, sudo: fc.boolean() }, { requiredKeys: ['alias'] }),
);
function target(name: string): fc.Arbitrary<HostTarget> {
  return fc.oneof(
    fc.constant({ name, transport: 'local' as const }),
    ssh.map((s) => ({ name, transport: 'ssh' as const, ssh: s })),
  );
}

// ---- host facts for the Director's `setup` ----

const facts: fc.Arbitrary<HostFacts> = fc.record({
  osRelease: fc.constantFrom<Record<string, string>>({ ID: 'debian' }, { ID: 'rocky', ID_LIKE: 'rhel fedora' }, { ID: 'ubuntu' }),
  commands: fc.subarray(['apt-get', 'dnf', 'yum', 'systemctl', 'ipvsadm']),
  loadedModules: fc.subarray(['ip_vs', 'ip_vs_rr', 'ip_vs_wlc', 'ip_vs_sh']),
  files: fc.record({
    [modulesFile('web')]: fc.option(fc.string(), { nil: null }),
    [sysctlFile('web')]: fc.option(fc.string(), { nil: null }),
    [DEBIAN_DEFAULTS]: fc.option(fc.constantFrom('AUTO="true"\n', 'AUTO=false\n', ''), { nil: null }),
  }),
  sysctls: fc.record({
    [FORWARDING_SYSCTLS.inet]: fc.option(fc.constantFrom('0', '1', ' 1'), { nil: null }),
    [FORWARDING_SYSCTLS.inet6]: fc.option(fc.constantFrom('0', '1'), { nil: null }),
  }),
  rhelServiceEnabled: fc.option(fc.constantFrom('enabled', 'disabled'), { nil: null }),
});

// ---- one director, planned by the planner ----

interface DirectorInput {
  readonly name: string;
  readonly target: HostTarget;
  readonly live: Table;
  readonly desired: Table;
  /** Which live services the stack owns, with a stale hash or pending mark, and owned services gone from the live table. */
  readonly owned: readonly { id: string; stale: boolean; pending: boolean }[];
  readonly opts: PlanOptions;
  readonly setup: { facts: HostFacts; spec: { installIpvsadm: boolean; loadModules: boolean; ipForward: boolean; saveRules: boolean } } | undefined;
  readonly refresh: { trusted: boolean; reason?: string } | undefined;
  /** Set: the director could not be planned. */
  readonly error: { code: string; message: string; hint?: string } | undefined;
}

function directorInput(name: string): fc.Arbitrary<DirectorInput> {
  return table.chain((live) =>
    fc.record(
      {
        name: fc.constant(name),
        target: target(name),
        live: fc.constant(live),
        desired: desiredNear(live),
        owned: fc.array(
          fc.record({
            id: fc.oneof(fc.constantFrom(...live.services.map((s) => serviceId(s.key)), 'tcp 198.51.100.99:80'), fc.string({ maxLength: 30 })),
            stale: fc.boolean(),
            pending: fc.boolean(),
          }),
          { maxLength: 6 },
        ),
        opts: fc.record(
          {
            adopt: fc.boolean(),
            refreshOnly: fc.boolean(),
            drain: fc.boolean(),
            drainTimeout: fc.integer({ min: 0, max: 86400 }),
            targets: fc.constantFrom([`web/${name}`], [`web/${name}/s0`]),
          },
          { requiredKeys: [] },
        ),
        setup: fc.option(
          fc.record({ facts, spec: fc.record({ installIpvsadm: fc.boolean(), loadModules: fc.boolean(), ipForward: fc.boolean(), saveRules: fc.boolean() }) }),
          { nil: undefined },
        ),
        refresh: fc.option(fc.record({ trusted: fc.boolean(), reason: fc.string({ maxLength: 80 }) }, { requiredKeys: ['trusted'] }), { nil: undefined }),
        error: fc.option(
          fc.record(
            {
              code: fc.constantFrom('LVS_HOST_UNREACHABLE', 'LVS_LOCKED', 'LVS_SUDO', 'LVS_SETUP_UNSUPPORTED'),
              message: fc.string({ maxLength: 200, unit: 'grapheme' }),
              hint: fc.string({ maxLength: 80 }),
            },
            { requiredKeys: ['code', 'message'] },
          ),
          { nil: undefined },
        ),
      },
      { requiredKeys: ['name', 'target', 'live', 'desired', 'owned', 'opts', 'setup', 'refresh', 'error'] },
    ),
  );
}

function planOf(input: DirectorInput, destroy: boolean): DirectorPlan {
  const paths = new Map(input.desired.services.map((s, i) => [serviceId(s.key), `web/${input.name}/s${i}`]));
  const declared: DesiredDirector = {
    name: input.name,
    target: input.target,
    table: destroy ? { services: [] } : input.desired,
    paths: destroy ? new Map() : paths,
    ...(input.setup ? { setup: input.setup.spec } : {}),
  };
  if (input.error)
    return failedPlan(
      declared,
      new LvsError(input.error.code as ErrorCode, input.error.message, input.error.hint === undefined ? {} : { hint: input.error.hint }),
    );
  const liveById = new Map(input.live.services.map((s) => [serviceId(s.key), s]));
  const services: OwnershipRecord['services'] = {};
  for (const o of input.owned) {
    const svc = liveById.get(o.id);
    services[o.id] = {
      path: paths.get(o.id) ?? `web/${input.name}/gone`,
      ...(o.pending ? { pending: true } : svc ? { h: o.stale ? 'stale' : serviceHash(svc) } : {}),
    };
  }
  const record: OwnershipRecord = { format: 1, stack: 'web', director: input.name, updated: '2026-01-01T00:00:00.000Z', services };
  const live: LiveState = { table: input.live, fingerprint: tableFingerprint(input.live), record, ipvsadmVersion: 'v1.31' };
  try {
    const plan = planDirector(
      declared,
      live,
      input.opts,
      input.setup ? { stack: 'web', facts: input.setup.facts, destroy, readScript: readScriptText() } : undefined,
    );
    return input.refresh ? { ...plan, refresh: input.refresh } : plan;
  } catch (e) {
    // The host set-up refused (LVS_SETUP_UNSUPPORTED): the planner reports the director as failed.
    return failedPlan(declared, e);
  }
}

const plan: fc.Arbitrary<Plan> = fc
  .record({
    mode: fc.constantFrom('apply' as const, 'destroy' as const, 'refresh-only' as const),
    directors: fc.tuple(directorInput('lb1'), fc.option(directorInput('lb-2.example'), { nil: undefined })),
  })
  .map(({ mode, directors }) => ({
    formatVersion: PLAN_FORMAT,
    stack: 'web',
    createdAt: new Date(0).toISOString(),
    mode,
    directors: directors
      .filter((d) => d !== undefined)
      .map((d) => planOf(mode === 'refresh-only' ? { ...d, opts: { ...d.opts, refreshOnly: true } } : d, mode === 'destroy')),
  }));

describe('saved plans: what the planner writes reads back', () => {
  it('reads back every generated plan equal to what was written', async () => {
    // GIVEN plans made by the planner from generated tables, records, options, facts and targets of every kind
    let n = 0;
    await fc.assert(
      fc.asyncProperty(plan, async (p) => {
        // WHEN written with writePlanFile and read with the reader of show and apply FILE
        const file = path.join(dir, `p${n++}.plan`);
        await writePlanFile(file, p);
        const read = await readPlanFile(file, 'web');
        // THEN the plan read is the plan written, field for field
        expect(read).toStrictEqual(JSON.parse(JSON.stringify(p)));
        expect(read).toEqual(p);
      }),
      SETTINGS,
    );
  });

  it('the generator reaches every shape: sudo, alias, local, each change kind, drains, set-up, refresh, failures', async () => {
    // GIVEN the same generator WHEN its plans are sampled THEN each shape the planner has occurs (else the property proves little)
    const seen = new Set<string>();
    for (const p of fc.sample(plan, { seed: SETTINGS.seed, numRuns: SETTINGS.numRuns })) {
      for (const d of p.directors) {
        if (d.target.ssh?.sudo) seen.add('sudo');
        if (d.target.ssh?.alias) seen.add('alias');
        if (d.target.ssh?.port) seen.add('port');
        if (d.target.transport === 'local') seen.add('local');
        for (const c of d.changes) seen.add(`${c.action} ${c.kind}`);
        if (d.drain.length) seen.add('drain');
        if (d.hostSetup?.length) seen.add('setup');
        if (d.targeted) seen.add('targeted');
        if (d.refresh) seen.add('refresh');
        if (d.adopted.length) seen.add('adopted');
        if (d.conflicts.length) seen.add('conflicts');
        if (d.drift.length) seen.add('drift');
        if (d.error) seen.add('error');
      }
      seen.add(p.mode);
    }
    const want = [
      'sudo',
      'alias',
      'port',
      'local',
      'create service',
      'update service',
      'delete service',
      'create destination',
      'update destination',
      'delete destination',
    ];
    want.push('drain', 'setup', 'targeted', 'refresh', 'adopted', 'conflicts', 'drift', 'error', 'apply', 'destroy', 'refresh-only');
    expect(want.filter((w) => !seen.has(w))).toEqual([]);
  });
});
