/**
 * The one model of an IPVS table.
 *
 * Identity (protocol + address + port, or firewall mark + family) is kept apart from configuration (scheduler,
 * flags, persistence) and from destinations. Observed counters never live here: see `Counters`.
 *
 * Every producer (synthesized JSON, `ipvsadm -S -n`, an ipvsadm-save file, a keepalived configuration) yields this
 * model in canonical form, so two tables are equal exactly when `tableEquals` says so:
 * - addresses are canonical text: IPv4 dotted decimal, IPv6 in RFC 5952 form (lower case, longest zero run
 *   compressed), as `inet_ntop` prints them;
 * - services and destinations are sorted by their identity strings;
 * - every default is explicit (weight 1, thresholds 0, persistence netmask 255.255.255.255 or 128).
 */

export type Protocol = 'tcp' | 'udp' | 'sctp';
export type Family = 'inet' | 'inet6';

/**
 * Scheduler flags as the kernel stores them: three bits, named after the scheduler that reads them
 * (`sh-fallback` = `mh-fallback` = flag-1, `sh-port` = `mh-port` = flag-2, flag-3 unused by 6.1 schedulers).
 */
export type SchedFlag = 'flag-1' | 'flag-2' | 'flag-3';

export type ServiceKey =
  | { readonly kind: 'addr'; readonly protocol: Protocol; readonly address: string; readonly port: number }
  | { readonly kind: 'fwmark'; readonly mark: number; readonly family: Family };

export interface Persistence {
  /** Seconds. ipvsadm's bare `-p` means 360. */
  readonly timeout: number;
  /** IPv4: dotted mask (`255.255.255.255` by default). IPv6: prefix length as decimal text (`128` by default). */
  readonly netmask: string;
}

export interface ServiceConfig {
  readonly scheduler: string;
  /** Sorted, without duplicates. */
  readonly schedFlags: readonly SchedFlag[];
  /** Absent when the service is not persistent. */
  readonly persistence?: Persistence;
  /** Persistence engine (`sip`); absent when none. */
  readonly persistenceEngine?: string;
  /** One-packet scheduling (`-o`, UDP only). */
  readonly onePacket: boolean;
}

export type TunnelType = 'ipip' | 'gue' | 'gre';
export type TunnelChecksum = 'nocsum' | 'csum' | 'remcsum';

export type Forwarding =
  | { readonly method: 'masq' }
  | { readonly method: 'droute' }
  | {
      readonly method: 'tunnel';
      readonly type: TunnelType;
      /** GUE only: the UDP port of the decapsulating real server. */
      readonly port?: number;
      /** GUE and GRE only; `nocsum` by default. */
      readonly checksum?: TunnelChecksum;
    };

export interface Destination {
  readonly address: string;
  /** Under direct routing and tunnelling the kernel uses the service port; fwmark services use 0 or any port. */
  readonly port: number;
  readonly forwarding: Forwarding;
  readonly weight: number;
  /** 0 = no limit. */
  readonly upperThreshold: number;
  /** 0 = no limit. */
  readonly lowerThreshold: number;
}

export interface Service {
  readonly key: ServiceKey;
  readonly config: ServiceConfig;
  /** Sorted by `destinationId`. */
  readonly destinations: readonly Destination[];
}

export interface Table {
  /** Sorted by `serviceId`. */
  readonly services: readonly Service[];
}

/** Observed counters, keyed by `serviceId` and `serviceId + ' -> ' + destinationId`. */
export interface Counters {
  readonly activeConns: number;
  readonly inactiveConns: number;
  readonly conns?: number;
  readonly inPackets?: number;
  readonly outPackets?: number;
  readonly inBytes?: number;
  readonly outBytes?: number;
}

export function familyOf(address: string): Family {
  return address.includes(':') ? 'inet6' : 'inet';
}

export function serviceFamily(key: ServiceKey): Family {
  return key.kind === 'fwmark' ? key.family : familyOf(key.address);
}

