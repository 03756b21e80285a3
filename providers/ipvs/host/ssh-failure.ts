/**
 * What went wrong when a host's shell ended: from how the process ended (a spawn error, ssh's exit status 255, a
 * signal), whether the host's shell had answered yet, and the last lines ssh wrote to standard error. OpenSSH's own
 * messages (ssh.c, sshconnect.c, readconf.c, sshconnect2.c in OpenSSH 9.x) tell an authentication refusal, a config
 * file that cannot be read, a host key that does not match and each way a connection is not made apart; each gets its
 * own code and a hint that says what to check.
 */
import { LvsError } from '../model/errors.ts';
import { describeTarget, hostKind, sudoersLine, type HostTarget } from '../model/host-target.ts';

/** How the process of a session ended. */
export interface SessionEnd {
  readonly target: HostTarget;
  /** The spawn's error code (`ENOENT`: no such program on PATH). */
  readonly spawnCode?: string | undefined;
  readonly exitCode?: number | undefined;
  readonly signal?: string | undefined;
  /** True once the host's shell printed its first byte: after that, an end is a lost connection. */
  readonly connected: boolean;
  /** What the process wrote to standard error. */
  readonly stderr: string;
}

/**
 * What sudo says when it will not run the host script (no rule: it would ask for a password, which `-n` refuses), or
 * the remote shell when sudo is not installed (dash: `sh: 1: sudo: not found`; bash: `sudo: command not found`).
 * Other sudo warnings (`unable to resolve host`) do not count.
 */
export const SUDO_REFUSED =
  /sudo: a password is required|sudo: a terminal is required|is not in the sudoers file|is not allowed to (?:execute|run sudo)|\bsudo: (?:command )?not found/i;

const HOST_KEY = /host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known|host key for .* has changed/i;
const AUTH = /Permission denied \(|Too many authentication failures|no matching host key type found|Received disconnect from .*: 2: Too many/i;
const CONFIG =
  /Can't open user config file|Bad configuration option|bad configuration options|line \d+: |Unsupported option|no argument after keyword|Bad owner or permissions on|Include: |Missing argument|keyword .* extra arguments/i;
const RESOLVE = /Could not resolve hostname|Name or service not known|Temporary failure in name resolution|nodename nor servname/i;
const REFUSED = /Connection refused/i;
const TIMEOUT = /Connection timed out|Operation timed out|timed out during banner exchange|Connection timed out during banner/i;
const NO_ROUTE = /No route to host|Network is unreachable|Host is unreachable/i;
const KEY_FILE = /Identity file .* not accessible|Load key "[^"]*": /i;

const LOST_HINT = 'Nothing after the last verified step is known; run `lvsform plan` to see what the host holds now.';

/** The last lines of standard error, one line, for a message. */
function lastLines(stderr: string, n = 3): string {
  return stderr
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-n)
    .join('; ');
}

/** The SSH login a target makes, for hints. */
function login(target: HostTarget): { user: string; host: string; how: string } {
  const ssh = target.ssh ?? {};
  const host = ssh.alias ?? ssh.host ?? '?';
  return {
    user: ssh.user ?? (ssh.alias ? "the config file's User (or your local user)" : 'your local user'),
    host,
    how: `ssh ${ssh.configFile ? `-F ${ssh.configFile} ` : ''}${ssh.port ? `-p ${ssh.port} ` : ''}${ssh.user ? `${ssh.user}@` : ''}${host} true`,
  };
}

