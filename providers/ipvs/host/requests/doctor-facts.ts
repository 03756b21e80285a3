/**
 * `doctor-facts`: every fact `lvsform doctor` judges (ops/doctor.ts), as `key=value` lines in one section; and, for a
 * director whose app manages its settings, the settings part (ops/doctor-settings.ts): the stack's ownership record,
 * the managed settings as the director holds them (the same read as a plan's, settings-chunk.ts) and, for each VIP,
 * the first line of `ip route get` (`local …` when the director takes traffic to it).
 */
import { canonicalAddress } from '../../model/canonical.ts';
import type { LiveSettings, SettingsQuery, SettingsRecord } from '../../model/director-settings.ts';
import { LvsError } from '../../model/errors.ts';
import { parseRecord } from '../../model/record.ts';
import { MODULE_NAME } from '../capabilities.ts';
import { stackFile } from '../host-script.ts';
import { section } from '../sections.ts';
import { parseSettingsRead, settingsReadChunk } from '../settings-chunk.ts';
import { shQuote } from '../shell-quote.ts';
import { moduleProbe } from './capabilities.ts';
import { endedEarly, type RequestKind } from './kind.ts';

export interface DoctorFactsRequest {
  readonly kind: 'doctor-facts';
  /** Modules whose state to report (checked against `MODULE_NAME`; others are left out). */
  readonly modules: readonly string[];
  /** The settings part, when the app manages director settings. */
  readonly settings?: DoctorSettingsQuery;
}

export interface DoctorSettingsQuery {
  /** The stack whose ownership record says what lvsform set. */
  readonly stack: string;
  /** The settings the app manages (`settingsQueryFor(spec, undefined)`). */
  readonly query: SettingsQuery;
  /** The VIPs to route (`ip route get`), canonical addresses. */
  readonly vips: readonly string[];
}

/** What the director says of its settings. */
export interface DoctorSettingsFacts {
  /** The settings part of the stack's record: what lvsform set and owns (absent: no record, or nothing owned). */
  readonly record: SettingsRecord | undefined;
  /** The managed settings as the director holds them; `timeouts` absent when `ipvsadm -L --timeout` printed none. */
  readonly live: LiveSettings;
  /** VIP → the first line of `ip route get VIP` (`local 198.51.100.10 dev lo table local src …` when it is local). */
  readonly routes: ReadonlyMap<string, string>;
}

export interface DoctorFactsReply {
  readonly kind: 'doctor-facts';
  /** `kernel`, `ipvs_loaded`, `ipvsadm_path`, `ip_forward`, `flock`, `root`, `module_<m>`, … */
  readonly facts: ReadonlyMap<string, string>;
  /** Present when the request asked for the settings part. */
  readonly settings?: DoctorSettingsFacts;
}

/** The script's commands. Module names are checked against a fixed pattern before they reach it. */
export function doctorChunk(modules: readonly string[]): string {
  const safe = modules.filter((m) => MODULE_NAME.test(m));
  return [
    'echo "kernel=$(uname -r)"',
    'if [ -e /proc/net/ip_vs ]; then echo "ipvs_loaded=yes"; else echo "ipvs_loaded=no"; fi',
    'lvs_mods=/lib/modules/$(uname -r)',
    'if grep -qs "/ip_vs.ko" "$lvs_mods/modules.builtin"; then echo "ipvs_builtin=yes"; else echo "ipvs_builtin=no"; fi',
    'if command -v ipvsadm >/dev/null 2>&1; then echo "ipvsadm_path=$(command -v ipvsadm)"; echo "ipvsadm_version=$(ipvsadm --version 2>&1 | head -n 1)"; echo "ipvsadm_header=$(ipvsadm -L -n 2>&1 | head -n 1)"; else echo "ipvsadm_path="; fi',
    'echo "ip_forward=$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null)"',
    'echo "ipv6_forwarding=$(cat /proc/sys/net/ipv6/conf/all/forwarding 2>/dev/null)"',
    'if command -v flock >/dev/null 2>&1; then echo "flock=yes"; else echo "flock=no"; fi',
    'if command -v modprobe >/dev/null 2>&1; then echo "modprobe=yes"; else echo "modprobe=no"; fi',
    'if [ "$(id -u)" = 0 ]; then echo "root=yes"; else echo "root=no"; fi',
    // The state directory is made 0700 and never chmod-ed again: say when someone opened it to others.
    'if [ -d "$lvs_dir" ]; then echo "state_dir_mode=$(stat -c %a "$lvs_dir" 2>/dev/null)"; else echo "state_dir_mode=absent"; fi',
    ...safe.map(moduleProbe),
  ].join('\n');
}

