/**
 * The three entrances of a table agree: the constructs (an app built in-process and synthesized to a temporary
 * directory), the synthesized-JSON reader fed hand-written JSON of the same table, and import of the same table as
 * ipvsadm-save text. Tables are generated with values just inside and just outside every bound and with every
 * combination the rule set refuses; for each one, all three entrances accept or all three refuse, and what they
 * accept is the same table. Fixed seed, bounded runs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AddressFamily,
  App,
  Director,
  Forwarding,
  LvsStack,
  PersistenceEngine,
  Protocol,
  Scheduler,
  TunnelChecksum,
  TunnelType,
  isValidationError,
  type RealServerProps,
  type VirtualServiceProps,
} from '../../../lib/index.ts';
import { importApp } from '../../../providers/ipvs/import/import.ts';
import { LvsError } from '../../../providers/ipvs/model/errors.ts';
import {
  type Destination,
  type Forwarding as ModelForwarding,
  type Service,
  type Table,
  normalizeTable,
  tableEquals,
} from '../../../providers/ipvs/model/model.ts';
import { readSynth } from '../../../providers/ipvs/read/read-synth.ts';
import { renderTable } from '../../../providers/ipvs/model/render-restore.ts';

const INT_MAX = 2 ** 31 - 1;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-rules-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

// Addresses of every class: unicast of both families, loopback and link-local (accepted), and the refused classes.
const V4 = ['198.51.100.10', '127.0.0.1', '169.254.1.1', '0.0.0.0', '255.255.255.255', '224.0.0.1', '239.255.255.255'];
const V6 = ['2001:db8::10', '::1', 'fe80::1', '::', 'ff02::1', '::ffff:192.0.2.11', '::192.0.2.11'];
const REAL_V4 = ['192.0.2.11', '127.0.0.2', '0.0.0.0', '255.255.255.255', '224.0.0.5'];
const REAL_V6 = ['2001:db8::11', 'fe80::11', '::', 'ff05::2', '::ffff:192.0.2.11'];

const forwarding: fc.Arbitrary<ModelForwarding> = fc.oneof(
  fc.constant({ method: 'masq' as const }),
  fc.constant({ method: 'droute' as const }),
  fc.constant({ method: 'tunnel' as const, type: 'ipip' as const }),
  fc.record({
    method: fc.constant('tunnel' as const),
    type: fc.constant('gue' as const),
    port: fc.constantFrom(1, 6080, 65535),
    checksum: fc.constantFrom('nocsum' as const, 'csum' as const, 'remcsum' as const),
  }),
  fc.record({ method: fc.constant('tunnel' as const), type: fc.constant('gre' as const), checksum: fc.constantFrom('nocsum' as const, 'csum' as const) }),
);

const destination: fc.Arbitrary<Destination> = fc.record({
  address: fc.constantFrom(...REAL_V4, ...REAL_V6),
  port: fc.constantFrom(0, 80, 8080, 65535),
  forwarding,
  weight: fc.constantFrom(0, 1, INT_MAX, INT_MAX + 1),
  upperThreshold: fc.constantFrom(0, 10, INT_MAX, INT_MAX + 1),
  lowerThreshold: fc.constantFrom(0, 5, 20),
});

const service: fc.Arbitrary<Service> = fc
  .record({
    key: fc.oneof(
      fc.record({
        kind: fc.constant('addr' as const),
        protocol: fc.constantFrom('tcp' as const, 'udp' as const, 'sctp' as const),
        address: fc.constantFrom(...V4, ...V6),
        port: fc.constantFrom(0, 1, 80, 65535),
      }),
      fc.record({
        kind: fc.constant('fwmark' as const),
        mark: fc.constantFrom(1, 7, 4_294_967_295),
        family: fc.constantFrom('inet' as const, 'inet6' as const),
      }),
    ),
    scheduler: fc.constantFrom('rr', 'wlc', 'sh', 'mh', 'twos', 'my_sched', 'abcdefghijklmno', 'abcdefghijklmnop', '__proto__', '9x'),
    schedFlags: fc.subarray(['flag-1', 'flag-2', 'flag-3'] as const),
    persistence: fc.option(
      fc.record({
        timeout: fc.constantFrom(1, 360, 2_678_400, 2_678_401, 3_000_000),
        prefix: fc.constantFrom(1, 64, 128),
        mask: fc.constantFrom('255.255.255.255', '255.255.255.0', '255.0.255.0'),
      }),
      { nil: undefined },
    ),
    persistenceEngine: fc.option(fc.constantFrom('sip', 'foo'), { nil: undefined }),
    onePacket: fc.boolean(),
    destinations: fc.uniqueArray(destination, { maxLength: 3, selector: (d) => `${d.address} ${d.port}` }),
  })
  .map(({ key, scheduler, schedFlags, persistence, persistenceEngine, onePacket, destinations }) => {
    const inet6 = key.kind === 'fwmark' ? key.family === 'inet6' : key.address.includes(':');
    return {
      key,
      config: {
        scheduler,
        schedFlags: [...schedFlags],
        ...(persistence ? { persistence: { timeout: persistence.timeout, netmask: inet6 ? String(persistence.prefix) : persistence.mask } } : {}),
        ...(persistenceEngine ? { persistenceEngine } : {}),
        onePacket,
      },
      destinations,
    };
  });

type Outcome = { accepted: true; table: Table } | { accepted: false; why: string };

/** (a) The constructs: the service built as an app and synthesized; the table read back from what was written. */
function throughConstructs(s: Service, run: number): Outcome {
  const outdir = path.join(scratch, `app-${run}`);
  try {
    const app = new App({ outdir });
    const stack = new LvsStack(app, 'web');
    const lb1 = new Director(stack, 'lb1', { local: true });
    const c = s.config;
    const inet6 = s.key.kind === 'fwmark' ? s.key.family === 'inet6' : s.key.address.includes(':');
    const identity: Partial<VirtualServiceProps> =
      s.key.kind === 'addr'
        ? { protocol: { tcp: Protocol.TCP, udp: Protocol.UDP, sctp: Protocol.SCTP }[s.key.protocol], address: s.key.address, port: s.key.port }
        : { firewallMark: s.key.mark, family: s.key.family === 'inet6' ? AddressFamily.IPV6 : AddressFamily.IPV4 };
    const svc = lb1.addVirtualService('svc', {
      ...identity,
      scheduler: Scheduler.custom(c.scheduler, { flags: [...c.schedFlags] }),
      ...(c.persistence ? { persistence: inet6 ? { timeout: c.persistence.timeout, prefixLength: Number(c.persistence.netmask) } : { ...c.persistence } } : {}),
      // The constructs name the one engine they know; any other name reaches them as the string a JavaScript app passes.
      ...(c.persistenceEngine
        ? { persistenceEngine: c.persistenceEngine === 'sip' ? PersistenceEngine.SIP : (c.persistenceEngine as unknown as PersistenceEngine) }
        : {}),
      onePacket: c.onePacket,
    });
    for (const d of s.destinations) svc.addRealServer(memberOf(d));
    app.synth();
    const json = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', 'web', 'cdk.tf.json'), 'utf8'));
    return { accepted: true, table: readSynth(json, 'synthesized').directors[0]!.table };
  } catch (e) {
    if (isValidationError(e)) return { accepted: false, why: (e as Error).message };
    throw e;
  }
}

