import type { SshProps } from 'lvsform';

/**
 * How the examples reach director number `n` (1 or 2): through an OpenSSH config file and host alias when
 * LVSFORM_SSH_CONFIG and LVSFORM_DIRECTOR_ALIAS (LVSFORM_DIRECTOR_ALIAS_2 for the second) are set — the demo and the
 * lab tests point them at the lab — else as root on a documentation address.
 */
export function reach(n: 1 | 2 = 1): SshProps {
  const configFile = process.env.LVSFORM_SSH_CONFIG;
  const alias = process.env[n === 1 ? 'LVSFORM_DIRECTOR_ALIAS' : 'LVSFORM_DIRECTOR_ALIAS_2'];
  if (configFile && alias) return { configFile, alias };
  return { host: n === 1 ? '203.0.113.2' : '203.0.113.3', user: 'root' };
}
