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
 */
import { FLAG_BITS } from '../model/limits.ts';
import { parseJsonStrict } from '../model/strict-json.ts';
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Change } from '../model/change.ts';
import { destinationId, serviceId, type Service, type ServiceKey, type Table, normalizeTable, defaultNetmask, serviceFamily } from '../model/model.ts';
import { parseProcIpvs, type ProcDigest, type ProcService } from '../read/parse-proc.ts';
import { parseSave } from '../read/parse-save.ts';
import { parseThresholds } from '../read/parse-list.ts';
import { parseRecord, type FastState, type OwnershipRecord } from '../model/record.ts';
import { renderServiceKey } from '../model/render-restore.ts';
import { otherRecordsChunk, section, splitSections, stackFile, whenLocked, writeFileCommand } from './host-script.ts';
import { shQuote } from './shell-quote.ts';
import { newTag, othersFrom } from './read-live.ts';
import type { LiveState } from '../model/live-state.ts';
import { describeTarget } from '../model/host-target.ts';
import type { HostSession } from './transport.ts';

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

/** The path of one of a stack's files in the state directory; the stack name is checked by `stackFile`. */
function stackPath(stack: string, suffix: string, prefix = ''): string {
  return `"$lvs_dir"/${stackFile(stack, prefix, suffix)}`;
}

/**
 * Prints FILE gzip-compressed and base64-encoded when the host has gzip (first line `@@gz`), else as it is. For a small
 * table (`large` false) the two extra processes cost more than the bytes they save: it is printed as it is.
 */
function compressed(file: string, large = true): string {
  if (!large) return `cat ${file}`;
  // Level 1: the director's CPU (an emulated one in the lab) is the slow part, not the few extra bytes.
  return `if [ "$lvs_gz" = 1 ]; then echo "@@gz"; gzip -1 -c ${file} | base64; else cat ${file}; fi`;
}

/** Above this many services, the fast path's reads travel gzip-compressed (about 270 bytes of /proc per service). */
export const COMPRESS_ABOVE_SERVICES = 2_000;

/** Whether a read of a table of about `services` services should travel compressed. */
export function isLarge(services: number): boolean {
  return services > COMPRESS_ABOVE_SERVICES;
}

const GZ_TEST = 'if command -v gzip >/dev/null 2>&1 && command -v base64 >/dev/null 2>&1; then lvs_gz=1; else lvs_gz=0; fi';

