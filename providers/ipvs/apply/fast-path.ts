/**
 * The fast path (`apply --refresh=false`, opt-in): in the style of `terraform apply -refresh=false`, it trusts what
 * the last verified apply left on a director instead of reading the whole table with `ipvsadm -S -n` and
 * `ipvsadm -L -n --thresholds` (≈ 12 s at 10,000 services × 4 in the lab), as long as a cheap fingerprint of the live
 * table still matches.
 *
 * After each verified apply made with the option, the director keeps (next to the ownership record):
 * - `/var/lib/lvsform/<stack>.table`: the stack's owned services as the model's JSON, exactly as verified;
 * - in the record, `fast: { proc, table }`: the counter-free fingerprint of `/proc/net/ip_vs` (the whole table, owned
 *   or not; ≈ 0.25 s to read) and the sha256 of the table file.
 *
 * Plan: read the record, the table file and /proc in one chunk (gzip-compressed when the host has gzip). When the
 * /proc fingerprint and the table hash both match the record, the stored table is the live state of the owned
 * services and the plan is diff(stored, desired); otherwise lvsform falls back to the full read (and so sees drift).
 * /proc shows identity, scheduler, one-packet, persistence, forwarding method and weight of every service, so a hand
 * change to any of those, on any service, makes the fingerprint differ. It does not show thresholds, tunnel
 * settings, scheduler flags or the persistence engine: a hand change of only those goes unseen by a fast plan. That
 * is the trade the option makes; the default plan reads everything.
 *
 * Verification after a fast batch: /proc again (every service not changed must be exactly as before, every changed
 * one must show the desired scheduler, persistence, methods and weights) plus `ipvsadm -L -n -t|-u|--sctp-service
 * SERVICE --thresholds` for just the changed services (scheduler flags, persistence timeout and engine, thresholds).
 * Firewall-mark services (whose family /proc does not show), tunnel real servers (whose settings it does not show)
 * and large change sets fall back to the full read-back.
 *
 * This is the policy; the reads are the `fast-read` and `proc` requests (host/requests/), sent by the caller in the
 * round trip it chooses.
 */
import { createHash } from 'node:crypto';
import { gzipSync, gunzipSync } from 'node:zlib';
import { parseJsonStrict } from '../model/strict-json.ts';
import type { Change } from '../model/change.ts';
import { destinationId, serviceId, type Service, type ServiceKey, type Table, normalizeTable, defaultNetmask, serviceFamily } from '../model/model.ts';
import { procServiceText, type ProcDigest, type ProcService } from '../read/parse-proc.ts';
import { parseSave } from '../read/parse-save.ts';
import { parseRecord, type FastState, type OwnershipRecord } from '../model/record.ts';
import type { LiveState } from '../model/live-state.ts';
import type { FastReadReply, ProcReply, ProcRequest } from '../host/requests/index.ts';
import type { ServiceListing } from '../host/requests/proc.ts';

/** Sends one `proc` request (with whatever the caller carries in the same round trip) and resolves with its reply. */
export type SendProc = (req: ProcRequest) => Promise<ProcReply>;

/** More changed services than this are verified with the full read-back (one `ipvsadm` process each costs ≈ 30 ms). */
export const FAST_VERIFY_MAX_SERVICES = 100;

/** What a record keeps for the fast path. */
export type { FastState } from '../model/record.ts';

/** What a fast read found and trusts; kept with the open director for the fast verification. */
export interface FastContext {
  readonly owned: Table;
  readonly before: ProcDigest;
  readonly gzip: boolean;
}

export type FastRead = { readonly ok: true; readonly live: LiveState; readonly context: FastContext } | { readonly ok: false; readonly reason: string };

/** Above this many services, the fast path's reads travel gzip-compressed (about 270 bytes of /proc per service). */
export const COMPRESS_ABOVE_SERVICES = 2_000;

