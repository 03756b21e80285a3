/**
 * The read-only way in: a fixed, root-owned script that the director set-up installs and one sudoers rule lets a plan
 * user run (`<planUser> ALL=(root) NOPASSWD: /usr/local/libexec/lvsform/read`). It does exactly the reads a plan's
 * round trip does (a shared lock, the capabilities, the live table with thresholds, the stack's record, the set-up
 * facts) and prints them in the sections the reply parsers already read, so a key that can reach only this script can
 * plan and can change nothing.
 *
 * sudo matches a rule that names a command without arguments against any arguments, so the script's own checks are
 * the guard: it takes only words of a fixed grammar, checks each against a strict pattern before anything runs,
 * refuses (exit 2, nothing read) anything else, and never evaluates an argument or uses one unquoted where the shell
 * could split or expand it. It writes nothing: the lock file is opened for reading (flock works on any descriptor),
 * and a director that has no state directory yet is read without a lock (there is nothing of lvsform's to guard).
 */
import { LvsError } from '../model/errors.ts';
import { SAFE_NAME } from '../model/limits.ts';
import {
  DEBIAN_DEFAULTS,
  DEBIAN_LAYOUT,
  FORWARDING_SYSCTLS,
  modulesFile,
  READ_SCRIPT,
  READ_SUDOERS,
  RHEL_LAYOUT,
  RHEL_SERVICE,
  sysctlFile,
} from '../model/host-setup.ts';
import { MODULE_NAME } from './capabilities.ts';
import { STATE_DIR } from './host-script.ts';
import { SECTION_MARK } from './sections.ts';

/** The most arguments the script takes (the tag, the wait and the parts): more is refused. */
export const READ_MAX_ARGS = 64;

/** One read the script can do, by the section tag suffix the answer carries. */
export type ReadPart =
  | { readonly kind: 'caps'; readonly help: boolean; readonly modules: readonly string[] }
  | { readonly kind: 'table'; readonly stack: string }
  | { readonly kind: 'facts'; readonly stack: string; readonly modules: readonly string[] }
  | { readonly kind: 'status'; readonly stack: string };

function unsafe(what: string, value: string): never {
  throw new LvsError('LVS_UNSAFE_VALUE', `the read-only script takes no ${what} ${JSON.stringify(value)}`, {
    hint: 'Stack names are letters, digits, . _ - (starting with a letter or digit); module names are ip_vs or ip_vs_<name>.',
  });
}

/**
 * The arguments for one run of the script: `TAG WAIT PART…`. Every word is checked here against the same patterns
 * the script checks, so a word that reaches the remote command line (which ssh hands to the login shell) is plain.
 */
export function readScriptArgs(tag: string, waitSeconds: number, parts: readonly ReadPart[]): string[] {
  if (!/^[0-9a-f]{16}$/.test(tag)) unsafe('tag', tag);
  const wait = Math.max(0, Math.min(3600, Math.floor(waitSeconds)));
  const args = [tag, String(wait)];
  for (const p of parts) {
    if (p.kind === 'caps') {
      args.push(p.help ? 'caps-help' : 'caps');
      for (const m of p.modules) args.push(`module=${MODULE_NAME.test(m) && m.length <= 60 ? m : unsafe('module', m)}`);
    } else if (p.kind === 'table') {
      args.push(`table=${SAFE_NAME.test(p.stack) ? p.stack : unsafe('stack name', p.stack)}`);
    } else if (p.kind === 'status') {
      args.push(`status=${SAFE_NAME.test(p.stack) ? p.stack : unsafe('stack name', p.stack)}`);
    } else {
      args.push(`facts=${SAFE_NAME.test(p.stack) ? p.stack : unsafe('stack name', p.stack)}`);
      for (const m of p.modules) args.push(`loaded=${MODULE_NAME.test(m) && m.length <= 60 ? m : unsafe('module', m)}`);
    }
  }
  if (args.length > READ_MAX_ARGS) {
    throw new LvsError('LVS_UNSAFE_VALUE', `the read-only script takes at most ${READ_MAX_ARGS} arguments; this read needs ${args.length}`);
  }
  return args;
}

/**
 * The files the facts part reads, in order: the same list `factsQuery` asks for (the stack's modules and sysctl
 * files, both distributions' rules files, Debian's defaults), then the script and its sudoers file.
 */
export function readFactsFiles(stack: string): string[] {
  return [modulesFile(stack), sysctlFile(stack), DEBIAN_LAYOUT.rulesFile, RHEL_LAYOUT.rulesFile, DEBIAN_DEFAULTS, READ_SCRIPT, READ_SUDOERS];
}