function vipAddress(address: string): string {
  if (canonicalAddress(address) !== address) throw new LvsError('LVS_UNSAFE_VALUE', `not a canonical address: ${JSON.stringify(address)}`);
  return address;
}

/**
 * The settings part: the record, the settings read (after `doctorChunk`, whose `ipvsadm -L -n` loads ip_vs and with
 * it /proc/sys/net/ipv4/vs), and one `ip route get` per VIP, each line prefixed with the VIP.
 */
export function doctorSettingsChunk(tag: string, q: DoctorSettingsQuery): string {
  const lines = [
    section(tag, 'doctor-record'),
    `if [ -f "$lvs_dir"/${stackFile(q.stack)} ]; then cat "$lvs_dir"/${stackFile(q.stack)}; echo; else echo "@@none"; fi`,
    section(tag, 'doctor-routes'),
  ];
  for (const vip of q.vips) {
    const a = shQuote(vipAddress(vip));
    lines.push(`lvs_r=$(ip route get ${a} 2>&1 9>&- | head -n 1); printf '%s %s\\n' ${a} "$lvs_r"`);
  }
  lines.push(settingsReadChunk(tag, q.query, 'doctor-settings-'));
  return lines.join('\n');
}

/** Reads `key=value` lines (keys of lower-case letters, digits and _). */
export function parseDoctorFacts(text: string): Map<string, string> {
  const facts = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && /^[a-z0-9_]+$/.test(line.slice(0, eq))) facts.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  return facts;
}

/** Parses the settings part. A director whose ipvsadm prints no timeouts (it is missing) reads without them. */
export function parseDoctorSettings(q: DoctorSettingsQuery, sections: ReadonlyMap<string, string>, where: string): DoctorSettingsFacts | undefined {
  let live: LiveSettings | undefined;
  try {
    live = parseSettingsRead(sections, q.query, where, 'doctor-settings-');
  } catch (e) {
    if (!(e instanceof LvsError) || e.code !== 'LVS_HOST_OUTPUT') throw e;
    live = parseSettingsRead(sections, { ...q.query, timeouts: false }, where, 'doctor-settings-');
  }
  if (live === undefined) return undefined;
  const recordText = (sections.get('doctor-record') ?? '').trim();
  const record = recordText === '' || recordText === '@@none' ? undefined : parseRecord(recordText, q.stack, where);
  const routes = new Map<string, string>();
  for (const line of (sections.get('doctor-routes') ?? '').split('\n')) {
    const at = line.indexOf(' ');
    const vip = line.slice(0, at);
    if (at > 0 && q.vips.includes(vip)) routes.set(vip, line.slice(at + 1).trim());
  }
  return { record: record?.settings, live, routes };
}

export const doctorFacts: RequestKind<DoctorFactsRequest, DoctorFactsReply> = {
  script: (req, tag) =>
    [section(tag, 'facts'), doctorChunk(req.modules), ...(req.settings ? [doctorSettingsChunk(tag, req.settings)] : []), section(tag, 'end')].join('\n'),
  parse: (req, sections, ctx) => {
    if (!sections.has('end')) throw endedEarly(ctx, 'the doctor read');
    const facts = parseDoctorFacts(sections.get('facts') ?? '');
    if (!req.settings) return { kind: 'doctor-facts', facts };
    const settings = parseDoctorSettings(req.settings, sections, ctx.where);
    if (!settings) throw endedEarly(ctx, 'the doctor read of the director settings');
    return { kind: 'doctor-facts', facts, settings };
  },
};