/** Whether a read of a table of about `services` services should travel compressed. */
export function isLarge(services: number): boolean {
  return services > COMPRESS_ABOVE_SERVICES;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function digestFingerprint(d: ProcDigest): string {
  return createHash('sha256').update(JSON.stringify(d)).digest('hex');
}

/** The fast state of a record, if it has a well-formed one. */
export function fastStateOf(record: OwnershipRecord | undefined): FastState | undefined {
  return record?.fast;
}

/** /proc's name for a service: the serviceId without the family of a firewall mark. */
export function procId(key: ServiceKey): string {
  return key.kind === 'fwmark' ? `fwmark ${key.mark}` : serviceId(key);
}

const FORWARD_NAME = { masq: 'Masq', droute: 'Route', tunnel: 'Tunnel' } as const;

/**
 * The one-packet flag as /proc shows it: the kernel prints `ops` for IPv4 services and firewall marks, never for an
 * IPv6 address (ip_vs_info_seq_show), so there /proc reads false whatever the kernel holds.
 */
function procOnePacket(s: Service): boolean {
  return s.config.onePacket && !(s.key.kind === 'addr' && serviceFamily(s.key) === 'inet6');
}

/** Why a /proc entry does not show a service as the model has it (ticks aside: timeouts are checked elsewhere). */
function procMismatch(p: ProcService, s: Service): string | undefined {
  if (p.scheduler !== s.config.scheduler) return `scheduler ${p.scheduler} ≠ ${s.config.scheduler}`;
  if (p.onePacket !== procOnePacket(s)) return 'one-packet';
  if ((p.persistence === undefined) !== (s.config.persistence === undefined)) return 'persistence';
  if (p.persistence && s.config.persistence && p.persistence.netmask !== s.config.persistence.netmask) return 'persistence netmask';
  if (p.destinations.length !== s.destinations.length) return `${p.destinations.length} real servers ≠ ${s.destinations.length}`;
  const byId = new Map(p.destinations.map((d) => [d.id, d]));
  for (const d of s.destinations) {
    const got = byId.get(destinationId(d));
    if (!got) return `real server ${destinationId(d)} missing`;
    if (got.forward !== FORWARD_NAME[d.forwarding.method]) return `${destinationId(d)} forwarding ${got.forward}`;
    if (got.weight !== d.weight) return `${destinationId(d)} weight ${got.weight} ≠ ${d.weight}`;
  }
  return undefined;
}

/** A desired service as /proc should show it: its /proc id, and its text as procServiceText makes it. */
export interface ExpectedProc {
  readonly id: string;
  readonly text: string;
}

/**
 * How /proc shows a service when the kernel holds it as desired (persistence aside: a service with persistence never
 * has this text, and is compared field by field).
 */
export function expectedProc(s: Service): ExpectedProc {
  const id = procId(s.key);
  const destinations = s.destinations.map((d) => ({ id: destinationId(d), forward: FORWARD_NAME[d.forwarding.method], weight: d.weight }));
  return { id, text: procServiceText({ id, scheduler: s.config.scheduler, onePacket: procOnePacket(s), destinations }) };
}

function groupProc(d: ProcDigest): Map<string, ProcService[]> {
  const out = new Map<string, ProcService[]>();
  for (const s of d.services) {
    const list = out.get(s.id);
    if (list) list.push(s);
    else out.set(s.id, [s]);
  }
  return out;
}

/** True when every owned service of `table` shows in /proc as the model has it (firewall marks by count only). */
export function procAgrees(digest: ProcDigest, table: Table): boolean {
  const groups = groupProc(digest);
  for (const s of table.services) {
    const entries = groups.get(procId(s.key));
    if (!entries || entries.length === 0) return false;
    if (s.key.kind === 'addr' && procMismatch(entries[0]!, s) !== undefined) return false;
  }
  return true;
}

/** An identity-only stand-in for a live service the stack does not own (for the diff's conflicts and unmanaged). */
function stub(p: ProcService): Service | undefined {
  const m = /^(tcp|udp|sctp) (?:\[([^\]]+)\]|([0-9.]+)):([0-9]+)$/.exec(p.id);
  if (!m) return undefined;
  return {
    key: { kind: 'addr', protocol: m[1] as 'tcp' | 'udp' | 'sctp', address: (m[2] ?? m[3])!, port: Number(m[4]) },
    config: { scheduler: p.scheduler, schedFlags: [], onePacket: p.onePacket },
    destinations: [],
  };
}