/** Undoes `compressed`. */
export function decodeSection(text: string): string {
  if (!text.startsWith('@@gz\n')) return text;
  return gunzipSync(Buffer.from(text.slice(5), 'base64')).toString('utf8');
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function digestFingerprint(d: ProcDigest): string {
  return createHash('sha256').update(JSON.stringify(d)).digest('hex');
}

/** Reads the record, the stored table and /proc/net/ip_vs in one chunk. */
export function fastReadChunk(tag: string, stack: string, large = true, locked = false): string {
  const record = stackPath(stack, '.json');
  const table = stackPath(stack, '.table');
  const text = [
    GZ_TEST,
    section(tag, 'gzip'),
    'echo "$lvs_gz"',
    section(tag, 'record'),
    `if [ -f ${record} ]; then ${compressed(record, large)}; else echo "@@none"; fi`,
    section(tag, 'table'),
    // The stored table is kept compressed (storedTableText): it travels as it is.
    `if [ -f ${table} ]; then cat ${table}; else echo "@@none"; fi`,
    section(tag, 'proc'),
    `if [ -r /proc/net/ip_vs ]; then ${compressed('/proc/net/ip_vs', large)}; else echo "@@none"; fi`,
    otherRecordsChunk(tag, stack),
    section(tag, 'end'),
  ].join('\n');
  return locked ? whenLocked(text) : text;
}

/** The fast verification read: /proc, then `ipvsadm -L -n SERVICE --thresholds` for each given service. */
export function fastVerifyChunk(tag: string, keys: readonly ServiceKey[], large = true): string {
  const lines = [GZ_TEST, section(tag, 'proc'), compressed('/proc/net/ip_vs', large)];
  keys.forEach((key, i) => {
    const [flag, value] = renderServiceKey(key).split(' ');
    lines.push(section(tag, `svc ${i}`), `ipvsadm -L -n ${flag} ${shQuote(value ?? '')} --thresholds 2>&1 9>&-`);
  });
  lines.push(section(tag, 'end'));
  return lines.join('\n');
}

/** Writes `<stack>.table` atomically (sent gzip-compressed when the host has gzip). */
export function writeTableChunk(stack: string, tableText: string, gzip = false): string {
  const file = stackPath(stack, '.table');
  // Written in place (no rename, one process less): the record's sha256 of the table is what a fast read trusts, so a
  // table torn by a lost connection only sends the next run to the full read. Created under the session's umask 077
  // (0600), in the directory the lock made private.
  const write = writeFileCommand(file, tableText, gzip);
  return ['[ -d "$lvs_dir" ] || mkdir -p "$lvs_dir"', write, 'echo "@@table written"'].join('\n');
}

/** Removes `<stack>.table` (the stack owns nothing there any more). */
export function removeTableChunk(stack: string): string {
  return `rm -f ${stackPath(stack, '.table')}`;
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

/** Why a /proc entry does not show a service as the model has it (ticks aside: timeouts are checked elsewhere). */
function procMismatch(p: ProcService, s: Service): string | undefined {
  if (p.scheduler !== s.config.scheduler) return `scheduler ${p.scheduler} ≠ ${s.config.scheduler}`;
  if (p.onePacket !== s.config.onePacket) return 'one-packet';
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
 * Reads what the fast path needs and decides whether to trust it. Never throws for a mismatch: it returns the reason
 * to fall back to the full read.
 */
export async function readFast(session: HostSession, stack: string, expectedServices = Infinity, locked = false): Promise<FastRead> {
  const where = describeTarget(session.target);
  const tag = newTag();
  const { stdout } = await session.run(fastReadChunk(tag, stack, isLarge(expectedServices), locked));
  const sections = splitSections(tag, stdout);
  if (!sections.has('end')) return { ok: false, reason: 'the fast read ended early' };
  const recordRaw = (sections.get('record') ?? '').trim();
  if (recordRaw === '@@none') return { ok: false, reason: 'no ownership record yet' };
  const recordText = decodeSection(`${recordRaw}\n`).trim();
  const record = parseRecord(recordText, stack, where);
  const state = fastStateOf(record);
  if (!state) return { ok: false, reason: 'the record has no fast state (last apply was not made with --refresh=false)' };
  const tableRaw = (sections.get('table') ?? '').trim();
  if (tableRaw === '@@none') return { ok: false, reason: `no stored table /var/lib/lvsform/${stack}.table` };
  const procRaw = sections.get('proc') ?? '';
  if (procRaw.trim() === '@@none') return { ok: false, reason: '/proc/net/ip_vs is not readable' };
  const tableText = decodeSection(tableRaw + '\n');
  if (sha256(tableText) !== state.table) return { ok: false, reason: 'the stored table does not match the record' };
  const before = parseProcIpvs(decodeSection(procRaw));
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
    live: { table, fingerprint: `proc:${state.proc}`, record, others: othersFrom(sections, where), ipvsadmVersion: '' },
    context: { owned, before, gzip: (sections.get('gzip') ?? '').trim() === '1' },
  };
}

/** Why `ipvsadm -L -n SERVICE --thresholds` does not show the desired service, or undefined when it does. */
export function listingMismatch(s: Service, text: string): string | undefined {
  const line = text.split('\n').find((l) => /^(TCP|UDP|SCTP) /.test(l));
  if (!line) return 'service missing from its listing';
  const w = line.trim().split(/\s+/).slice(2);
  let i = 0;
  const scheduler = w[i++] ?? '';
  if (scheduler !== s.config.scheduler) return `scheduler ${scheduler}`;
  let flags: string[] = [];
  if (w[i]?.startsWith('('))
    flags = (w[i++] ?? '')
      .replace(/[()]/g, '')
      .split(',')
      .filter(Boolean)
      .map((f) => FLAG_BITS[f] ?? f);
  if ([...flags].sort().join(',') !== s.config.schedFlags.join(',')) return `scheduler flags ${flags.join(',')}`;
  let timeout: number | undefined;
  let mask: string | undefined;
  let pe: string | undefined;
  let ops = false;
  for (; i < w.length; i++) {
    if (w[i] === 'persistent') timeout = Number(w[++i]);
    else if (w[i] === 'mask') mask = w[++i];
    else if (w[i] === 'pe') pe = w[++i];
    else if (w[i] === 'ops') ops = true;
  }
  const p = s.config.persistence;
  if ((p?.timeout ?? -1) !== (timeout ?? -1)) return `persistence ${timeout}`;
  if (p && (mask ?? defaultNetmask(serviceFamily(s.key))) !== p.netmask) return `netmask ${mask}`;
  if ((s.config.persistenceEngine ?? '') !== (pe ?? '')) return `persistence engine ${pe}`;
  if (s.config.onePacket !== ops) return 'one-packet';
  const thresholds = parseThresholds(text);
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
export async function verifyFast(session: HostSession, context: FastContext, changes: readonly Change[], desired: Table): Promise<FastVerify> {
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
  const tag = newTag();
  const { stdout } = await session.run(
    fastVerifyChunk(
      tag,
      present.map((s) => s.key),
      isLarge(context.before.services.length + present.length),
    ),
  );
  const sections = splitSections(tag, stdout);
  if (!sections.has('end')) return { ok: false, reason: 'the verification read ended early' };
  const after = parseProcIpvs(decodeSection(sections.get('proc') ?? ''));
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
    const why = listingMismatch(s, sections.get(`svc ${i}`) ?? '');
    if (why) residual.push(`${serviceId(s.key)}: ${why}`);
  });
  if (residual.length > 0) return { ok: false, reason: `verification found ${residual.length} difference(s): ${residual.slice(0, 3).join('; ')}` };
  const services = context.owned.services.filter((s) => !changed.has(serviceId(s.key)));
  const owned = normalizeTable({ services: [...services, ...present] });
  return { ok: true, owned, proc: digestFingerprint(after), residual };
}

/** After a full (exact) verification: the /proc fingerprint to store, if /proc agrees with the verified table. */
export async function readProcFingerprint(session: HostSession, owned: Table): Promise<{ proc: string; gzip: boolean } | undefined> {
  const tag = newTag();
  const { stdout } = await session.run(fastVerifyChunk(tag, [], isLarge(owned.services.length)) + `\n${GZ_TEST}\necho "@@gzip $lvs_gz"`);
  const sections = splitSections(tag, stdout);
  const digest = parseProcIpvs(decodeSection(sections.get('proc') ?? ''));
  if (!procAgrees(digest, owned)) return undefined;
  return { proc: digestFingerprint(digest), gzip: (sections.get('end') ?? '').includes('@@gzip 1') };
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
 * kernel ticks) or a persistence engine, whose real servers are not tunnels and have no thresholds.
 */
export function procShowsAll(services: readonly Service[]): boolean {
  return services.every(
    (s) =>
      s.key.kind === 'addr' &&
      s.config.schedFlags.length === 0 &&
      s.config.persistence === undefined &&
      s.config.persistenceEngine === undefined &&
      s.destinations.every((d) => d.forwarding.method !== 'tunnel' && d.upperThreshold === 0 && d.lowerThreshold === 0),
  );
}

export type ProcCheck = { readonly ok: true; readonly proc: string } | { readonly ok: false; readonly reason: string };

/**
 * Verifies an apply from one read of /proc/net/ip_vs (≈ 25× cheaper than `ipvsadm -S -n`): every desired service
 * shows exactly as wanted and every owned service it dropped is gone. Only for services `procShowsAll` accepts; any
 * difference returns a reason, and the caller reads the whole table to report it exactly.
 */
export async function verifyByProc(session: HostSession, desired: Table, dropped: readonly string[], liveServices = Infinity): Promise<ProcCheck> {
  const tag = newTag();
  const { stdout } = await session.run(fastVerifyChunk(tag, [], isLarge(liveServices)));
  const sections = splitSections(tag, stdout);
  if (!sections.has('end')) return { ok: false, reason: 'the /proc read ended early' };
  const after = parseProcIpvs(decodeSection(sections.get('proc') ?? ''));
  const groups = groupProc(after);
  for (const want of desired.services) {
    const got = groups.get(procId(want.key));
    const why = got?.length === 1 ? procMismatch(got[0]!, want) : 'missing';
    if (why) return { ok: false, reason: `${serviceId(want.key)}: ${why}` };
  }
  for (const id of dropped) if (groups.has(id)) return { ok: false, reason: `${id}: still present` };
  return { ok: true, proc: digestFingerprint(after) };
}