export function hostPort(address: string, port: number): string {
  return familyOf(address) === 'inet6' ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The identity of a service as one string: `tcp 198.51.100.10:80`, `udp [2001:db8::10]:53`, `fwmark 1 inet6`. */
export function serviceId(key: ServiceKey): string {
  return key.kind === 'fwmark' ? `fwmark ${key.mark} ${key.family}` : `${key.protocol} ${hostPort(key.address, key.port)}`;
}

/** The identity of a destination within its service: `192.0.2.11:80`, `[2001:db8::11]:80`. */
export function destinationId(d: Pick<Destination, 'address' | 'port'>): string {
  return hostPort(d.address, d.port);
}

export function defaultNetmask(family: Family): string {
  return family === 'inet6' ? '128' : '255.255.255.255';
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Returns a table in canonical order: services and destinations sorted by identity, scheduler flags sorted without
 * repeats. A table already in that order (every read, and every table this returned) is returned as it is: models are
 * never changed in place, and a read of 10,000 services is normalized several times on its way to a plan.
 */
export function normalizeTable(table: Table): Table {
  if (isNormalized(table)) return table;
  const services = table.services.map((s) => ({
    id: serviceId(s.key),
    service: {
      ...s,
      config: { ...s.config, schedFlags: [...new Set(s.config.schedFlags)].sort() },
      destinations: s.destinations
        .map((d) => ({ id: destinationId(d), d }))
        .sort((a, b) => compareText(a.id, b.id))
        .map(({ d }) => d),
    },
  }));
  return { services: services.sort((a, b) => compareText(a.id, b.id)).map(({ service }) => service) };
}

/** Whether sorting would leave the table as it is (equal identities may stand in either order: sort is stable). */
function isNormalized(table: Table): boolean {
  let last = '';
  for (const s of table.services) {
    const id = serviceId(s.key);
    if (compareText(last, id) > 0) return false;
    last = id;
    const flags = s.config.schedFlags;
    for (let i = 1; i < flags.length; i++) if (compareText(flags[i - 1]!, flags[i]!) >= 0) return false;
    let lastDest = '';
    for (const d of s.destinations) {
      const did = destinationId(d);
      if (compareText(lastDest, did) > 0) return false;
      lastDest = did;
    }
  }
  return true;
}

export function forwardingEquals(a: Forwarding, b: Forwarding): boolean {
  if (a.method !== b.method) return false;
  if (a.method !== 'tunnel' || b.method !== 'tunnel') return true;
  return a.type === b.type && (a.port ?? 0) === (b.port ?? 0) && (a.checksum ?? 'nocsum') === (b.checksum ?? 'nocsum');
}

export function destinationEquals(a: Destination, b: Destination): boolean {
  return (
    a.address === b.address &&
    a.port === b.port &&
    forwardingEquals(a.forwarding, b.forwarding) &&
    a.weight === b.weight &&
    a.upperThreshold === b.upperThreshold &&
    a.lowerThreshold === b.lowerThreshold
  );
}

export function configEquals(a: ServiceConfig, b: ServiceConfig): boolean {
  return (
    a.scheduler === b.scheduler &&
    a.schedFlags.join(',') === b.schedFlags.join(',') &&
    (a.persistence?.timeout ?? -1) === (b.persistence?.timeout ?? -1) &&
    (a.persistence?.netmask ?? '') === (b.persistence?.netmask ?? '') &&
    (a.persistenceEngine ?? '') === (b.persistenceEngine ?? '') &&
    a.onePacket === b.onePacket
  );
}

export function serviceEquals(a: Service, b: Service): boolean {
  return (
    serviceId(a.key) === serviceId(b.key) &&
    configEquals(a.config, b.config) &&
    a.destinations.length === b.destinations.length &&
    a.destinations.every((d, i) => destinationEquals(d, b.destinations[i]!))
  );
}

/** True when two canonical tables hold the same services, configuration and destinations. */
export function tableEquals(a: Table, b: Table): boolean {
  return a.services.length === b.services.length && a.services.every((s, i) => serviceEquals(s, b.services[i]!));
}