/**
 * Whether to trust what a fast read found (the stored table, while /proc still matches the record's fingerprint). Never
 * throws for a mismatch: it returns the reason to fall back to the full read. A corrupt record is refused, as a full
 * read refuses it.
 */
export function trustFastRead(reply: FastReadReply, stack: string, where: string): FastRead {
  if (!reply.ended) return { ok: false, reason: 'the fast read ended early' };
  if (reply.record === undefined) return { ok: false, reason: 'no ownership record yet' };
  const record = parseRecord(reply.record, stack, where);
  const state = fastStateOf(record);
  if (!state) return { ok: false, reason: 'the record has no fast state (last apply was not made with --refresh=false)' };
  if (reply.table === undefined) return { ok: false, reason: `no stored table /var/lib/lvsform/${stack}.table` };
  if (reply.proc === undefined) return { ok: false, reason: '/proc/net/ip_vs is not readable' };
  const tableText = reply.table;
  if (sha256(tableText) !== state.table) return { ok: false, reason: 'the stored table does not match the record' };
  const before = reply.proc;
  if (digestFingerprint(before) !== state.proc) {
    return { ok: false, reason: 'the live table changed since the last verified apply (/proc/net/ip_vs fingerprint differs)' };
  }
  const owned = parseStoredTable(tableText, `/var/lib/lvsform/${stack}.table on ${where}`);
  if (!owned) return { ok: false, reason: 'the stored table is not in a form this lvsform reads' };
  const ownedIds = new Set(owned.services.map((s) => serviceId(s.key)));
  const recorded = Object.keys(record?.services ?? {});
  if (recorded.length !== ownedIds.size || recorded.some((id) => !ownedIds.has(id))) {
    return { ok: false, reason: 'the stored table and the record name different services' };
  }
  const ownedProcIds = new Set(owned.services.map((s) => procId(s.key)));
  const stubs: Service[] = [];
  for (const p of before.services) {
    if (ownedProcIds.has(p.id)) continue;
    const s = stub(p);
    if (!s) return { ok: false, reason: `cannot tell the family of ${p.id} from /proc/net/ip_vs` };
    stubs.push(s);
  }
  const table = normalizeTable({ services: [...owned.services, ...stubs] });
  return {
    ok: true,
    live: { table, fingerprint: `proc:${state.proc}`, record, others: reply.others, otherSettings: reply.otherSettings, ipvsadmVersion: '' },
    context: { owned, before, gzip: reply.gzip },
  };
}

/** Why a service's listing (`ipvsadm -L -n SERVICE --thresholds`) does not show the desired service, or undefined. */
export function listingMismatch(s: Service, listing: ServiceListing): string | undefined {
  if (!listing.found) return 'service missing from its listing';
  if (listing.scheduler !== s.config.scheduler) return `scheduler ${listing.scheduler}`;
  if ([...listing.schedFlags].sort().join(',') !== s.config.schedFlags.join(',')) return `scheduler flags ${listing.schedFlags.join(',')}`;
  const p = s.config.persistence;
  if ((p?.timeout ?? -1) !== (listing.persistence ?? -1)) return `persistence ${listing.persistence}`;
  if (p && (listing.netmask ?? defaultNetmask(serviceFamily(s.key))) !== p.netmask) return `netmask ${listing.netmask}`;
  if ((s.config.persistenceEngine ?? '') !== (listing.persistenceEngine ?? '')) return `persistence engine ${listing.persistenceEngine}`;
  if (s.config.onePacket !== listing.onePacket) return 'one-packet';
  const thresholds = listing.thresholds;
  if (thresholds.size !== s.destinations.length) return `${thresholds.size} real servers listed`;
  const sid = serviceId(s.key);
  for (const d of s.destinations) {
    const t = thresholds.get(`${sid} -> ${destinationId(d)}`);
    if (!t || t.upper !== d.upperThreshold || t.lower !== d.lowerThreshold) return `${destinationId(d)} thresholds`;
  }
  return undefined;
}

