/**
 * Plans a pair member's two settings (model/director-pair.ts): the connection sync daemons and lvsform's keepalived
 * file. Pure; called by planSettings (settings.ts) with its input.
 *
 * Ownership as for the other settings: a daemon lvsform started is recorded and stopped when the app stops asking for
 * it (or on destroy); a daemon already running with what the app asks is left running and never stopped; one running
 * with another interface or sync id that lvsform did not start (keepalived's `lvs_sync_daemon`, the ipvsadm boot
 * service's `DAEMON=`) is refused, since a kernel runs one daemon per role. The keepalived file is lvsform's own
 * (recorded with the digest of what it wrote: a file that differs was changed by hand, and is written again), and so
 * is keepalived.conf when lvsform wrote it because there was none.
 */
import { LvsError } from '../model/errors.ts';
import {
  daemonText,
  KEEPALIVED_INCLUDE,
  KEEPALIVED_MAIN,
  keepalivedDigest,
  keepalivedPath,
  type KeepalivedRecord,
  sameDaemon,
  SYNC_ROLES,
  type SyncDaemon,
  syncDaemonsOf,
} from '../model/director-pair.ts';
import type { SettingChange } from '../model/director-settings.ts';
import { keepalivedContent } from './keepalived-conf.ts';
import type { SettingsPlanInput } from './settings.ts';

function pairError(where: string, message: string, hint: string): LvsError {
  return new LvsError('LVS_DIRECTOR_SETTING', `director ${where}: ${message}; nothing was changed`, { hint });
}

/** The sync daemons' changes (stops before starts) and the daemons owned afterwards. */
export function planDaemons(input: SettingsPlanInput, changes: SettingChange[], drift: string[]): SyncDaemon[] | undefined {
  const { live, record } = input;
  const wanted = syncDaemonsOf(input.spec?.syncDaemon);
  const recorded = record?.daemons ?? [];
  if (wanted.length === 0 && recorded.length === 0) return undefined;
  if (live.daemons === undefined) return recorded.length > 0 ? [...recorded] : undefined;
  const owned: SyncDaemon[] = [];
  const stops: SettingChange[] = [];
  const starts: SettingChange[] = [];
  for (const role of SYNC_ROLES) {
    const want = wanted.find((d) => d.role === role);
    const now = live.daemons.find((d) => d.role === role);
    const mine = recorded.find((d) => d.role === role);
    const nowMine = now !== undefined && mine !== undefined && sameDaemon(now, mine);
    if (want === undefined) {
      if (nowMine) stops.push({ kind: 'daemon', action: 'delete', ...now });
      continue;
    }
    if (now !== undefined && sameDaemon(now, want)) {
      if (nowMine) owned.push(want);
      continue;
    }
    if (now !== undefined && !nowMine) {
      throw pairError(
        input.where,
        `a ${daemonText(now)} runs that lvsform did not start, and the app asks for a ${daemonText(want)} (a kernel runs one daemon per role)`,
        `Stop it on the director (\`ipvsadm --stop-daemon ${role}\`; keepalived's lvs_sync_daemon or the ipvsadm service's DAEMON= may have started it), or ask for its interface and sync id.`,
      );
    }
    if (now !== undefined) stops.push({ kind: 'daemon', action: 'delete', ...now });
    else if (mine !== undefined) drift.push(`${daemonText(mine)} (stopped outside lvsform)`);
    starts.push({ kind: 'daemon', action: 'create', ...want });
    owned.push(want);
  }
  changes.push(...stops, ...starts);
  return owned.length > 0 ? owned : undefined;
}

/** The keepalived file's change, and the record of it afterwards. */
export function planKeepalived(input: SettingsPlanInput, changes: SettingChange[], drift: string[], notes: string[]): KeepalivedRecord | undefined {
  const { live, record } = input;
  const want = input.spec?.vrrp;
  const mine = record?.keepalived;
  const k = live.keepalived;
  if (want === undefined && mine === undefined) return undefined;
  if (k === undefined) return mine;
  if (want === undefined) {
    // Destroy, or the app no longer asks: remove lvsform's file, and its main file once no lvsform file is left and
    // keepalived does not run (a running keepalived reads it again at the reload that lets the VIPs go).
    const lastFile = mine!.main && k.main === 'lvsform' && k.others === 0;
    const main = lastFile && !k.running ? 'delete' : undefined;
    if (lastFile && k.running) notes.push(`${KEEPALIVED_MAIN} (lvsform's, one include line) is left while keepalived runs: it reads it at every reload`);
    if (k.digest !== undefined || main) changes.push({ kind: 'keepalived', action: 'delete', path: mine!.path, ...(main ? { main } : {}) });
    return undefined;
  }
  const path = keepalivedPath(want.instance);
  if (!k.installed && !input.installingKeepalived) {
    throw pairError(
      input.where,
      `keepalived is not installed, and the director pair's VIPs need it`,
      'Install keepalived on the director (apt-get install keepalived, dnf install keepalived), or let the set-up do it: setup: { installKeepalived: true }.',
    );
  }
  if (mine !== undefined && mine.path !== path) changes.push({ kind: 'keepalived', action: 'delete', path: mine.path });
  const content = keepalivedContent(want);
  const digest = keepalivedDigest(content);
  const main = k.main === 'absent' ? ('write' as const) : undefined;
  if (k.main === 'foreign') {
    notes.push(
      `${KEEPALIVED_MAIN} is not lvsform's and does not include ${path}: add the line \`${KEEPALIVED_INCLUDE}\` to it, or keepalived never reads the pair's VRRP instance`,
    );
  }
  if (k.digest === undefined) changes.push({ kind: 'keepalived', action: 'create', path, content, ...(main ? { main } : {}) });
  else if (k.digest !== digest || main) {
    if (mine?.path === path && k.digest !== mine.digest) drift.push(`keepalived file ${path} (changed outside lvsform)`);
    changes.push({ kind: 'keepalived', action: 'update', path, content, ...(main ? { main } : {}) });
  } else if (!k.running) {
    notes.push('keepalived is not running: the VIPs move only while it runs (start it: systemctl start keepalived); lvsform starts it when it writes its file');
  }
  return { path, main: (mine?.main ?? false) || main === 'write', digest };
}
