/**
 * Where a director is and how it is named in messages: data every stage shares (the reader builds targets, plans
 * carry them, renderers and errors name them). host/transport.ts opens the shell to one; this module loads nothing
 * heavy.
 */
import { LvsError } from './errors.ts';

export interface SshTarget {
  readonly host?: string;
  readonly port?: number;
  readonly user?: string;
  readonly identityFile?: string;
  readonly knownHostsFile?: string;
  readonly configFile?: string;
  readonly alias?: string;
  /**
   * Log in as `user` (not root) and run the host script as root through `sudo -n /bin/sh -s`. sudo must let the user
   * run exactly that without a password (see `sudoersLine`).
   */
  readonly sudo?: boolean;
  /**
   * The login of `--read-only` runs (plan, status): a user whose one sudoers rule runs lvsform's fixed read script
   * (see read-script.ts), so its key can read a director and change nothing. Without it, `--read-only` logs in as `user`.
   */
  readonly planUser?: string;
}

/** The shell every host script runs in, as sudo sees it (an absolute path, so that one sudoers rule matches it). */
export const HOST_SHELL = '/bin/sh -s';

/** The sudoers rule a director needs for `ssh: { user, sudo: true }`. */
export function sudoersLine(user: string | undefined): string {
  return `${user ?? '<user>'} ALL=(root) NOPASSWD: ${HOST_SHELL}`;
}

export interface HostTarget {
  /** The director's name in the app (used in every message). */
  readonly name: string;
  readonly transport: 'ssh' | 'local';
  readonly ssh?: SshTarget;
  /** Reach the director only through the read script, as `ssh.planUser` (`--read-only`): nothing can be changed. */
  readonly readOnly?: boolean;
  /** What the host is to lvsform, for messages: a real server (a `RealServerHost`), or a director when absent. */
  readonly role?: 'real-server';
}

/** `director` or `real server`: the kind of host a message is about. */
export function hostKind(target: Pick<HostTarget, 'role'>): 'director' | 'real server' {
  return target.role === 'real-server' ? 'real server' : 'director';
}

/** `director lb1 (root@198.51.100.2)`, `real server web1 (root@192.0.2.11)`: a host as a message names it. */
export function hostLabel(target: HostTarget): string {
  return `${hostKind(target)} ${describeTarget(target)}`;
}

/**
 * A description of where a director is, for messages: `lb1 (root@198.51.100.2)`, `lb1 (root@[2001:db8::2]:2222)`.
 * A port set in the app is shown: two directors on one address differ only by it.
 */
export function describeTarget(target: HostTarget): string {
  if (target.transport === 'local') return `${target.name} (this machine)`;
  const ssh = target.ssh ?? {};
  const port = ssh.port === undefined ? '' : `:${ssh.port}`;
  const host = ssh.host !== undefined && port && ssh.host.includes(':') ? `[${ssh.host}]` : ssh.host;
  if (target.readOnly) {
    const user = ssh.planUser ?? ssh.user;
    const where = ssh.alias ? `${ssh.alias}${port}${ssh.configFile ? ` via ${ssh.configFile}` : ''}` : `${user ? `${user}@` : ''}${host}${port}`;
    return `${target.name} (${where}${ssh.alias && user ? `, ${user}` : ''}, read-only)`;
  }
  const where = ssh.alias ? `${ssh.alias}${port}${ssh.configFile ? ` via ${ssh.configFile}` : ''}` : `${ssh.user ? `${ssh.user}@` : ''}${host}${port}`;
  const as = ssh.sudo ? `, ${ssh.user && ssh.alias ? `${ssh.user} ` : ''}with sudo` : '';
  return `${target.name} (${where}${as})`;
}

/**
 * A message about a host, labelled once: most messages from the host already start `director lb1 (…)` (or
 * `real server web1 (…)`), and prefixing the label again read `lb1 (root@…): director lb1 (root@…): …`.
 */
export function aboutTarget(target: HostTarget, message: string): string {
  const kind = hostKind(target);
  return message.includes(`${kind} ${target.name} `) || message.includes(`${kind} ${target.name}:`) ? message : `${describeTarget(target)}: ${message}`;
}

/** Where a director's error went when a report prints it apart (to standard error), for the line left in its place. */
export function errorPointer(code: string): string {
  return `${code}; the error is printed to standard error`;
}

/**
 * The refusal, in a read-only run, of a verb that would change a director or its lock (or that has no read-only way
 * yet), made before any host is contacted: the read-only key can run only the read script.
 */
export function readOnlyRefusal(verb: string, targets: readonly Pick<HostTarget, 'name' | 'role'>[], changes = true): LvsError {
  const names = targets.map((t) => t.name).join(', ') || '(none)';
  const kinds = new Set(targets.map((t) => hostKind(t)));
  const hosts = kinds.size > 1 ? 'host(s)' : `${[...kinds][0] ?? 'director'}(s)`;
  const what = changes ? `${verb} would change ${hosts} ${names}` : `${verb} has no read-only way yet (${hosts} ${names})`;
  return new LvsError('LVS_READ_ONLY', `${what}, and this run is read-only (--read-only or LVSFORM_READ_ONLY=1); no ${hosts.slice(0, -3)} was contacted`, {
    hint: changes
      ? 'Run it without --read-only in the protected pipeline, with the apply key; the read-only (plan) key can only plan.'
      : 'Run it without --read-only, with the apply key; the read-only (plan) key can plan.',
  });
}
