/** The host side of `lvsform doctor`: the chunk that gathers every fact as `key=value` lines. */
import { MODULE_NAME, moduleProbe } from './capabilities.ts';

/** The chunk that gathers the facts. Module names are checked against a fixed pattern before they reach it. */
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