export type FastVerify =
  | { readonly ok: true; readonly owned: Table; readonly proc: string; readonly residual: readonly string[] }
  | { readonly ok: false; readonly reason: string };

/**
 * Verifies a fast batch without the full read: the owned table after it is the stored one with the changed services
 * as desired, provided /proc and the per-service listings say so. Any doubt returns a reason to do the full read.
 */
export async function verifyFast(send: SendProc, context: FastContext, changes: readonly Change[], desired: Table): Promise<FastVerify> {
  const changedIds = [...new Set(changes.map((c) => c.serviceId))];
  if (changedIds.length > FAST_VERIFY_MAX_SERVICES) return { ok: false, reason: `${changedIds.length} services changed` };
  const desiredById = new Map(desired.services.map((s) => [serviceId(s.key), s]));
  const ownedById = new Map(context.owned.services.map((s) => [serviceId(s.key), s]));
  for (const id of changedIds) {
    const svc = desiredById.get(id) ?? ownedById.get(id);
    if (!svc || svc.key.kind === 'fwmark') return { ok: false, reason: 'a firewall-mark service changed' };
    const tunnels = [...(desiredById.get(id)?.destinations ?? []), ...(ownedById.get(id)?.destinations ?? [])];
    if (tunnels.some((d) => d.forwarding.method === 'tunnel')) return { ok: false, reason: 'a tunnel real server changed' };
  }
  const present = changedIds.map((id) => desiredById.get(id)).filter((s): s is Service => s !== undefined);
  const reply = await send({ kind: 'proc', listings: present.map((s) => s.key), compress: isLarge(context.before.services.length + present.length) });
  if (!reply.ended) return { ok: false, reason: 'the verification read ended early' };
  const after = reply.proc;
  const beforeGroups = groupProc(context.before);
  const afterGroups = groupProc(after);
  const changed = new Set(changedIds);
  const residual: string[] = [];
  for (const [id, list] of beforeGroups) {
    if (changed.has(id)) continue;
    if (JSON.stringify(afterGroups.get(id)) !== JSON.stringify(list)) return { ok: false, reason: `${id} changed outside this apply` };
  }
  for (const id of afterGroups.keys()) {
    if (!changed.has(id) && !beforeGroups.has(id)) return { ok: false, reason: `${id} appeared outside this apply` };
  }
  for (const id of changedIds) {
    const want = desiredById.get(id);
    const got = afterGroups.get(id);
    if (!want) {
      if (got) residual.push(`${id}: still present`);
      continue;
    }
    const why = got?.length === 1 ? procMismatch(got[0]!, want) : 'missing';
    if (why) residual.push(`${id}: ${why}`);
  }
  present.forEach((s, i) => {
    const why = listingMismatch(s, reply.listings[i]!);
    if (why) residual.push(`${serviceId(s.key)}: ${why}`);
  });
  if (residual.length > 0) return { ok: false, reason: `verification found ${residual.length} difference(s): ${residual.slice(0, 3).join('; ')}` };
  const services = context.owned.services.filter((s) => !changed.has(serviceId(s.key)));
  const owned = normalizeTable({ services: [...services, ...present] });
  return { ok: true, owned, proc: digestFingerprint(after), residual };
}

/** After a full (exact) verification: the /proc fingerprint to store, if /proc agrees with the verified table. */
export async function readProcFingerprint(send: SendProc, owned: Table): Promise<{ proc: string; gzip: boolean } | undefined> {
  const reply = await send({ kind: 'proc', listings: [], compress: isLarge(owned.services.length) });
  if (!reply.ended || !procAgrees(reply.proc, owned)) return undefined;
  return { proc: digestFingerprint(reply.proc), gzip: reply.gzip };
}

/** The owned services of a live table (those in `ids`). */
export function ownedTable(table: Table, ids: ReadonlySet<string>): Table {
  return { services: table.services.filter((s) => ids.has(serviceId(s.key))) };
}

/** The first line of a stored table: what it holds and in which form. */
export const STORED_TABLE_FORMAT = 'lvsform-owned-table/2 json+gzip+base64';