/** The error for a session whose process ended before a chunk finished. */
export function sessionEndError(end: SessionEnd): LvsError {
  const kind = hostKind(end.target);
  const where = describeTarget(end.target);
  const said = lastLines(end.stderr);
  const tail = said ? `: ${said}` : '';
  const ssh = end.target.transport === 'ssh';
  if (end.spawnCode === 'ENOENT') {
    const program = ssh ? 'ssh' : 'sh';
    return new LvsError(
      ssh ? 'LVS_SSH_MISSING' : 'LVS_CONNECTION_LOST',
      `${kind} ${where}: there is no \`${program}\` command on this machine (not found on PATH)`,
      {
        hint: ssh
          ? 'Install the OpenSSH client (Debian/Ubuntu: apt-get install openssh-client; RHEL: dnf install openssh-clients), or put ssh on PATH.'
          : 'Run lvsform where a POSIX sh is on PATH.',
      },
    );
  }
  if (end.spawnCode !== undefined) {
    return new LvsError('LVS_CONNECTION_LOST', `${kind} ${where}: cannot start ${ssh ? 'ssh' : 'sh'} (${end.spawnCode})${tail}`, { hint: LOST_HINT });
  }
  if (ssh && end.target.ssh?.sudo && !end.connected && end.exitCode !== 255 && SUDO_REFUSED.test(said)) {
    // sudo ended the session before the shell started: nothing ran on the director.
    const refused = said
      .split('; ')
      .filter((l) => SUDO_REFUSED.test(l))
      .join('; ');
    return new LvsError('LVS_SUDO_REQUIRED', `${kind} ${where}: sudo did not run the host script as root (nothing was run): ${refused}`, {
      hint: `Allow it without a password on the ${kind}: \`${sudoersLine(end.target.ssh.user)}\` in /etc/sudoers.d/lvsform (visudo -f), and install sudo if it is missing.`,
    });
  }
  if (ssh && !end.connected && end.exitCode === 255) return sshRefusal(end.target, where, said);
  if (!end.connected) {
    return new LvsError(
      'LVS_CONNECTION_LOST',
      `${kind} ${where}: the host's shell ended before it answered (exit ${end.exitCode ?? end.signal ?? '?'})${tail}`,
      { hint: ssh ? `Check that \`${login(end.target).how}\` works and that the login's shell can run \`sh -s\`.` : LOST_HINT },
    );
  }
  return new LvsError(
    'LVS_CONNECTION_LOST',
    `${kind} ${where}: the connection ended in the middle of a step (exit ${end.exitCode ?? end.signal ?? '?'})${tail}`,
    { hint: LOST_HINT },
  );
}

/** ssh exited 255 before the host's shell answered: the connection or the login was not made. Nothing ran. */
function sshRefusal(target: HostTarget, where: string, said: string): LvsError {
  const kind = hostKind(target);
  const tail = said ? `: ${said}` : '';
  const { user, host, how } = login(target);
  const ssh = target.ssh ?? {};
  if (HOST_KEY.test(said)) {
    return new LvsError('LVS_HOST_KEY', `${kind} ${where}: the host key is not trusted${tail}`, {
      hint: 'Pin the host key in the known-hosts file (ssh-keyscan, checked out of band), or pass --accept-new-host-key once.',
    });
  }
  if (CONFIG.test(said)) {
    return new LvsError('LVS_SSH_CONFIG', `${kind} ${where}: ssh cannot use its configuration${tail}`, {
      hint: ssh.configFile
        ? `Check the ${target.role === 'real-server' ? 'RealServerHost' : 'Director'}'s configFile ${ssh.configFile} (a relative path is read from the directory lvsform runs in): it must exist, be readable, and \`ssh -G -F ${ssh.configFile} ${host}\` must accept it.`
        : 'Check ~/.ssh/config and /etc/ssh/ssh_config: `ssh -G HOST` shows what ssh makes of them.',
    });
  }
  if (AUTH.test(said)) {
    const keyFile = KEY_FILE.test(said) ? ' The identity file given could not be read: check its path and permissions.' : '';
    return new LvsError('LVS_SSH_AUTH', `${kind} ${where}: the host refused the SSH login of ${user} (nothing ran)${tail}`, {
      hint: `Put the public key of the identity lvsform uses (${ssh.identityFile ? `identityFile ${ssh.identityFile}` : "ssh's default keys or agent"}) in ~/.ssh/authorized_keys of ${user} on the ${kind}, and check that \`${how}\` works from here.${keyFile}`,
    });
  }
  const cannot = `${kind} ${where}: cannot reach the host over SSH`;
  if (RESOLVE.test(said)) {
    return new LvsError('LVS_HOST_UNREACHABLE', `${cannot}: the name ${host} does not resolve${tail}`, {
      hint: ssh.alias
        ? `Check that ${ssh.configFile ?? 'the config file'} has a \`Host ${host}\` entry with a HostName that resolves.`
        : 'Check the spelling of the host and that DNS (or /etc/hosts) knows it.',
    });
  }
  if (REFUSED.test(said)) {
    return new LvsError('LVS_HOST_UNREACHABLE', `${cannot}: the connection was refused${tail}`, {
      hint: `Nothing listens on the SSH port${ssh.port ? ` ${ssh.port}` : ''} there: check the port and that sshd runs on the ${kind}.`,
    });
  }
  if (TIMEOUT.test(said) || NO_ROUTE.test(said)) {
    return new LvsError('LVS_HOST_UNREACHABLE', `${cannot}: no answer${tail}`, {
      hint: 'Check that the host is up, that its address is right, and that no firewall drops SSH between here and there (--connect-timeout sets the wait).',
    });
  }
  return new LvsError('LVS_HOST_UNREACHABLE', `${cannot}${tail}`, {
    hint: `Check that the host is up, that sshd answers, and that \`${how}\` works from here.`,
  });
}
