/**
 * `lvsform import --real-server NAME`: what a real server holds of what lvsform prepares, read with the request a plan
 * uses (`real-server-read`, one round trip, nothing changed), written as a `RealServerHost` with what can be inferred
 * and a comment for each thing found. What a real server cannot say is which pool and forwarding method each of its
 * VIPs serves: that is the director's side (import the director with `--director`; its pools name this host's
 * addresses, and lvsform derives the preparation from them).
 *
 * Inferred:
 * - `addresses`: the addresses of its interfaces but `lo` (no loopback, no IPv6 link-local), leaving out host
 *   addresses (/32, /128) on a device that holds nothing else and that no route leaves by: a VIP on a dummy or tunnel
 *   device;
 * - `interface`: the device whose own ARP settings are direct routing's (someone set them for it), else the device of
 *   the IPv4 default route;
 * - `nat.gateways`: the default routes' gateways (checked only for the NAT services that send to it: a NAT real
 *   server's route back must be the director's inside address).
 * Commented: the VIPs on `lo` (with the `lo:lvs` label lvsform gives them), host addresses on other devices, the ARP
 * settings in effect, the tunnel devices up, the `fou` ports, `rp_filter`, the default routes.
 */
import { LvsError } from '../model/errors.ts';
import { describeTarget, type HostTarget } from '../model/host-target.ts';
import { type LiveRealServer, type LiveRsAddress, TUNNEL_DEVICE_NAMES, TUNNEL_DEVICES, VIP_DEVICE } from '../model/real-server.ts';
import { openShDirectorHost } from '../host/sh-director-host.ts';
import type { SshSpec } from '../read/read-synth.ts';
import { comment, lit, objectText, quote, reachProps } from './generate-app.ts';

/** A real server as the import found it: the props it can infer, and what it found, in words. */
export interface ImportedRealServer {
  readonly addresses: readonly string[];
  readonly interface?: string;
  readonly gateways: readonly string[];
  /** What the host holds that lvsform prepares, one line each. */
  readonly found: readonly string[];
  /** What the import could not infer, or chose, one line each. */
  readonly notes: readonly string[];
}

function loopback(a: string): boolean {
  return a === '::1' || /^127\./.test(a);
}

function linkLocal(a: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(a);
}

function hostPrefix(a: LiveRsAddress): boolean {
  return a.prefix === (a.address.includes(':') ? 128 : 32);
}

/** What a real server's read says, as the props of a RealServerHost and comments. Pure. */
export function importedRealServer(live: LiveRealServer): ImportedRealServer {
  const found: string[] = [];
  const notes: string[] = [];
  const all = live.addresses as readonly (LiveRsAddress & { readonly label?: string })[];
  const sys = (dev: string, name: string) => live.sysctls[`net.ipv4.conf.${dev}.${name}`];
  const v4default = live.routes.find((r) => r.family === 'inet');
  // The VIPs of direct routing and tunnelling, where lvsform puts them.
  for (const a of all) {
    if (a.device !== VIP_DEVICE || loopback(a.address)) continue;
    found.push(`VIP ${a.address}/${a.prefix} on lo${a.label ? ` (label ${a.label})` : ''}: direct routing or tunnelling sends to it`);
  }
  // A device holding only host addresses that no route of the main table leaves by: a dummy or tunnel device holding
  // VIPs (a point-to-point link's /32 has a route to its peer).
  const devices = [...new Set(all.map((a) => a.device))].filter((d) => d !== VIP_DEVICE);
  const routed = new Set([...live.routes, ...(live.prefixRoutes ?? [])].flatMap((r) => (r.device ? [r.device] : [])));
  const vipDevices = new Set(
    devices.filter((d) => {
      const mine = all.filter((a) => a.device === d && !linkLocal(a.address));
      return mine.length > 0 && mine.every(hostPrefix) && !routed.has(d);
    }),
  );
  for (const a of all) {
    if (!vipDevices.has(a.device) || linkLocal(a.address)) continue;
    const tunnel = (TUNNEL_DEVICE_NAMES as readonly string[]).includes(a.device);
    found.push(
      `host address ${a.address}/${a.prefix} on ${a.device}${tunnel ? ' (a tunnel device)' : ''}: a VIP there is kept (lvsform adds a VIP on lo only when it is on no interface)`,
    );
  }
  const addresses = all
    .filter((a) => a.device !== VIP_DEVICE && !vipDevices.has(a.device) && !loopback(a.address) && !linkLocal(a.address))
    .map((a) => a.address);
  // The ARP settings of direct routing, on all and on each device that has its own.
  const ignoreAll = sys('all', 'arp_ignore');
  const announceAll = sys('all', 'arp_announce');
  if (ignoreAll !== undefined || announceAll !== undefined) found.push(`arp_ignore ${ignoreAll ?? '?'}, arp_announce ${announceAll ?? '?'} on all`);
  const arpDevices = devices.filter((d) => ['1', '2'].includes(sys(d, 'arp_ignore') ?? '0') || sys(d, 'arp_announce') === '2');
  for (const d of arpDevices) found.push(`arp_ignore ${sys(d, 'arp_ignore') ?? '?'}, arp_announce ${sys(d, 'arp_announce') ?? '?'} on ${d}`);
  const iface = arpDevices.find((d) => addresses.length === 0 || all.some((a) => a.device === d && addresses.includes(a.address))) ?? v4default?.device;
  if (iface !== undefined) {
    notes.push(
      arpDevices.includes(iface)
        ? `interface ${iface}: it has ARP settings of its own`
        : `interface ${iface}: the IPv4 default route's device (the ARP settings are set there and on all)`,
    );
  }
  for (const t of TUNNEL_DEVICE_NAMES) {
    if (!live.up.includes(t)) continue;
    const rp = sys(t, 'rp_filter');
    found.push(`tunnel ${t} up: ${TUNNEL_DEVICES[t].what}${rp === undefined ? '' : `; rp_filter ${rp}`}`);
  }
  if (live.up.some((t) => (TUNNEL_DEVICE_NAMES as readonly string[]).includes(t)) && sys('all', 'rp_filter') !== undefined) {
    found.push(`rp_filter ${sys('all', 'rp_filter')} on all (the kernel takes the larger of all and the device's)`);
  }
  for (const f of live.fou) found.push(`fou port ${f.port} gue${f.family === 'inet6' ? ' -6' : ''} (GUE tunnelling)`);
  const gateways: string[] = [];
  for (const r of live.routes) {
    found.push(`default route ${r.family === 'inet6' ? 'IPv6' : 'IPv4'} via ${r.gateway ?? '(none: on-link)'}${r.device ? ` dev ${r.device}` : ''}`);
    if (r.gateway !== undefined) gateways.push(r.gateway);
  }
  if (gateways.length > 0) {
    notes.push(`nat.gateways: the default routes' gateways; for the NAT services that send here they must be the director's inside address`);
  }
  if (addresses.length === 0) notes.push('no address of its own was found (only lo): write the addresses its pools name');
  notes.push(
    "not known here: which pool and forwarding method each VIP serves, which is the director's side (import it with --director); lvsform prepares this host for the services whose pools name its addresses",
  );
  return { addresses, ...(iface !== undefined ? { interface: iface } : {}), gateways, found, notes };
}

