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

/**
 * How the examples reach their real servers, one entry per real server in order (real server `i` is 192.0.2.(10 + i)
 * and 2001:db8::(10 + i) on the private network): the comma-separated host aliases of LVSFORM_REAL_SERVER_ALIASES in the OpenSSH config file
 * of LVSFORM_SSH_CONFIG when both are set — the demo and the lab tests name the cluster lab's real servers, reached
 * through the director with `ProxyJump` — else three, as root on their documentation addresses.
 */
export function reachRealServers(): SshProps[] {
  const configFile = process.env.LVSFORM_SSH_CONFIG;
  const aliases = (process.env.LVSFORM_REAL_SERVER_ALIASES ?? '').split(',').filter(Boolean);
  if (configFile && aliases.length > 0) return aliases.map((alias) => ({ configFile, alias }));
  return [11, 12, 13].map((n) => ({ host: `192.0.2.${n}`, user: 'root' }));
}