/**
 * The text stored in `<stack>.table`: a header line, then the owned services as the model's JSON, gzip-compressed and
 * base64-encoded. It is kept compressed on the director, so a fast read sends it as it is (no compression in the
 * director's CPU, a fifth of the bytes), and the next fast plan reads it with `JSON.parse` instead of parsing 40,000
 * `ipvsadm -R` lines.
 */
export function storedTableText(owned: Table): string {
  const json = `{"services":[\n${owned.services.map((s) => JSON.stringify(s)).join(',\n')}\n]}\n`;
  return `${STORED_TABLE_FORMAT}\n${gzipSync(json, { level: 6 }).toString('base64')}\n`;
}

/**
 * Reads a stored table: the compressed JSON above, or (written by an older lvsform) `ipvsadm -R` lines. Undefined for
 * a text in neither form. The record's sha256 of the text has been checked before, so its content is the verified
 * table.
 */
export function parseStoredTable(text: string, where: string): Table | undefined {
  if (!text.startsWith('lvsform-owned-table/')) return parseSave(text, where);
  const [header, body] = text.split('\n', 2);
  if (header !== STORED_TABLE_FORMAT || body === undefined) return undefined;
  try {
    const value = parseJsonStrict(gunzipSync(Buffer.from(body, 'base64')).toString('utf8')) as { services?: unknown };
    if (!Array.isArray(value.services)) return undefined;
    return normalizeTable({ services: value.services as Service[] });
  } catch {
    return undefined;
  }
}

/**
 * True when /proc/net/ip_vs shows every attribute of these services, so that reading it back verifies them exactly:
 * address services (a firewall mark's family is not in /proc) without scheduler flags, persistence (its timeout is in
 * kernel ticks), a persistence engine or, on IPv6, one-packet scheduling, whose real servers are not tunnels and have
 * no thresholds.
 */
export function procShowsAll(services: readonly Service[]): boolean {
  return services.every(
    (s) =>
      s.key.kind === 'addr' &&
      procOnePacket(s) === s.config.onePacket &&
      s.config.schedFlags.length === 0 &&
      s.config.persistence === undefined &&
      s.config.persistenceEngine === undefined &&
      s.destinations.every((d) => d.forwarding.method !== 'tunnel' && d.upperThreshold === 0 && d.lowerThreshold === 0),
  );
}

export type ProcCheck = { readonly ok: true; readonly proc: ProcDigest } | { readonly ok: false; readonly reason: string };

/**
 * Verifies an apply from one read of /proc/net/ip_vs (≈ 25× cheaper than `ipvsadm -S -n`): every desired service
 * shows exactly as wanted and every owned service it dropped is gone. Only for services `procShowsAll` accepts; any
 * difference returns a reason, and the caller reads the whole table to report it exactly.
 */
export async function verifyByProc(
  send: SendProc,
  desired: Table,
  dropped: readonly string[],
  liveServices = Infinity,
  /** The desired services' /proc ids and expected texts (expectedProc), worked out while the read ran. */
  ahead: () => Promise<ReadonlyMap<Service, ExpectedProc> | undefined> = async () => undefined,
): Promise<ProcCheck> {
  const reply = await send({ kind: 'proc', listings: [], compress: isLarge(liveServices) });
  if (!reply.ended) return { ok: false, reason: 'the /proc read ended early' };
  const after = reply.proc;
  const groups = groupProc(after);
  const expected = await ahead();
  for (const want of desired.services) {
    const known = expected?.get(want);
    const got = groups.get(known?.id ?? procId(want.key));
    // Equal texts: every field /proc shows is as desired. Otherwise the field by field comparison decides, and says why.
    if (known && got?.length === 1 && procServiceText(got[0]!) === known.text) continue;
    const why = got?.length === 1 ? procMismatch(got[0]!, want) : 'missing';
    if (why) return { ok: false, reason: `${serviceId(want.key)}: ${why}` };
  }
  for (const id of dropped) if (groups.has(id)) return { ok: false, reason: `${id}: still present` };
  // The digest, not its fingerprint: only a --refresh=false apply stores one (a hash of 3 MB of JSON at 10,000 × 4).
  return { ok: true, proc: after };
}
