/** `doctor-facts`: every fact `lvsform doctor` judges (ops/doctor.ts), as `key=value` lines in one section. */
import { MODULE_NAME } from '../capabilities.ts';
import { section } from '../sections.ts';
import { moduleProbe } from './capabilities.ts';
import { endedEarly, type RequestKind } from './kind.ts';

export interface DoctorFactsRequest {
  readonly kind: 'doctor-facts';
  /** Modules whose state to report (checked against `MODULE_NAME`; others are left out). */
  readonly modules: readonly string[];
}

export interface DoctorFactsReply {
  readonly kind: 'doctor-facts';
  /** `kernel`, `ipvs_loaded`, `ipvsadm_path`, `ip_forward`, `flock`, `root`, `module_<m>`, … */
  readonly facts: ReadonlyMap<string, string>;
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

/** Reads `key=value` lines (keys of lower-case letters, digits and _). */
export function parseDoctorFacts(text: string): Map<string, string> {
  const facts = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && /^[a-z0-9_]+$/.test(line.slice(0, eq))) facts.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  return facts;
}

export const doctorFacts: RequestKind<DoctorFactsRequest, DoctorFactsReply> = {
  script: (req, tag) => [section(tag, 'facts'), doctorChunk(req.modules), section(tag, 'end')].join('\n'),
  parse: (_req, sections, ctx) => {
    if (!sections.has('end')) throw endedEarly(ctx, 'the doctor read');
    return { kind: 'doctor-facts', facts: parseDoctorFacts(sections.get('facts') ?? '') };
  },
};
