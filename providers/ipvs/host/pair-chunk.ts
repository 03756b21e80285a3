/**
 * A pair member's settings on the host (model/director-pair.ts): the `sh` that reads the sync daemons and lvsform's
 * keepalived file, the `sh` that changes them, and the parsers of what they print. Pure functions; settings-chunk.ts
 * puts them in the settings read and apply, so they ride in the plan's and the batch's round trips.
 *
 * keepalived is reloaded only when its file changed: through its unit when it is active (`systemctl reload`), else
 * with SIGHUP to the process of /run/keepalived.pid (keepalived started by hand or by another init), else started
 * (`systemctl enable --now keepalived`) when lvsform wrote a file for it. A new file is checked with
 * `keepalived -t -f` before it replaces the old one: a file keepalived refuses never reaches it.
 */
import { LvsError } from '../model/errors.ts';
import {
  KEEPALIVED_INCLUDE,
  KEEPALIVED_MAIN,
  KEEPALIVED_MARK,
  type KeepalivedMain,
  type LiveKeepalived,
  type SyncDaemon,
  SYNC_ROLES,
} from '../model/director-pair.ts';
import type { SettingChange } from '../model/director-settings.ts';
import { section } from './sections.ts';
import { hereDoc, shQuote } from './shell-quote.ts';

const KEEPALIVED_FILE = /^\/etc\/keepalived\/lvsform-[A-Za-z0-9_.-]{1,64}\.conf$/;

function keepalivedFile(path: string): string {
  if (!KEEPALIVED_FILE.test(path)) throw new LvsError('LVS_UNSAFE_VALUE', `not a keepalived file of lvsform's: ${JSON.stringify(path)}`);
  return path;
}

const RUNNING =
  'systemctl is-active --quiet keepalived 2>/dev/null 9>&- || { [ -r /run/keepalived.pid ] && read -r lvs_p < /run/keepalived.pid && kill -0 "$lvs_p" 2>/dev/null; }';

/** The read of the sync daemons (section `<prefix>daemons`). */
export function daemonsReadLines(tag: string, prefix: string): string[] {
  return [section(tag, `${prefix}daemons`), 'ipvsadm -L --daemon 2>&1 9>&-'];
}

/** The read of lvsform's keepalived file at `path`, the main file and keepalived's state (section `<prefix>keepalived`). */
export function keepalivedReadLines(tag: string, prefix: string, path: string): string[] {
  const f = shQuote(keepalivedFile(path));
  const main = shQuote(KEEPALIVED_MAIN);
  return [
    section(tag, `${prefix}keepalived`),
    `if [ -f ${f} ]; then sha256sum < ${f} 9>&- | { read -r lvs_h lvs_x; echo "digest=$lvs_h"; }; fi`,
    `if [ -f ${main} ]; then lvs_l=; read -r lvs_l < ${main}`,
    `  if [ "$lvs_l" = ${shQuote(KEEPALIVED_MARK)} ]; then echo main=lvsform`,
    `  elif grep -qE '^[[:space:]]*include[[:space:]].*lvsform-' ${main} 9>&-; then echo main=includes; else echo main=foreign; fi`,
    'else echo main=absent; fi',
    `lvs_n=0; for lvs_f in /etc/keepalived/lvsform-*.conf; do [ -f "$lvs_f" ] && [ "$lvs_f" != ${f} ] && lvs_n=$((lvs_n + 1)); done; echo "others=$lvs_n"`,
    'if command -v keepalived >/dev/null 2>&1; then echo installed=yes; else echo installed=no; fi',
    `if ${RUNNING}; then echo running=yes; else echo running=no; fi`,
  ];
}

/** One line of `ipvsadm -L --daemon`: `master sync daemon (mcast=eth1, syncid=51, maxlen=1472, group=…)`. */
const DAEMON_LINE = /^(master|backup) sync daemon \(mcast=([^,)\s]+), syncid=(\d+)/;

export function parseDaemons(text: string): SyncDaemon[] {
  const out: SyncDaemon[] = [];
  for (const line of text.split('\n')) {
    const m = DAEMON_LINE.exec(line.trim());
    if (m && (SYNC_ROLES as readonly string[]).includes(m[1]!)) out.push({ role: m[1] as SyncDaemon['role'], interface: m[2]!, syncId: Number(m[3]) });
  }
  return out;
}

export function parseKeepalived(text: string): LiveKeepalived {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) fields.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  const main = fields.get('main');
  const digest = fields.get('digest');
  return {
    ...(digest && /^[0-9a-f]{64}$/.test(digest) ? { digest } : {}),
    main: main === 'lvsform' || main === 'includes' || main === 'absent' ? (main as KeepalivedMain) : 'foreign',
    others: Number(fields.get('others') ?? '0') || 0,
    installed: fields.get('installed') === 'yes',
    running: fields.get('running') === 'yes',
  };
}

