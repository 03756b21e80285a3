/**
 * `proc`: /proc/net/ip_vs (≈ 25× cheaper than `ipvsadm -S -n`; no thresholds, tunnel settings, scheduler flags or
 * persistence engine), and `ipvsadm -L -n SERVICE --thresholds` for each given service (what /proc does not show).
 * The verifications built on it are decided above the seam (apply/fast-path.ts).
 */
import { FLAG_BITS } from '../../model/limits.ts';
import type { ServiceKey } from '../../model/model.ts';
import { parseThresholds } from '../../read/parse-list.ts';
import { parseProcIpvs, type ProcDigest } from '../../read/parse-proc.ts';
import { renderServiceKey } from '../../model/render-restore.ts';
import { section } from '../sections.ts';
import { shQuote } from '../shell-quote.ts';
import { earlyResult, type RequestKind } from './kind.ts';
import { compressed, decodeSection, GZ_TEST } from './gzip.ts';

export interface ProcRequest {
  readonly kind: 'proc';
  /** Services to list one by one (`ipvsadm -L -n SERVICE --thresholds`). */
  readonly listings: readonly ServiceKey[];
  /** Send /proc compressed where the host has gzip (a large table). */
  readonly compress: boolean;
}

/** One service as `ipvsadm -L -n SERVICE --thresholds` shows it. */
export interface ServiceListing {
  /** False when the listing shows no service line. */
  readonly found: boolean;
  readonly scheduler: string;
  /** Scheduler flags by the model's names (`flag-1`, …). */
  readonly schedFlags: readonly string[];
  readonly persistence?: number;
  readonly netmask?: string;
  readonly persistenceEngine?: string;
  readonly onePacket: boolean;
  /** `serviceId -> destinationId` → thresholds. */
  readonly thresholds: ReadonlyMap<string, { readonly upper: number; readonly lower: number }>;
}

export type ProcReply = { readonly kind: 'proc' } & (
  | { readonly ended: false }
  | {
      readonly ended: true;
      readonly proc: ProcDigest;
      /** In the order of the request's `listings`. */
      readonly listings: readonly ServiceListing[];
      /** Whether the host has gzip and base64. */
      readonly gzip: boolean;
    }
);

/** The script: /proc, whether the host has gzip, then each given service's listing. */
export function fastVerifyChunk(tag: string, keys: readonly ServiceKey[], compress = true): string {
  const lines = [GZ_TEST, section(tag, 'gzip'), 'echo "$lvs_gz"', section(tag, 'proc'), compressed('/proc/net/ip_vs', compress)];
  keys.forEach((key, i) => {
    const [flag, value] = renderServiceKey(key).split(' ');
    lines.push(section(tag, `svc ${i}`), `ipvsadm -L -n ${flag} ${shQuote(value ?? '')} --thresholds 2>&1 9>&-`);
  });
  lines.push(section(tag, 'end'));
  return lines.join('\n');
}

/** Reads one service's `ipvsadm -L -n SERVICE --thresholds`. */
export function parseListing(text: string): ServiceListing {
  const line = text.split('\n').find((l) => /^(TCP|UDP|SCTP) /.test(l));
  if (!line) return { found: false, scheduler: '', schedFlags: [], onePacket: false, thresholds: new Map() };
  const w = line.trim().split(/\s+/).slice(2);
  let i = 0;
  const scheduler = w[i++] ?? '';
  let schedFlags: string[] = [];
  if (w[i]?.startsWith('('))
    schedFlags = (w[i++] ?? '')
      .replace(/[()]/g, '')
      .split(',')
      .filter(Boolean)
      .map((f) => FLAG_BITS[f] ?? f);
  let persistence: number | undefined;
  let netmask: string | undefined;
  let persistenceEngine: string | undefined;
  let onePacket = false;
  for (; i < w.length; i++) {
    if (w[i] === 'persistent') persistence = Number(w[++i]);
    else if (w[i] === 'mask') netmask = w[++i];
    else if (w[i] === 'pe') persistenceEngine = w[++i];
    else if (w[i] === 'ops') onePacket = true;
  }
  return {
    found: true,
    scheduler,
    schedFlags,
    ...(persistence === undefined ? {} : { persistence }),
    ...(netmask === undefined ? {} : { netmask }),
    ...(persistenceEngine === undefined ? {} : { persistenceEngine }),
    onePacket,
    thresholds: parseThresholds(text),
  };
}

/** The digest of a `proc` section (compressed or not). */
function procOf(text: string): ProcDigest {
  return parseProcIpvs(decodeSection(text));
}

export const proc: RequestKind<ProcRequest, ProcReply> = {
  script: (req, tag) => fastVerifyChunk(tag, req.listings, req.compress),
  parse: (req, sections, _ctx, early) => {
    if (!sections.has('end')) return { kind: 'proc', ended: false };
    const text = sections.get('proc') ?? '';
    return {
      kind: 'proc',
      ended: true,
      proc: earlyResult<ProcDigest>(early, 'proc', text) ?? procOf(text),
      listings: req.listings.map((_, i) => parseListing(sections.get(`svc ${i}`) ?? '')),
      gzip: (sections.get('gzip') ?? '').trim() === '1',
    };
  },
  // Parsed as soon as it is whole, while the listings, or the round trip's tail (the record's rename after a batch),
  // still run on the host.
  early: { proc: (_req, text) => procOf(text) },
};
