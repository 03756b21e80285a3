/**
 * --target and --max-deletes, on the pure planner: which services a targeted plan may touch, what it leaves exactly as
 * it is, how deletions are counted, and the errors a person sees.
 */
import { describe, expect, it } from 'vitest';
import type { Change } from '../../../providers/ipvs/model/change.ts';
import { type Destination, type Service, normalizeTable, serviceId } from '../../../providers/ipvs/model/model.ts';
import { checkMaxDeletes, checkTargets, deleteCount, pathIsTargeted, planDirector, type Plan } from '../../../providers/ipvs/plan/plan.ts';
import type { DesiredDirector } from '../../../providers/ipvs/model/desired-director.ts';
import { serviceHash, tableFingerprint, type LiveState } from '../../../providers/ipvs/model/live-state.ts';

const dest = (address: string, weight = 1): Destination => ({
  address,
  port: 80,
  forwarding: { method: 'masq' },
  weight,
  upperThreshold: 0,
  lowerThreshold: 0,
});
const svc = (address: string, dests: Destination[], scheduler = 'wlc'): Service => ({
  key: { kind: 'addr', protocol: 'tcp', address, port: 80 },
  config: { scheduler, schedFlags: [], onePacket: false },
  destinations: dests,
});
const HTTP = '198.51.100.10';
const API = '198.51.100.11';
const OLD = '198.51.100.12';
const id = (a: string) => `tcp ${a}:80`;

function desired(services: [string, Service][]): DesiredDirector {
  return {
    name: 'lb1',
    target: { name: 'lb1', transport: 'local' },
    table: normalizeTable({ services: services.map(([, s]) => s) }),
    paths: new Map(services.map(([p, s]) => [serviceId(s.key), p])),
  };
}

function live(services: Service[], owned: Record<string, string>): LiveState {
  const table = normalizeTable({ services });
  const byId = new Map(table.services.map((s) => [serviceId(s.key), s]));
  const record = {
    format: 1,
    stack: 'web',
    director: 'lb1',
    updated: '2026-01-01T00:00:00.000Z',
    services: Object.fromEntries(Object.entries(owned).map(([sid, path]) => [sid, { path, h: byId.has(sid) ? serviceHash(byId.get(sid)!) : 'gone' }])),
  };
  return { table, fingerprint: tableFingerprint(table), record: Object.keys(owned).length ? record : undefined, ipvsadmVersion: 'v1.31' };
}

const brief = (c: Change) => `${c.action} ${c.kind} ${c.serviceId}${c.kind === 'destination' ? ` -> ${c.destinationId}` : ''}`;

describe('pathIsTargeted', () => {
  const cases: [string, string[], boolean][] = [
    ['web/lb1/http', ['web/lb1/http'], true],
    ['web/lb1/http', ['web/lb1'], true],
    ['web/lb1/http', ['web'], true],
    ['web/lb1/http2', ['web/lb1/http'], false],
    ['web/lb1/http', ['web/lb1/http/x'], false],
    ['web/lb2/http', ['web/lb1', 'web/lb2/http'], true],
  ];
  it.each(cases)('%s under %j is %s', (path, targets, expected) => {
    // GIVEN a construct path and targets WHEN matched THEN only equal paths and paths under a target match
    expect(pathIsTargeted(path, targets)).toBe(expected);
  });
});

