/**
 * `import --director`: the director settings of a live director, as the generated app's `vips`, `timeouts` and
 * `sysctls` props. Pure: from what a `settings-read` of every setting returned.
 *
 * What an operator expects of an import is the director's tuning, not a copy of the kernel: a timeout or sysctl is
 * imported only when it differs from the value a fresh boot gives it (`KERNEL_TIMEOUTS`, `IPVS_SYSCTLS[k].kernelDefault`).
 * One at the kernel's default is left unmanaged (unset means "not managed"), so the app does not claim values nobody
 * chose, and another stack may still manage them. The VIPs are lvsform's when an IPv4 VIP of the table carries the label
 * lvsform gives the addresses it adds (`<device>:lvs`): the app then places its VIPs on that device. An IPv6 address has
 * no label, so it says nothing; neither does an address someone else added, which lvsform leaves alone anyway.
 */
import {
  IPVS_SYSCTLS,
  type IpvsSysctl,
  IPVS_SYSCTL_NAMES,
  KERNEL_TIMEOUTS,
  type LiveSettings,
  type SettingsQuery,
  TIMEOUT_FIELDS,
} from '../model/director-settings.ts';
import type { Table } from '../model/model.ts';
import { settingKey } from '../model/record.ts';

/** The settings of the generated Director, in the construct library's prop names. */
export interface ImportedSettings {
  readonly vips?: { readonly interface: string };
  /** `tcp`, `tcpFin`, `udp`. */
  readonly timeouts?: Readonly<Record<string, number>>;
  /** `expireNodestConn: true`, `connReuseMode: 0`, … */
  readonly sysctls?: Readonly<Record<string, boolean | number>>;
  /** What the app's header should say (each one line). */
  readonly notes: readonly string[];
}

/** The read an import asks for: every address, the timeouts, every sysctl lvsform knows. */
export const IMPORT_SETTINGS_QUERY: SettingsQuery = { addresses: true, links: [], timeouts: true, sysctls: IPVS_SYSCTL_NAMES };

/** `expire_nodest_conn` → `expireNodestConn` (the construct library's prop). */
export function sysctlProp(key: string): string {
  return key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * The settings to write into the generated app. `others`: the sysctls and timeouts another stack's record holds on the
 * director (`sysctl <key>`, `timeout <field>`), left out with a note: a setting has one owner.
 */
export function importedSettings(live: LiveSettings, table: Table, others?: ReadonlyMap<string, string>): ImportedSettings {
  const notes: string[] = [];
  const owner = (key: string) => others?.get(key);

  const timeouts: Record<string, number> = {};
  for (const f of TIMEOUT_FIELDS) {
    const now = live.timeouts?.[f];
    if (now === undefined || now === KERNEL_TIMEOUTS[f]) continue;
    const other = owner(settingKey('timeout', f));
    if (other !== undefined) notes.push(`timeout ${f} ${now} is stack ${other}'s (its record on the director): not imported`);
    else timeouts[f === 'tcpfin' ? 'tcpFin' : f] = now;
  }

  const sysctls: Record<string, boolean | number> = {};
  for (const key of IPVS_SYSCTL_NAMES) {
    const now = live.sysctls?.[key];
    if (now === undefined || now === IPVS_SYSCTLS[key as IpvsSysctl].kernelDefault) continue;
    const other = owner(settingKey('sysctl', key));
    if (other !== undefined) {
      notes.push(`net.ipv4.vs.${key} = ${now} is stack ${other}'s (its record on the director): not imported`);
    } else if (key === 'conn_reuse_mode' && /^[0-3]$/.test(now)) sysctls[sysctlProp(key)] = Number(now);
    else if (key !== 'conn_reuse_mode' && (now === '0' || now === '1')) sysctls[sysctlProp(key)] = now === '1';
    else notes.push(`net.ipv4.vs.${key} = ${now} is not a value the Director's sysctls prop takes: not imported`);
  }

  const vips = new Set(table.services.flatMap((s) => (s.key.kind === 'addr' ? [s.key.address] : [])));
  const labelled = [...new Set((live.addresses ?? []).filter((a) => vips.has(a.address) && a.label === `${a.device}:lvs`).map((a) => a.device))].sort();
  if (labelled.length > 1) notes.push(`VIPs carry lvsform's label on ${labelled.join(', ')}: vips names the first; a Director places its VIPs on one device`);
  const device = labelled[0];
  if (device !== undefined) {
    notes.push(
      `vips: the VIPs on ${device} carry lvsform's label (${device}:lvs); if ${device} is a dummy interface lvsform created, write vips: { dummy: '${device}' } so that destroy deletes it`,
    );
  }
  const imported = [...(Object.keys(timeouts).length > 0 ? ['timeouts'] : []), ...(Object.keys(sysctls).length > 0 ? ['sysctls'] : [])];
  notes.unshift(
    `Director settings: timeouts and net.ipv4.vs sysctls are imported where they differ from the kernel's defaults (${imported.length > 0 ? `here: ${imported.join(' and ')}` : 'none here'}); those at the default are left unmanaged.`,
  );
  return {
    ...(device !== undefined ? { vips: { interface: device } } : {}),
    ...(Object.keys(timeouts).length > 0 ? { timeouts } : {}),
    ...(Object.keys(sysctls).length > 0 ? { sysctls } : {}),
    notes,
  };
}
