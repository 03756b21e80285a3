import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { type LabExecResult, type LabState, type LabTrafficOptions, type LabTrafficResult, labExec, labTraffic } from '../../lab/index.ts';

/** The lab booted by the global setup. */
export function lab(): LabState {
  const state = inject('lab');
  if (!state) throw new Error('this run booted no lab (LVSFORM_LAB_DIRECTORS=0): run this test with directors');
  return state;
}

/** Runs a POSIX shell script on a director; throws with its output when it fails (unless `allowFailure`). */
export async function sh(director: string | number, script: string, opts: { input?: string; allowFailure?: boolean } = {}): Promise<LabExecResult> {
  const r = await labExec(director, script, { state: lab(), input: opts.input });
  if (r.exitCode !== 0 && !opts.allowFailure) {
    throw new Error(`script failed on ${director} (exit ${r.exitCode}):\n${script}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`);
  }
  return r;
}

/** Empties the director's IPVS table and lvsform's records on it; then runs `more` (a script) in the same round trip. */
export async function resetDirector(director: string | number, more = ''): Promise<LabExecResult> {
  return sh(director, `ipvsadm -C && rm -rf /var/lib/lvsform${more ? ` && ${more}` : ''}`);
}

/** Real traffic from the director's client namespace (see labTraffic). */
export function traffic(opts: Omit<LabTrafficOptions, 'state' | 'dir'>): Promise<LabTrafficResult> {
  return labTraffic({ ...opts, state: lab() });
}

/**
 * An OpenSSH config file whose `Host hostAlias` reaches lab director 1 as `user`, with the lab's key and pinned host
 * key but without the lab's (root) ControlMaster, so that the login really is `user`'s own.
 */
export function loginConfig(hostAlias: string, user: string): string {
  const d = lab().directors[0]!;
  const file = join(mkdtempSync(join(lab().dir, `${hostAlias}-`)), 'ssh_config');
  writeFileSync(
    file,
    [
      `Host ${hostAlias}`,
      `  HostName ${d.guestAddress}`,
      `  HostKeyAlias ${d.alias}`,
      `  User ${user}`,
      `  IdentityFile ${lab().identityFile}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${lab().knownHosts}`,
      '  GlobalKnownHostsFile /dev/null',
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      '  ControlPath none',
      '  LogLevel ERROR',
      '',
    ].join('\n'),
  );
  return file;
}