describe('planDirector with targets', () => {
  it('creates only the targeted service of two new ones', () => {
    // GIVEN an empty director and a stack declaring two services
    const d = desired([
      ['web/lb1/http', svc(HTTP, [dest('192.0.2.1')])],
      ['web/lb1/api', svc(API, [dest('192.0.2.2')])],
    ]);
    // WHEN planned with --target web/lb1/http
    const p = planDirector(d, live([], {}), { targets: ['web/lb1/http'] });
    // THEN only the http service and its real server are created
    expect(p.changes.map(brief)).toEqual([`create service ${id(HTTP)}`, `create destination ${id(HTTP)} -> 192.0.2.1:80`]);
    expect(p.targeted).toEqual({ targets: ['web/lb1/http'], matched: 1, total: 2, untouched: [id(API)] });
  });

  it('leaves a changed service outside the targets exactly as it is live', () => {
    // GIVEN both services owned, and the app changing both
    const l = live([svc(HTTP, [dest('192.0.2.1')]), svc(API, [dest('192.0.2.2')])], { [id(HTTP)]: 'web/lb1/http', [id(API)]: 'web/lb1/api' });
    const d = desired([
      ['web/lb1/http', svc(HTTP, [dest('192.0.2.1', 5)])],
      ['web/lb1/api', svc(API, [dest('192.0.2.2', 7)], 'rr')],
    ]);
    // WHEN planned with --target web/lb1/http
    const p = planDirector(d, l, { targets: ['web/lb1/http'] });
    // THEN only http changes, and the desired state (verified after apply) holds api as it is live
    expect(p.changes.map(brief)).toEqual([`update destination ${id(HTTP)} -> 192.0.2.1:80`]);
    expect(p.desired.services.find((s) => serviceId(s.key) === id(API))).toEqual(l.table.services.find((s) => serviceId(s.key) === id(API)));
  });

  it('does not delete an owned service outside the targets that the app dropped', () => {
    // GIVEN an owned service the app no longer declares
    const l = live([svc(HTTP, [dest('192.0.2.1')]), svc(OLD, [dest('192.0.2.3')])], { [id(HTTP)]: 'web/lb1/http', [id(OLD)]: 'web/lb1/old' });
    const d = desired([['web/lb1/http', svc(HTTP, [dest('192.0.2.1')])]]);
    // WHEN planned with a target that does not cover it
    const p = planDirector(d, l, { targets: ['web/lb1/http'] });
    // THEN nothing changes
    expect(p.changes).toEqual([]);
  });

  it('deletes a dropped owned service when its recorded path is targeted', () => {
    // GIVEN an owned service the app no longer declares
    const l = live([svc(HTTP, [dest('192.0.2.1')]), svc(OLD, [dest('192.0.2.3')])], { [id(HTTP)]: 'web/lb1/http', [id(OLD)]: 'web/lb1/old' });
    const d = desired([['web/lb1/http', svc(HTTP, [dest('192.0.2.1')])]]);
    // WHEN planned with its recorded path as the target
    const p = planDirector(d, l, { targets: ['web/lb1/old'] });
    // THEN it alone is deleted
    expect(p.changes.map(brief)).toEqual([`delete service ${id(OLD)}`]);
    expect(p.targeted?.matched).toBe(1);
  });

  it('reports no conflict for an unowned live service outside the targets', () => {
    // GIVEN api exists live but is not owned (it would need --adopt)
    const l = live([svc(API, [dest('192.0.2.2')])], {});
    const d = desired([
      ['web/lb1/http', svc(HTTP, [dest('192.0.2.1')])],
      ['web/lb1/api', svc(API, [dest('192.0.2.2')])],
    ]);
    // WHEN only http is targeted
    const p = planDirector(d, l, { targets: ['web/lb1/http'] });
    // THEN api is no conflict of this plan
    expect(p.conflicts).toEqual([]);
  });

  it('plans everything when no target is given', () => {
    // GIVEN two declared services WHEN planned without targets THEN both are created and the plan is not marked targeted
    const d = desired([
      ['web/lb1/http', svc(HTTP, [])],
      ['web/lb1/api', svc(API, [])],
    ]);
    const p = planDirector(d, live([], {}), {});
    expect([p.changes.length, p.targeted]).toEqual([2, undefined]);
  });
});

describe('checkTargets', () => {
  const stack = [
    desired([
      ['web/lb1/http', svc(HTTP, [])],
      ['web/lb1/api', svc(API, [])],
    ]),
  ];

  it('accepts a construct path and a parent, trimming a trailing slash', () => {
    // GIVEN targets naming a service and a director WHEN checked THEN they come back normalised
    expect(checkTargets(stack, ['web/lb1/http', 'web/lb1/'])).toEqual(['web/lb1/http', 'web/lb1']);
  });

  it('refuses a target matching nothing, naming the known paths', () => {
    // GIVEN a misspelt target WHEN checked THEN LVS_TARGET_UNKNOWN lists the stack's construct paths
    expect(() => checkTargets(stack, ['web/lb1/htp'])).toThrow(
      expect.objectContaining({ code: 'LVS_TARGET_UNKNOWN', message: expect.stringContaining('web/lb1/api, web/lb1/http') }),
    );
  });

  it('refuses a partial path segment', () => {
    // GIVEN "web/lb" (a prefix of "web/lb1" but not a parent) WHEN checked THEN it is refused
    expect(() => checkTargets(stack, ['web/lb'])).toThrow(expect.objectContaining({ code: 'LVS_TARGET_UNKNOWN' }));
  });
});

describe('deleteCount and checkMaxDeletes', () => {
  // GIVEN a plan deleting one service with two real servers and one more real server elsewhere
  const l = live([svc(HTTP, [dest('192.0.2.1'), dest('192.0.2.2')]), svc(OLD, [dest('192.0.2.3'), dest('192.0.2.4')])], {
    [id(HTTP)]: 'web/lb1/http',
    [id(OLD)]: 'web/lb1/old',
  });
  const d = desired([['web/lb1/http', svc(HTTP, [dest('192.0.2.1')])]]);
  const plan: Plan = { formatVersion: 1, stack: 'web', createdAt: '2026-01-01T00:00:00.000Z', mode: 'apply', directors: [planDirector(d, l)] };

  it('counts a deleted service with its real servers, and deleted real servers', () => {
    expect(deleteCount(plan)).toEqual({ services: 1, realServers: 3 });
  });

  it('lets a plan through at the limit', () => {
    expect(() => checkMaxDeletes(plan, 4)).not.toThrow();
  });

  it('refuses a plan over the limit with LVS_TOO_MANY_DELETES and the count', () => {
    expect(() => checkMaxDeletes(plan, 3)).toThrow(
      expect.objectContaining({
        code: 'LVS_TOO_MANY_DELETES',
        message: expect.stringContaining('1 service(s) and 3 real server(s), 4 in all, more than --max-deletes 3'),
      }),
    );
  });

  it('does not count a director that could not be planned', () => {
    const failed: Plan = { ...plan, directors: [{ ...plan.directors[0]!, error: { code: 'LVS_LOCKED', message: 'locked' } }] };
    expect(deleteCount(failed)).toEqual({ services: 0, realServers: 0 });
  });
});