function iface(name: string): string {
  if (!/^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new LvsError('LVS_UNSAFE_VALUE', `not an interface name: ${JSON.stringify(name)}`);
  return name;
}

/** The lines that carry out a daemon or keepalived change; other changes are settings-chunk.ts's. */
export function pairApplyLines(c: SettingChange): string[] {
  if (c.kind === 'daemon') {
    const fail = `|| echo ${shQuote(`@@settings fail ${c.role} sync daemon`)}`;
    if (c.action === 'delete') return [`ipvsadm --stop-daemon ${shQuote(c.role)} 2>&1 9>&- ${fail}`];
    if (!Number.isInteger(c.syncId) || c.syncId < 0 || c.syncId > 255) throw new LvsError('LVS_UNSAFE_VALUE', `not a sync id: ${c.syncId}`);
    return [`ipvsadm --start-daemon ${shQuote(c.role)} --mcast-interface ${shQuote(iface(c.interface))} --syncid ${shQuote(c.syncId)} 2>&1 9>&- ${fail}`];
  }
  if (c.kind !== 'keepalived') return [];
  const f = shQuote(keepalivedFile(c.path));
  const main = shQuote(KEEPALIVED_MAIN);
  const reload = [
    "if systemctl is-active --quiet keepalived 2>/dev/null 9>&-; then systemctl reload keepalived 2>&1 9>&- || echo '@@settings fail keepalived reload'",
    'elif [ -r /run/keepalived.pid ] && read -r lvs_p < /run/keepalived.pid && kill -0 "$lvs_p" 2>/dev/null; then kill -HUP "$lvs_p" || echo \'@@settings fail keepalived reload\'',
  ];
  if (c.action === 'delete') {
    return [
      `rm -f ${f} || echo '@@settings fail keepalived file'`,
      ...reload,
      'fi',
      ...(c.main === 'delete' ? [`lvs_l=; [ -f ${main} ] && read -r lvs_l < ${main}; [ "$lvs_l" = ${shQuote(KEEPALIVED_MARK)} ] && rm -f ${main}`] : []),
    ];
  }
  const next = shQuote(`${c.path}.lvsform-new`);
  return [
    'mkdir -p /etc/keepalived',
    `(umask 077; cat > ${next} ${hereDoc(c.content ?? '')}`,
    `) || echo '@@settings fail keepalived file'`,
    `if command -v keepalived >/dev/null 2>&1 && ! lvs_o=$(keepalived -t -f ${next} 2>&1 9>&-); then`,
    `  printf '%s\\n' "$lvs_o"; rm -f ${next}; echo '@@settings fail keepalived -t refused the file'`,
    `elif mv -f ${next} ${f}; then`,
    ...(c.main === 'write'
      ? [`  [ -e ${main} ] || printf '%s\\n' ${shQuote(KEEPALIVED_MARK)} ${shQuote(KEEPALIVED_INCLUDE)} > ${main} || echo '@@settings fail keepalived.conf'`]
      : []),
    ...reload.map((l) => `  ${l}`),
    "  elif command -v systemctl >/dev/null 2>&1; then systemctl enable --now keepalived 2>&1 9>&- || echo '@@settings fail keepalived start'",
    "  else echo '@@settings fail keepalived is not running, and there is no systemctl to start it'",
    '  fi',
    "else echo '@@settings fail keepalived file'",
    'fi',
  ];
}

/** What a read-back shows not done of a daemon or keepalived change (undefined: not such a change). */
export function pairUnfinished(
  c: SettingChange,
  daemons: readonly SyncDaemon[] | undefined,
  k: LiveKeepalived | undefined,
  digest: string | undefined,
): string | undefined {
  if (c.kind === 'daemon') {
    const running = (daemons ?? []).some((d) => d.role === c.role && d.interface === c.interface && d.syncId === c.syncId);
    if (c.action === 'create' && !running) return `the ${c.role} sync daemon (mcast=${c.interface}, syncid=${c.syncId}) is not running`;
    if (c.action === 'delete' && running) return `the ${c.role} sync daemon (mcast=${c.interface}, syncid=${c.syncId}) still runs`;
    return '';
  }
  if (c.kind !== 'keepalived') return undefined;
  if (c.action === 'delete') return k?.digest !== undefined ? `${c.path} was not removed` : '';
  if (k?.digest !== digest) return `${c.path} does not hold what lvsform wrote`;
  if (!k?.running) return 'keepalived is not running';
  return '';
}
