/**
 * Lines for `ipvsadm -R`, one command each, in the spelling `ipvsadm -S -n` uses (so a rendered table reads like a
 * saved one). Every add and edit line carries the whole configuration: ipvsadm 1.31 resets whatever an `-E`/`-e` line
 * leaves out (an `-E` without `-s` sets wlc; an `-e` without `-m`/`-i`, `-w`, `-x`, `-y` sets direct routing, weight 1
 * and thresholds 0), as measured on the 6.1 kernel. `ipvsadm -R` accepts neither comments nor blank lines.
 * The model's own serialisation (read/parse-save.ts reads it back), so the plan's batch and the fast path's keys are
 * rendered without reaching past the model.
 */
import {
  type Destination,
  type SchedFlag,
  type Service,
  type ServiceConfig,
  type ServiceKey,
  type Table,
  defaultNetmask,
  hostPort,
  serviceFamily,
} from './model.ts';

/** `-t 198.51.100.10:80`, `-u [2001:db8::10]:53`, `--sctp-service 198.51.100.15:3868`, `-f 1`, `-f 2 -6`. */
export function renderServiceKey(key: ServiceKey): string {
  if (key.kind === 'fwmark') return key.family === 'inet6' ? `-f ${key.mark} -6` : `-f ${key.mark}`;
  const flag = key.protocol === 'tcp' ? '-t' : key.protocol === 'udp' ? '-u' : '--sctp-service';
  return `${flag} ${hostPort(key.address, key.port)}`;
}

/** A scheduler flag by the name ipvsadm gives it for that scheduler (`sh-port` for sh's flag-2), as `ipvsadm -S` prints it. */
export function flagName(scheduler: string, flag: SchedFlag): string {
  if (scheduler === 'sh' || scheduler === 'mh') {
    if (flag === 'flag-1') return `${scheduler}-fallback`;
    if (flag === 'flag-2') return `${scheduler}-port`;
  }
  return flag;
}

function renderConfig(key: ServiceKey, config: ServiceConfig): string {
  let out = ` -s ${config.scheduler}`;
  if (config.persistence !== undefined) {
    out += ` -p ${config.persistence.timeout}`;
    if (config.persistence.netmask !== defaultNetmask(serviceFamily(key))) out += ` -M ${config.persistence.netmask}`;
  }
  if (config.persistenceEngine !== undefined) out += ` --pe ${config.persistenceEngine}`;
  if (config.onePacket) out += ' -o';
  if (config.schedFlags.length > 0) out += ` -b ${config.schedFlags.map((f) => flagName(config.scheduler, f)).join(',')}`;
  return out;
}

function renderDest(d: Destination): string {
  const f = d.forwarding;
  let out = ` -r ${hostPort(d.address, d.port)} ${f.method === 'masq' ? '-m' : f.method === 'droute' ? '-g' : '-i'} -w ${d.weight}`;
  if (f.method === 'tunnel') {
    out += ` --tun-type ${f.type}`;
    if (f.type === 'gue') out += ` --tun-port ${f.port ?? 0}`;
    if (f.type !== 'ipip') out += ` --tun-${f.checksum ?? 'nocsum'}`;
  }
  if (d.upperThreshold !== 0 || d.lowerThreshold !== 0) out += ` -x ${d.upperThreshold} -y ${d.lowerThreshold}`;
  return out;
}

export function renderAddService(svc: Pick<Service, 'key' | 'config'>): string {
  return `-A ${renderServiceKey(svc.key)}${renderConfig(svc.key, svc.config)}`;
}

/** `-E` with the whole configuration (what it leaves out, ipvsadm resets). */
export function renderEditService(svc: Pick<Service, 'key' | 'config'>): string {
  return `-E ${renderServiceKey(svc.key)}${renderConfig(svc.key, svc.config)}`;
}

export function renderDeleteService(key: ServiceKey): string {
  return `-D ${renderServiceKey(key)}`;
}

export function renderAddDestination(key: ServiceKey, dest: Destination): string {
  return `-a ${renderServiceKey(key)}${renderDest(dest)}`;
}

/** `-e` with every attribute (what it leaves out, ipvsadm resets). */
export function renderEditDestination(key: ServiceKey, dest: Destination): string {
  return `-e ${renderServiceKey(key)}${renderDest(dest)}`;
}

export function renderDeleteDestination(key: ServiceKey, dest: Pick<Destination, 'address' | 'port'>): string {
  return `-d ${renderServiceKey(key)} -r ${hostPort(dest.address, dest.port)}`;
}

/** A whole table as `ipvsadm -R` lines: each service followed by its real servers; ends with a newline. */
export function renderTable(table: Table): string {
  const lines: string[] = [];
  for (const svc of table.services) {
    lines.push(renderAddService(svc));
    for (const d of svc.destinations) lines.push(renderAddDestination(svc.key, d));
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
