import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { DirectorAddresses } from './addresses.ts';
import type { labPaths } from './state.ts';

type Paths = ReturnType<typeof labPaths>;

/** The OpenSSH client configuration of the lab; works with or without a ControlMaster running. */
export function renderSshConfig(paths: Paths, directors: readonly DirectorAddresses[]): string {
  const blocks = directors.map((d) =>
    [
      `Host ${d.alias}`,
      `  HostName ${d.guestAddress}`,
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
      // Used only while the lab's master runs (lvsform lab up opens one); without it ssh connects directly.
      `  ControlPath ${join(paths.controlSockets, d.alias)}`,
      '',
    ].join('\n'),
  );
  return `# lvsform lab. Example: ssh -F ${paths.sshConfig} lab-director-1 ipvsadm -L -n\n\n${blocks.join('\n')}`;
}

/**
 * Generates the lab's client key and the guests' host key, and writes `authorized_keys` (read by the guests),
 * `known_hosts` (the pinned host key for every director) and `ssh_config`.
 */
export async function writeSshFiles(paths: Paths, directors: readonly DirectorAddresses[]): Promise<void> {
  const hostKey = join(paths.guest, 'ssh_host_ed25519_key');
  await Promise.all([
    execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lvsform-lab-client', '-f', paths.identityFile]),
    execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lvsform-lab-host', '-f', hostKey]),
  ]);
  await copyFile(`${paths.identityFile}.pub`, join(paths.guest, 'authorized_keys'));
  const [type, key] = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/);
  const knownHosts = directors.map((d) => `${d.alias},${d.guestAddress} ${type} ${key}\n`).join('');
  await writeFile(paths.knownHosts, knownHosts);
  await writeFile(paths.sshConfig, renderSshConfig(paths, directors));
}