function memberOf(d: Destination): RealServerProps {
  const f = d.forwarding;
  const fwd =
    f.method === 'masq'
      ? Forwarding.NAT
      : f.method === 'droute'
        ? Forwarding.DIRECT_ROUTING
        : f.type === 'ipip'
          ? Forwarding.tunnel()
          : f.type === 'gue'
            ? Forwarding.tunnel({ type: TunnelType.GUE, port: f.port!, checksum: checksumOf(f.checksum) })
            : Forwarding.tunnel({ type: TunnelType.GRE, checksum: checksumOf(f.checksum) });
  return { address: d.address, port: d.port, forwarding: fwd, weight: d.weight, upperThreshold: d.upperThreshold, lowerThreshold: d.lowerThreshold };
}

function checksumOf(name: string | undefined): TunnelChecksum {
  return name === 'csum' ? TunnelChecksum.CHECKSUM : name === 'remcsum' ? TunnelChecksum.REMOTE_CHECKSUM : TunnelChecksum.NONE;
}

/** (b) The synthesized-JSON reader fed the same table written by hand. */
function throughReader(s: Service): Outcome {
  const k = s.key;
  const c = s.config;
  const json = {
    '//': { metadata: { stackName: 'web' } },
    resource: {
      lvsform_director: { lb1: { name: 'lb1', format_version: 1, transport: 'local' } },
      lvsform_virtual_service: {
        svc: {
          director: 'lb1',
          construct_path: 'web/lb1/svc',
          ...(k.kind === 'addr' ? { protocol: k.protocol, address: k.address, port: k.port } : { firewall_mark: k.mark, family: k.family }),
          scheduler: c.scheduler,
          scheduler_flags: c.schedFlags,
          ...(c.persistence ? { persistence: c.persistence } : {}),
          ...(c.persistenceEngine ? { persistence_engine: c.persistenceEngine } : {}),
          one_packet: c.onePacket,
          real_server: s.destinations.map((d) => ({
            address: d.address,
            port: d.port,
            forwarding: d.forwarding.method,
            ...(d.forwarding.method === 'tunnel' ? { tunnel_type: d.forwarding.type } : {}),
            ...(d.forwarding.method === 'tunnel' && d.forwarding.port !== undefined ? { tunnel_port: d.forwarding.port } : {}),
            ...(d.forwarding.method === 'tunnel' && d.forwarding.checksum !== undefined ? { tunnel_checksum: d.forwarding.checksum } : {}),
            weight: d.weight,
            upper_threshold: d.upperThreshold,
            lower_threshold: d.lowerThreshold,
          })),
        },
      },
    },
  };
  try {
    return { accepted: true, table: readSynth(json, 'hand-written cdk.tf.json').directors[0]!.table };
  } catch (e) {
    if (e instanceof LvsError) return { accepted: false, why: e.message };
    throw e;
  }
}

