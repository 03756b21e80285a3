/**
 * Which pool each real server of a synthesized stack comes from. The table model has no pools (the kernel has none),
 * so `readSynth` drops the `pool` attribute of each `real_server`; `lvsform graph` draws it, and reads it here from
 * the same cdk.tf.json, after `readSynth` has validated it (so only well-formed entries are met; others are skipped).
 */
import { canonicalAddress } from '../model/canonical.ts';
import { destinationId, serviceId, type ServiceKey } from '../model/model.ts';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function keyOf(s: Json): ServiceKey | undefined {
  if (typeof s.firewall_mark === 'number') return { kind: 'fwmark', mark: s.firewall_mark, family: s.family === 'inet6' ? 'inet6' : 'inet' };
  const address = typeof s.address === 'string' ? canonicalAddress(s.address) : undefined;
  const protocol = s.protocol;
  if (address === undefined || typeof s.port !== 'number' || (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp')) return undefined;
  return { kind: 'addr', protocol, address, port: s.port };
}

/** director → (`serviceId -> destinationId` → construct path of the pool), for the real servers that name a pool. */
export function readPools(json: unknown): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  const services = isObject(json) && isObject(json.resource) ? json.resource.lvsform_virtual_service : undefined;
  if (!isObject(services)) return out;
  for (const s of Object.values(services)) {
    if (!isObject(s) || typeof s.director !== 'string' || !Array.isArray(s.real_server)) continue;
    const key = keyOf(s);
    if (!key) continue;
    const sid = serviceId(key);
    const servicePort = key.kind === 'addr' ? key.port : 0;
    for (const r of s.real_server) {
      if (!isObject(r) || typeof r.pool !== 'string' || typeof r.address !== 'string') continue;
      const address = canonicalAddress(r.address);
      if (address === undefined) continue;
      const port = typeof r.port === 'number' ? r.port : servicePort;
      let pools = out.get(s.director);
      if (!pools) out.set(s.director, (pools = new Map()));
      pools.set(`${sid} -> ${destinationId({ address, port })}`, r.pool);
    }
  }
  return out;
}
