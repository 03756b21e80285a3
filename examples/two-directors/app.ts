import { type App, Director, LvsStack, RealServerPool, Scheduler, type SshProps } from 'lvsform';

/**
 * Two directors (e.g. an active/backup pair behind keepalived) carrying the same NAT web service over one shared
 * pool: a change to the pool reaches both.
 */
export function build(app: App): LvsStack {
  const stack = new LvsStack(app, 'two-directors');
  const web = new RealServerPool(stack, 'web-pool', {
    members: [{ address: '192.0.2.11' }, { address: '192.0.2.12' }, { address: '192.0.2.13' }],
  });
  for (const [id, n] of [['lb1', 1], ['lb2', 2]] as const) {
    const director = new Director(stack, id, { ssh: reach(n) });
    director.addVirtualService('http', {
      address: '198.51.100.10',
      port: 80,
      scheduler: Scheduler.ROUND_ROBIN,
      pools: [web],
    });
  }
  return stack;
}

/**
 * How to reach director number `n` (1 or 2): through the lab's OpenSSH config and alias when LVSFORM_SSH_CONFIG and
 * LVSFORM_DIRECTOR_ALIAS (LVSFORM_DIRECTOR_ALIAS_2 for the second) are set, else as root on a documentation address.
 */
function reach(n: 1 | 2 = 1): SshProps {
  const configFile = process.env.LVSFORM_SSH_CONFIG;
  const alias = process.env[n === 1 ? 'LVSFORM_DIRECTOR_ALIAS' : 'LVSFORM_DIRECTOR_ALIAS_2'];
  if (configFile && alias) return { configFile, alias };
  return { host: n === 1 ? '203.0.113.2' : '203.0.113.3', user: 'root' };
}
