/**
 * Where a director is and how it is named in messages. Apart from transport.ts (which opens the shell and so loads
 * execa), so that the renderers and readers that only name a director load nothing heavy.
 */

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
  const where = ssh.alias ? `${ssh.alias}${port}${ssh.configFile ? ` via ${ssh.configFile}` : ''}` : `${ssh.user ? `${ssh.user}@` : ''}${host}${port}`;
  const as = ssh.sudo ? `, ${ssh.user && ssh.alias ? `${ssh.user} ` : ''}with sudo` : '';
  return `${target.name} (${where}${as})`;
}

/**
 * A message about a director, labelled once: most messages from the host already start `director lb1 (…)`, and
 * prefixing the label again read `lb1 (root@…): director lb1 (root@…): …`.
 */
export function aboutTarget(target: HostTarget, message: string): string {
  return message.includes(`director ${target.name} `) || message.includes(`director ${target.name}:`) ? message : `${describeTarget(target)}: ${message}`;
}

/** Where a director's error went when a report prints it apart (to standard error), for the line left in its place. */
export function errorPointer(code: string): string {
  return `${code}; the error is printed to standard error`;
}
