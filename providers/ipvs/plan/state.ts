/**
 * The state commands' data: what a stack owns on each director (its ownership record beside the live table), the
 * addresses that name one owned service, and the record without the services `state rm` lets go of. Pure: the
 * orchestration that reads and writes directors is ops/state.ts.
 *
 * An address names one owned service in either of two forms:
 * - its construct path as recorded (`web/lb1/http`): the path the app declared it at, kept in the record even after
 *   the app stops declaring it;
 * - its identity, with or without the director: `lb1:tcp/198.51.100.10:80`, `tcp/198.51.100.10:80`,
 *   `lb1:udp/[2001:db8::10]:53`, `lb1:fwmark/1` (IPv4), `lb1:fwmark/1/inet6`. A space may stand for the slash, as
 *   plans print identities (`tcp 198.51.100.10:80`). Without the director, the identity must be owned on one director
 *   only (two directors often carry the same VIP).
 */
import { LvsError } from '../model/errors.ts';
import { canonicalAddress } from '../model/canonical.ts';
import { hostPort, serviceId, type Service } from '../model/model.ts';
import { maskRuntimeValues, type RuntimeManaged } from '../model/runtime-managed.ts';
import { closest } from '../model/closest.ts';
import { serviceHash, type LiveState } from '../model/live-state.ts';
import { RECORD_FORMAT, type OwnershipRecord } from '../model/record.ts';
import type { HostTarget } from '../model/host-target.ts';

/** How an owned service stands: as applied, changed by hand since, gone from the kernel, or created by an unverified batch. */
export type OwnedStatus = 'in-sync' | 'drifted' | 'missing' | 'pending';

export interface StateEntry {
  readonly director: string;
  readonly serviceId: string;
  /** `lb1:tcp/198.51.100.10:80`: the identity address. */
  readonly address: string;
  /** The construct path recorded for it. */
  readonly path: string;
  readonly status: OwnedStatus;
  /** Whether the app (as synthesized now) still declares it on this director. */
  readonly declared: boolean;
  /** The service as the kernel holds it now; absent when it is missing. */
  readonly live?: Service;
}

export interface DirectorState {
  readonly director: string;
  readonly target: HostTarget;
  /** Whether the director holds an ownership record of the stack. */
  readonly record: boolean;
  readonly entries: readonly StateEntry[];
  /** Set when the director could not be read. */
  readonly error?: { readonly code: string; readonly message: string; readonly hint?: string };
}

export interface StackState {
  readonly stack: string;
  readonly directors: readonly DirectorState[];
}

/** The identity address of a service: `lb1:tcp/198.51.100.10:80`, `lb1:fwmark/1`, `lb1:fwmark/1/inet6`. */
export function identityAddress(director: string, id: string): string {
  const fwmark = /^fwmark (\d+) (inet6?)$/.exec(id);
  if (fwmark) return `${director}:fwmark/${fwmark[1]}${fwmark[2] === 'inet6' ? '/inet6' : ''}`;
  return `${director}:${id.replace(' ', '/')}`;
}