/** (c) Import of the same table as ipvsadm-save text. */
async function throughImport(s: Service, run: number): Promise<Outcome> {
  const file = path.join(scratch, `save-${run}`);
  fs.writeFileSync(file, renderTable({ services: [s] }));
  try {
    const result = await importApp({ kind: 'save', file }, { stack: 'web', director: { name: 'lb1', local: true } });
    return { accepted: true, table: result.table };
  } catch (e) {
    if (e instanceof LvsError) return { accepted: false, why: e.message };
    throw e;
  }
}

describe('every entrance applies one rule set', () => {
  it('the constructs, the synthesized-JSON reader and import accept or refuse each table alike', async () => {
    let run = 0;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(service, async (s) => {
        run++;
        const outcomes = { constructs: throughConstructs(s, run), reader: throughReader(s), import: await throughImport(s, run) };
        const verdicts = Object.values(outcomes).map((o) => o.accepted);
        // THEN all three agree, and say why when they do not
        expect(
          verdicts,
          JSON.stringify({ table: s, outcomes: Object.fromEntries(Object.entries(outcomes).map(([k, o]) => [k, o.accepted ? 'accepted' : o.why])) }),
        ).toEqual([verdicts[0], verdicts[0], verdicts[0]]);
        if (outcomes.constructs.accepted && outcomes.reader.accepted && outcomes.import.accepted) {
          accepted++;
          // AND what they accept is the one table
          const want = normalizeTable({ services: [s] });
          expect(tableEquals(outcomes.reader.table, want)).toBe(true);
          expect(tableEquals(outcomes.constructs.table, want)).toBe(true);
          expect(tableEquals(normalizeTable(outcomes.import.table), want)).toBe(true);
        }
      }),
      { seed: 1947, numRuns: 1000 },
    );
    // AND the generator reaches both outcomes (a property that only ever refused would prove nothing)
    expect(accepted).toBeGreaterThan(10);
    expect(accepted).toBeLessThan(run);
  }, 120_000);
});
