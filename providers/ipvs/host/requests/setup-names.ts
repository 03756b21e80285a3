/** The checks every set-up script applies to a module name or a sysctl before it reaches the shell. */
import { LvsError } from '../../model/errors.ts';

const MODULE_RE = /^[a-z0-9_]{1,56}$/;
const SYSCTL_RE = /^net\.[a-z0-9_.]{1,120}$/;

export function procPath(key: string): string {
  if (!SYSCTL_RE.test(key)) throw new LvsError('LVS_UNSAFE_VALUE', `not a sysctl lvsform sets: ${JSON.stringify(key)}`);
  return `/proc/sys/${key.replaceAll('.', '/')}`;
}

export function moduleName(m: string): string {
  if (!MODULE_RE.test(m)) throw new LvsError('LVS_UNSAFE_VALUE', `not a kernel module name: ${JSON.stringify(m)}`);
  return m;
}
