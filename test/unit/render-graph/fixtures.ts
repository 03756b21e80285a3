/** Plans and desired states to draw: every state (add, change, destroy, unchanged), IPv6, a firewall mark, pools. */
import { diffTables, renderBatch } from '../../../providers/ipvs/plan/diff.ts';
import { type Destination, normalizeTable, type Service, serviceId } from '../../../providers/ipvs/model/model.ts';
import { drainItems, type DirectorPlan, type Plan } from '../../../providers/ipvs/plan/plan.ts';
import type { GraphDirector } from '../../../providers/ipvs/render/graph.ts';

export const dest = (address: string, weight = 1, port = 80, method: 'masq' | 'droute' = 'masq'): Destination => ({
  address,
  port,
  forwarding: { method },
  weight,
  upperThreshold: 0,
  lowerThreshold: 0,
});

export const svc = (address: string, dests: Destination[], scheduler = 'wlc', port = 80): Service => ({
  key: { kind: 'addr', protocol: 'tcp', address, port },
  config: { scheduler, schedFlags: [], onePacket: false },
  destinations: dests,
});

export const fwmark = (mark: number, dests: Destination[]): Service => ({
  key: { kind: 'fwmark', mark, family: 'inet6' },
  config: { scheduler: 'sh', schedFlags: [], onePacket: false },
  destinations: dests,
});

/** A director plan from a live and a desired table, every live service owned. */
export function director(name: string, live: Service[], desired: Service[], extra: Partial<DirectorPlan> = {}): DirectorPlan {
  const l = normalizeTable({ services: live });
  const d = normalizeTable({ services: desired });
  const owned = new Set(l.services.map((s) => serviceId(s.key)));
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
    batch: renderBatch(changes),
    drain: drainItems(changes),
    drainTimeout: 30,
    desired: d,
    paths: Object.fromEntries(
      d.services.map((s) => [serviceId(s.key), `web/${name}/${s.key.kind === 'addr' ? `port${s.key.port}-${s.key.address}` : 'mark'}`]),
    ),
    ...extra,
  };
}

export function plan(directors: DirectorPlan[], extra: Partial<Plan> = {}): Plan {
  return { formatVersion: 1, stack: 'web', createdAt: '2026-01-01T00:00:00.000Z', mode: 'apply', directors, ...extra };
}

const A = '198.51.100.10';
const B = '198.51.100.11';
const C = '198.51.100.12';
const V6 = '2001:db8::10';

/**
 * lb1: service A changes scheduler, one real server changes weight, one is removed, one kept; service B is added with
 * one real server; service C is destroyed with its real server; an IPv6 service is kept as it is.
 * lb2: a firewall-mark service gains a real server.
 */
export function samplePlan(): Plan {
  return plan([
    director(
      'lb1',
      [
        svc(A, [dest('192.0.2.11'), dest('192.0.2.12'), dest('192.0.2.13')], 'rr'),
        svc(C, [dest('192.0.2.31')]),
        svc(V6, [dest('2001:db8::11', 1, 80, 'droute')]),
      ],
      [svc(A, [dest('192.0.2.11', 3), dest('192.0.2.12')], 'wrr'), svc(B, [dest('192.0.2.21')]), svc(V6, [dest('2001:db8::11', 1, 80, 'droute')])],
    ),
    director(
      'lb2',
      [fwmark(7, [dest('2001:db8::21', 1, 0, 'droute')])],
      [fwmark(7, [dest('2001:db8::21', 1, 0, 'droute'), dest('2001:db8::22', 2, 0, 'droute')])],
    ),
  ]);
}

/** Two directors with one service each, over one pool; one IPv6 service with two pools. */
export function sampleDesired(): GraphDirector[] {
  const web = svc(A, [dest('192.0.2.11'), dest('192.0.2.12', 2)], 'rr');
  const six = svc(V6, [dest('2001:db8::11', 1, 80, 'droute'), dest('2001:db8::12', 1, 80, 'droute')]);
  const pools = new Map([
    [`tcp ${A}:80 -> 192.0.2.11:80`, 'web/web-pool'],
    [`tcp ${A}:80 -> 192.0.2.12:80`, 'web/web-pool'],
    [`tcp [${V6}]:80 -> [2001:db8::11]:80`, 'web/blue'],
    [`tcp [${V6}]:80 -> [2001:db8::12]:80`, 'web/green'],
  ]);
  return [
    {
      name: 'lb1',
      target: { name: 'lb1', transport: 'ssh', ssh: { host: '203.0.113.2', user: 'root' } },
      table: normalizeTable({ services: [web, six] }),
      paths: new Map([
        [`tcp ${A}:80`, 'web/lb1/http'],
        [`tcp [${V6}]:80`, 'web/lb1/http6'],
      ]),
      pools,
    },
    {
      name: 'lb2',
      target: { name: 'lb2', transport: 'local' },
      table: normalizeTable({ services: [web] }),
      paths: new Map([[`tcp ${A}:80`, 'web/lb2/http']]),
      pools,
    },
  ];
}