/** The owned services of a director, from its record and live table, sorted by construct path. */
export function ownedEntries(director: string, live: LiveState, declared: ReadonlyMap<string, string>, runtime: RuntimeManaged | undefined): StateEntry[] {
  const liveById = new Map(live.table.services.map((s) => [serviceId(s.key), s]));
  const out: StateEntry[] = [];
  for (const [id, entry] of Object.entries(live.record?.services ?? {})) {
    const svc = liveById.get(id);
    const applied = entry.h;
    let status: OwnedStatus = 'in-sync';
    if (entry.pending === true) status = 'pending';
    else if (!svc) status = 'missing';
    else if (typeof applied === 'string' && applied !== serviceHash(svc) && applied !== serviceHash(maskRuntimeValues(svc, runtime))) status = 'drifted';
    out.push({
      director,
      serviceId: id,
      address: identityAddress(director, id),
      path: entry.path,
      status,
      declared: declared.has(id),
      ...(svc ? { live: svc } : {}),
    });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

const DIRECTOR = '[A-Za-z0-9][A-Za-z0-9._-]{0,62}';
const ADDR_FORM = new RegExp(`^(?:(${DIRECTOR}):)?(tcp|udp|sctp)[/ ](\\[[^\\]]+\\]|[^:\\[\\]]+):(\\d{1,5})$`);
const FWMARK_FORM = new RegExp(`^(?:(${DIRECTOR}):)?fwmark[/ ](\\d{1,10})(?:[/ ](inet|inet6))?$`);

/** An address as given: an identity (director optional), or else a construct path. */
type ParsedAddress = { readonly kind: 'identity'; readonly director?: string; readonly serviceId: string } | { readonly kind: 'path'; readonly path: string };

/**
 * Reads an address. Something that looks like an identity (`tcp/…`, `fwmark/…`, with or without `DIRECTOR:`) must be
 * a valid one; anything else is taken as a construct path.
 * @throws LvsError `LVS_USAGE` for an identity with a bad address, port or mark.
 */
export function parseStateAddress(text: string): ParsedAddress {
  const bad = (why: string): never => {
    throw new LvsError('LVS_USAGE', `state address "${text}": ${why}`, {
      hint: 'Give a construct path (web/lb1/http) or an identity (lb1:tcp/198.51.100.10:80, lb1:fwmark/1); `lvsform state list` prints both.',
    });
  };
  const addr = ADDR_FORM.exec(text);
  if (addr) {
    const [, director, protocol, rawAddress, rawPort] = addr;
    const inner = rawAddress!.startsWith('[') ? rawAddress!.slice(1, -1) : rawAddress!;
    const canonical = canonicalAddress(inner) ?? bad(`${JSON.stringify(inner)} is not an IPv4 or IPv6 address`);
    if (rawAddress!.startsWith('[') !== canonical.includes(':')) bad('an IPv6 address goes in brackets ([2001:db8::10]:80), an IPv4 one does not');
    const port = Number(rawPort);
    if (port > 65535) bad(`port ${port} is not 0..65535`);
    return { kind: 'identity', ...(director ? { director } : {}), serviceId: `${protocol} ${hostPort(canonical, port)}` };
  }
  const mark = FWMARK_FORM.exec(text);
  if (mark) {
    const [, director, rawMark, family] = mark;
    const n = Number(rawMark);
    if (n < 1 || n > 2 ** 32 - 1) bad(`firewall mark ${rawMark} is not 1..4294967295`);
    return { kind: 'identity', ...(director ? { director } : {}), serviceId: `fwmark ${n} ${family ?? 'inet'}` };
  }
  if (/^(?:[^/:]+:)?(?:tcp|udp|sctp)[/ ][0-9A-Fa-f.]*:[0-9A-Fa-f.:]*:\d+$/.test(text)) bad('an IPv6 address goes in brackets: tcp/[2001:db8::10]:80');
  if (/^(?:[^/:]+:)?(?:tcp|udp|sctp|fwmark)[/ ]/i.test(text)) bad('not an identity of the form [DIRECTOR:]tcp/ADDRESS:PORT or [DIRECTOR:]fwmark/MARK[/inet6]');
  if (text.trim() === '') bad('empty');
  return { kind: 'path', path: text.replace(/\/+$/, '') };
}

/**
 * The owned services `addresses` name, one each, in the order given without repeats.
 * @throws LvsError `LVS_STATE_UNKNOWN` (with the nearest address) or `LVS_STATE_AMBIGUOUS` (with the candidates).
 */
export function resolveStateAddresses(stack: string, addresses: readonly string[], entries: readonly StateEntry[]): StateEntry[] {
  const out: StateEntry[] = [];
  for (const text of addresses) {
    const parsed = parseStateAddress(text);
    const found =
      parsed.kind === 'path'
        ? entries.filter((e) => e.path === parsed.path)
        : entries.filter((e) => e.serviceId === parsed.serviceId && (parsed.director === undefined || e.director === parsed.director));
    if (found.length === 0) {
      const known = [...new Set(entries.flatMap((e) => [e.path, e.address]))];
      const near = closest(text, known);
      const list = entries.length === 0 ? 'it owns nothing on the directors read' : `it owns: ${entries.map((e) => `${e.address} (${e.path})`).join(', ')}`;
      throw new LvsError('LVS_STATE_UNKNOWN', `stack ${stack} owns no service at "${text}"${near ? ` (did you mean ${near}?)` : ''}; ${list}`, {
        hint: 'Run `lvsform state list` to see what the stack owns, and pass a construct path or identity from it.',
      });
    }
    if (found.length > 1) {
      throw new LvsError(
        'LVS_STATE_AMBIGUOUS',
        `"${text}" names ${found.length} owned services of stack ${stack}: ${found.map((e) => `${e.address} (${e.path})`).join(', ')}`,
        { hint: 'Name the director too: DIRECTOR:tcp/ADDRESS:PORT (e.g. ' + found[0]!.address + ').' },
      );
    }
    const e = found[0]!;
    if (!out.some((o) => o.director === e.director && o.serviceId === e.serviceId)) out.push(e);
  }
  return out;
}

/**
 * The record once `ids` are no longer owned: the other entries as they were, and no fast-path state (the table it
 * stored lists the services let go of, so the next `--refresh=false` run reads the whole table). Undefined when
 * nothing is left: the record is removed.
 */
export function recordWithout(record: OwnershipRecord, ids: readonly string[], now = new Date()): OwnershipRecord | undefined {
  const services = Object.fromEntries(Object.entries(record.services).filter(([id]) => !ids.includes(id)));
  if (Object.keys(services).length === 0) return undefined;
  const { fast: _fast, ...rest } = record;
  return { ...rest, format: RECORD_FORMAT, updated: now.toISOString(), services };
}