/**
 * The script's text. A fixed program: nothing in it depends on the app, so every director runs the same bytes, and
 * the set-up replaces it only when lvsform's own reads change.
 */
export function readScriptText(): string {
  const files = readFactsFiles('"$lvs_facts"').map((f) => f.replace(/"\$lvs_facts"/, '$lvs_facts'));
  return `#!/bin/sh
# Written by lvsform. Read-only: prints the director's IPVS table, capabilities, set-up facts and a stack's
# ownership record for \`lvsform plan --read-only\`, and changes nothing. Run as root through the one sudoers rule
# in ${READ_SUDOERS}. sudo lets the rule's user pass any arguments, so every argument is checked here against a
# fixed pattern before anything is read, and none is evaluated.
#   usage: read TAG WAIT [caps|caps-help] [module=ip_vs_X]... [table=STACK] [facts=STACK] [loaded=ip_vs_X]...
#               [status=STACK]
LC_ALL=C; export LC_ALL
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
umask 077
lvs_dir=${STATE_DIR}

lvs_refuse() { printf 'lvsform-read: refused: %s\\n' "$1" >&2; exit 2; }
# A stack name: letters, digits, . _ - ; starting with a letter or digit; up to 63 characters.
lvs_stack_ok() {
  case $1 in '' | [!A-Za-z0-9]* | *[!A-Za-z0-9_.-]*) return 1 ;; esac
  [ \${#1} -le 63 ]
}
# A module name: ip_vs, or ip_vs_ followed by lower-case letters, digits and _; up to 60 characters.
lvs_module_ok() {
  case $1 in ip_vs) return 0 ;; ip_vs_*) ;; *) return 1 ;; esac
  case \${1#ip_vs_} in '' | *[!a-z0-9_]*) return 1 ;; esac
  [ \${#1} -le 60 ]
}

[ $# -ge 2 ] || lvs_refuse 'usage: read TAG WAIT [PART]...'
[ $# -le ${READ_MAX_ARGS} ] || lvs_refuse 'too many arguments'
lvs_tag=$1
lvs_wait=$2
shift 2
case $lvs_tag in *[!0-9a-f]* | '') lvs_refuse 'the tag is 16 hex digits' ;; esac
[ \${#lvs_tag} -eq 16 ] || lvs_refuse 'the tag is 16 hex digits'
case $lvs_wait in *[!0-9]* | '') lvs_refuse 'the wait is a number of seconds' ;; esac
[ \${#lvs_wait} -le 4 ] || lvs_refuse 'the wait is at most 9999 seconds'

lvs_caps=''
lvs_modules=''
lvs_table=''
lvs_facts=''
lvs_loaded=''
lvs_status=''
for lvs_a in "$@"; do
  case $lvs_a in
    caps) lvs_caps=plain ;;
    caps-help) lvs_caps=help ;;
    module=*)
      lvs_v=\${lvs_a#module=}
      lvs_module_ok "$lvs_v" || lvs_refuse 'a module is ip_vs or ip_vs_<name>'
      lvs_modules="$lvs_modules $lvs_v" ;;
    loaded=*)
      lvs_v=\${lvs_a#loaded=}
      lvs_module_ok "$lvs_v" || lvs_refuse 'a module is ip_vs or ip_vs_<name>'
      lvs_loaded="$lvs_loaded $lvs_v" ;;
    table=*)
      lvs_v=\${lvs_a#table=}
      lvs_stack_ok "$lvs_v" || lvs_refuse 'a stack name is letters, digits, . _ -'
      lvs_table=$lvs_v ;;
    facts=*)
      lvs_v=\${lvs_a#facts=}
      lvs_stack_ok "$lvs_v" || lvs_refuse 'a stack name is letters, digits, . _ -'
      lvs_facts=$lvs_v ;;
    status=*)
      lvs_v=\${lvs_a#status=}
      lvs_stack_ok "$lvs_v" || lvs_refuse 'a stack name is letters, digits, . _ -'
      lvs_status=$lvs_v ;;
    *) lvs_refuse 'unknown argument' ;;
  esac
done

lvs_sec() { printf '${SECTION_MARK} %s-%s %s\\n' "$lvs_tag" "$1" "$2"; }

# The shared lock, as a plan takes it: an apply holding it exclusively makes this wait (WAIT seconds) or say busy.
# A status read alone takes none (as \`lvsform status\` does not): it watches counters during an apply.
if [ -z "$lvs_caps$lvs_table$lvs_facts" ]; then
  echo '@@lock ok'
elif [ -f "$lvs_dir/lock" ]; then
  if ! command -v flock >/dev/null 2>&1; then echo '@@lock noflock'; exit 0; fi
  exec 9<"$lvs_dir/lock" || exit 1
  if flock -s -w "$lvs_wait" 9; then echo '@@lock ok'; else
    echo '@@lock busy'; cat "$lvs_dir/lock.holder" 2>/dev/null; exit 0
  fi
else
  echo '@@lock ok'
fi

if [ -n "$lvs_caps" ]; then
  lvs_rel=''; read -r lvs_rel < /proc/sys/kernel/osrelease 2>/dev/null || lvs_rel=$(uname -r)
  lvs_sec caps kernel
  printf '%s\\n' "$lvs_rel"
  lvs_sec caps help
  if [ "$lvs_caps" = plain ]; then echo '@@skipped'
  elif command -v ipvsadm >/dev/null 2>&1; then ipvsadm -h 2>&1 9>&-
  else echo '@@missing ipvsadm'; fi
  lvs_sec caps modules
  lvs_mods=/lib/modules/$lvs_rel
  for lvs_m in $lvs_modules; do
    if [ -d "/sys/module/$lvs_m" ]; then echo "module_$lvs_m=loaded"
    elif grep -qs "/$lvs_m.ko" "$lvs_mods/modules.builtin"; then echo "module_$lvs_m=builtin"
    elif lvs_out=$(modprobe -n -v "$lvs_m" 2>/dev/null); then
      lvs_st=available
      for lvs_ko in $(printf '%s\\n' "$lvs_out" | awk '$1 == "insmod" { print $2 }'); do [ -s "$lvs_ko" ] || lvs_st=unreadable; done
      case "$lvs_out" in *"install /bin/false"* | *"install /bin/true"* | *"install /usr/bin/false"* | *"install /usr/bin/true"*) lvs_st=disabled ;; esac
      echo "module_$lvs_m=$lvs_st"
    else echo "module_$lvs_m=missing"; fi
  done
  lvs_sec caps end
fi

if [ -n "$lvs_facts" ]; then
  lvs_sec facts os-release
  cat /etc/os-release 2>/dev/null
  lvs_sec facts commands
  for lvs_c in apt-get dnf yum systemctl ipvsadm; do command -v "$lvs_c" >/dev/null 2>&1 && echo "$lvs_c"; done
  lvs_sec facts modules
  for lvs_m in $lvs_loaded; do [ -d "/sys/module/$lvs_m" ] && echo "$lvs_m"; done
  lvs_sec facts sysctls
  for lvs_k in ${FORWARDING_SYSCTLS.inet} ${FORWARDING_SYSCTLS.inet6}; do
    lvs_p=/proc/sys/$(printf '%s' "$lvs_k" | tr . /)
    if [ -r "$lvs_p" ]; then printf '%s=%s\\n' "$lvs_k" "$(cat "$lvs_p")"; fi
  done
  lvs_sec facts service
  if command -v systemctl >/dev/null 2>&1; then systemctl is-enabled ${RHEL_SERVICE} 2>/dev/null || true; else echo '@@none'; fi
  lvs_i=0
  for lvs_f in ${files.map((f) => `"${f}"`).join(' ')}; do
    lvs_sec facts "file $lvs_i"
    if [ -f "$lvs_f" ]; then echo '@@present'; cat "$lvs_f"; printf '\\n@@eof\\n'; else echo '@@absent'; fi
    lvs_i=$((lvs_i + 1))
  done
  lvs_sec facts end
fi

if [ -n "$lvs_table" ]; then
  lvs_sec table ipvsadm-version
  command -v ipvsadm >/dev/null 2>&1 || echo '@@missing ipvsadm'
  lvs_sec table save
  ipvsadm -S -n 2>&1 9>&-; lvs_rc=$?
  lvs_sec table save-status
  echo "$lvs_rc"
  lvs_sec table thresholds
  ipvsadm -L -n --thresholds 2>&1 9>&-
  lvs_sec table record
  if [ -f "$lvs_dir/$lvs_table.json" ]; then cat "$lvs_dir/$lvs_table.json"; echo; else echo '@@none'; fi
  lvs_sec table end
fi

if [ -n "$lvs_status" ]; then
  lvs_sec status save
  ipvsadm -S -n 2>&1 9>&-; lvs_rc=$?
  lvs_sec status save-status
  echo "$lvs_rc"
  lvs_sec status list
  ipvsadm -L -n 2>&1 9>&-
  lvs_sec status stats
  ipvsadm -L -n --stats --exact 2>&1 9>&-
  lvs_sec status rate
  ipvsadm -L -n --rate 2>&1 9>&-
  lvs_sec status record
  if [ -f "$lvs_dir/$lvs_status.json" ]; then cat "$lvs_dir/$lvs_status.json"; else echo '@@none'; fi
  lvs_sec status end
fi
exit 0
`;
}