/** The app text: one stack holding the RealServerHost, its findings as comments. */
export function generateRealServerApp(
  r: ImportedRealServer,
  opts: { readonly stack: string; readonly name: string; readonly ssh?: SshSpec; readonly source: string; readonly importFrom?: string },
): string {
  const props: [string, string][] = [...reachProps(opts.ssh), ['addresses', `[${r.addresses.map(lit).join(', ')}]`]];
  if (r.interface !== undefined) props.push(['interface', lit(r.interface)]);
  if (r.gateways.length > 0) props.push(['nat', objectText([['gateways', `[${r.gateways.map(lit).join(', ')}]`]], '  ')]);
  const header = [
    comment(`Imported by \`lvsform import\` from ${opts.source}. Review it, then put the RealServerHost in the app that`),
    comment('declares the directors whose pools name its addresses, and run `lvsform plan`.'),
    ...(r.found.length > 0 ? [comment('Found on it:'), ...r.found.map((l) => comment(`  ${l}`))] : [comment('Found on it nothing lvsform prepares.')]),
    ...r.notes.map(comment),
  ];
  return [
    header.join('\n'),
    `import { App, LvsStack, RealServerHost } from ${quote(opts.importFrom ?? 'lvsform')};`,
    '',
    'const app = new App();',
    `const stack = new LvsStack(app, ${quote(opts.stack)});`,
    `new RealServerHost(stack, ${quote(opts.name)}, ${objectText(props, '')});`,
    '',
    'app.synth();',
    '',
  ].join('\n');
}

/** Reads a real server (one round trip, nothing changed) and writes the app. */
export async function importRealServer(
  target: HostTarget,
  opts: { readonly stack: string; readonly ssh?: SshSpec; readonly importFrom?: string },
): Promise<{ code: string; imported: ImportedRealServer }> {
  if (target.role !== 'real-server') throw new LvsError('LVS_INTERNAL', 'importRealServer needs a real-server target');
  const host = openShDirectorHost(target);
  try {
    const [{ live }] = await host.exchange([{ kind: 'real-server-read', stack: opts.stack }]);
    const imported = importedRealServer(live);
    const source = `real server ${describeTarget(target)}`;
    return {
      code: generateRealServerApp(imported, {
        stack: opts.stack,
        name: target.name,
        ...(opts.ssh ? { ssh: opts.ssh } : {}),
        source,
        ...(opts.importFrom ? { importFrom: opts.importFrom } : {}),
      }),
      imported,
    };
  } finally {
    await host.close();
  }
}
