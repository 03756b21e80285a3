import { type App, Director, Forwarding, LvsStack, RealServerPool, Scheduler, type SshProps } from 'lvsform';

/**
 * The classic VS/NAT web cluster: one TCP VIP, round robin over three web servers that use the director as their
 * gateway.
 */
export function build(app: App): LvsStack {
  const stack = new LvsStack(app, 'nat-web');
  const lb1 = new Director(stack, 'lb1', { ssh: reach(1) });
  const web = new RealServerPool(stack, 'web-pool', {
    forwarding: Forwarding.NAT,
    members: [{ address: '192.0.2.11' }, { address: '192.0.2.12' }, { address: '192.0.2.13' }],
  });
  lb1.addVirtualService('http', {
    address: '198.51.100.10',
    port: 80,
    scheduler: Scheduler.ROUND_ROBIN,
    pools: [web],
  });
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
