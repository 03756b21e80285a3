import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { DirectorAddresses } from './addresses.ts';
import type { ClusterVmAddresses } from './cluster-addresses.ts';
import type { labPaths } from './state.ts';

type Paths = ReturnType<typeof labPaths>;

/** A VM as the ssh files see it: its management address, and for a cluster VM its role and private card. */
type SshHost = DirectorAddresses & Partial<Pick<ClusterVmAddresses, 'role' | 'private'>>;

/** The suffix of a cluster real server's second `Host`: reached on its private address through the first director. */
export const PRIVATE_ALIAS_SUFFIX = '-private';

/**
 * The OpenSSH client configuration of the lab; works with or without a ControlMaster running. A cluster real server
 * has a second entry, `ALIAS-private`, that reaches it on its private (NAT) address with `ProxyJump` through the
 * first director, as an operator reaches real servers behind a NAT director (same host key, no ControlMaster).
 */
export function renderSshConfig(paths: Paths, directors: readonly SshHost[]): string {
  const common = [
    '  User root',
    '  Port 22',
    `  IdentityFile ${paths.identityFile}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${paths.knownHosts}`,
    '  GlobalKnownHostsFile /dev/null',
    '  StrictHostKeyChecking yes',
    '  CheckHostIP no',
    '  BatchMode yes',
    '  ConnectTimeout 10',
    '  LogLevel ERROR',
  ];
  const jump = directors.find((d) => d.role === 'director');
  const blocks = directors.map((d) =>
    [
      `Host ${d.alias}`,
      `  HostName ${d.guestAddress}`,
      ...common,
      // Used only while the lab's master runs (lvsform lab up opens one); without it ssh connects directly.
      `  ControlPath ${join(paths.controlSockets, d.alias)}`,
      '',
      ...(d.role === 'real-server' && d.private && jump
        ? [
            `Host ${d.alias}${PRIVATE_ALIAS_SUFFIX}`,
            `  HostName ${d.private.ipv4}`,
            `  HostKeyAlias ${d.alias}`,
            `  ProxyJump ${jump.alias}`,
            ...common,
            '  ControlPath none',
            '',
          ]
        : []),
    ].join('\n'),
  );
  return `# lvsform lab. Example: ssh -F ${paths.sshConfig} ${directors[0]?.alias ?? 'lab-director-1'} ipvsadm -L -n\n\n${blocks.join('\n')}`;
}

/** The guests' sshd configuration (each guest adds its own `ListenAddress` on sshd's command line). */
export const GUEST_SSHD_CONFIG = [
  'Port 22',
  'HostKey /etc/lvsform/ssh_host_ed25519_key',
  'AuthorizedKeysFile /etc/lvsform/authorized_keys',
  'PermitRootLogin prohibit-password',
  'PasswordAuthentication no',
  'KbdInteractiveAuthentication no',
  'UsePAM no',
  'StrictModes no',
  'UseDNS no',
  'PermitUserRC no',
  'PrintMotd no',
  'PrintLastLog no',
  'MaxSessions 200',
  'MaxStartups 200',
  'PidFile /run/sshd.pid',
  'Subsystem sftp internal-sftp',
  '',
].join('\n');

/**
 * Generates the lab's client key and the guests' host key (mode 0600, as sshd wants), and writes `authorized_keys`
 * and `sshd_config` (read by the guests),
 * `known_hosts` (the pinned host key for every director) and `ssh_config`.
 */
export async function writeSshFiles(paths: Paths, directors: readonly SshHost[]): Promise<void> {
  const hostKey = join(paths.guest, 'ssh_host_ed25519_key');
  await Promise.all([
    execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lvsform-lab-client', '-f', paths.identityFile]),
    execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lvsform-lab-host', '-f', hostKey]),
  ]);
  await copyFile(`${paths.identityFile}.pub`, join(paths.guest, 'authorized_keys'));
  await writeFile(join(paths.guest, 'sshd_config'), GUEST_SSHD_CONFIG);
  const [type, key] = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/);
  const knownHosts = directors.map((d) => `${d.alias},${d.guestAddress} ${type} ${key}\n`).join('');
  await writeFile(paths.knownHosts, knownHosts);
  await writeFile(paths.sshConfig, renderSshConfig(paths, directors));
}
