/**
 * The /proc verification's work done while the batch runs (apply/work-ahead.ts): a shortcut, never a different
 * verdict. The expected texts match what the kernel's /proc shows for the same service, a difference still fails with
 * the field-by-field reason, and the record built from hashes worked out ahead is the record built without them.
 */
import { describe, expect, it } from 'vitest';
import { expectedProc, verifyByProc, type SendProc } from '../../../providers/ipvs/apply/fast-path.ts';
import { recordAfter } from '../../../providers/ipvs/apply/ownership.ts';
import { workAhead } from '../../../providers/ipvs/apply/work-ahead.ts';
import { expectedTable } from '../../../providers/ipvs/apply/verify.ts';
import { tableFingerprint, type LiveState } from '../../../providers/ipvs/model/live-state.ts';
import { normalizeTable, serviceId, type Service, type Table } from '../../../providers/ipvs/model/model.ts';
import { planDirector } from '../../../providers/ipvs/plan/plan.ts';
import { parseProcIpvs, procServiceText } from '../../../providers/ipvs/read/parse-proc.ts';

const web: Service = {
  key: { kind: 'addr', protocol: 'tcp', address: '198.51.100.10', port: 80 },
  config: { scheduler: 'rr', schedFlags: [], onePacket: false },
  destinations: [
    { address: '192.0.2.12', port: 8080, forwarding: { method: 'masq' }, weight: 1, upperThreshold: 0, lowerThreshold: 0 },
    { address: '192.0.2.11', port: 8080, forwarding: { method: 'masq' }, weight: 2, upperThreshold: 0, lowerThreshold: 0 },
  ],
};
const dns: Service = {
  key: { kind: 'addr', protocol: 'udp', address: '2001:db8::10', port: 53 },
  config: { scheduler: 'wrr', schedFlags: [], onePacket: true },
  destinations: [{ address: '2001:db8::11', port: 53, forwarding: { method: 'droute' }, weight: 0, upperThreshold: 0, lowerThreshold: 0 }],
};

// As kernel 6.1 prints them: real servers in the kernel's order, counters that differ from run to run, and no "ops" for
// the IPv6 service though it has one-packet scheduling (the lab's kernel prints it only for IPv4 and firewall marks).
const PROC = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
TCP  C633640A:0050 rr
  -> C000020B:1F90      Masq    2      3          7
  -> C000020C:1F90      Masq    1      0          1
UDP  [2001:0db8:0000:0000:0000:0000:0000:0010]:0035 wrr 
  -> [2001:0db8:0000:0000:0000:0000:0000:0011]:0035      Route   0      0          0
`;

const sendProc =
  (text: string): SendProc =>
  async () => ({ kind: 'proc', ended: true, proc: parseProcIpvs(text), listings: [], gzip: false });

describe('work ahead of the read-back', () => {
  it("gives each desired service the text of the kernel's /proc entry for it", () => {
    // GIVEN /proc as the kernel shows the two services WHEN the expected texts are made from the model THEN they are equal
    const digest = parseProcIpvs(PROC);
    const shown = new Map(digest.services.map((p) => [p.id, procServiceText(p)]));
    for (const s of [web, dns]) expect(shown.get(expectedProc(s).id)).toBe(expectedProc(s).text);
  });

  it('verifies with the texts as without them, and still says why when a weight differs', async () => {
    const desired = normalizeTable({ services: [web, dns] });
    const texts = new Map(desired.services.map((s) => [s, expectedProc(s)]));
    const ahead = async () => texts;
    expect(await verifyByProc(sendProc(PROC), desired, [], 2, ahead)).toMatchObject({ ok: true });
    // GIVEN the kernel holds weight 3 where 2 is desired WHEN verified with and without the texts THEN the same reason
    const drifted = PROC.replace('Masq    2', 'Masq    3');
    const without = await verifyByProc(sendProc(drifted), desired, [], 2);
    expect(without).toEqual({ ok: false, reason: 'tcp 198.51.100.10:80: 192.0.2.11:8080 weight 3 ≠ 2' });
    expect(await verifyByProc(sendProc(drifted), desired, [], 2, ahead)).toEqual(without);
  });

  it('builds the record from hashes worked out ahead exactly as without them', async () => {
    // GIVEN a fresh apply's plan of the two services, with a run-time managed weight
    const empty: Table = { services: [] };
    const before: LiveState = { table: empty, fingerprint: tableFingerprint(empty), record: undefined, ipvsadmVersion: '1.31' };
    // (without one-packet scheduling on the IPv6 service: /proc does not show it there, and the full read verifies it)
    const planOf = (services: Service[]) => {
      const desired = normalizeTable({ services });
      const paths = new Map(desired.services.map((s, i) => [serviceId(s.key), `web/lb1/s${i}`]));
      const runtime = { [serviceId(web.key)]: { '192.0.2.11:8080': ['weight' as const] } };
      return planDirector({ name: 'lb1', target: { name: 'lb1', transport: 'local' }, table: desired, paths, runtime }, before, { drain: false });
    };
    const plan = planOf([web, { ...dns, config: { ...dns.config, onePacket: false } }]);
    // WHEN the work is done ahead and the record built with and without it
    const ahead = workAhead(plan, before, undefined);
    ahead.start();
    const work = await ahead.work();
    const table = work!.table;
    expect(table).toEqual(expectedTable(plan, before));
    const live = { ...before, table };
    const withAhead = recordAfter('web', plan, live, undefined, undefined, undefined, ahead.hashOf);
    const plain = recordAfter('web', plan, live, undefined, undefined, undefined);
    // THEN the same services and hashes, and every service was hashed ahead
    expect(withAhead?.services).toEqual(plain?.services);
    expect(table.services.every((s) => ahead.hashOf(s) !== undefined)).toBe(true);
    expect(ahead.residualOf(table)).toEqual([]);
    // AND with one-packet scheduling on the IPv6 service nothing is worked out for /proc: the full read verifies
    const blind = workAhead(planOf([web, dns]), before, undefined);
    blind.start();
    expect(await blind.work()).toBeUndefined();
  });
});
