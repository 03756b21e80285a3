import { type App, Director, Forwarding, LvsStack, RealServerPool, Scheduler } from 'lvsform';
import { reach } from '../reach.ts';

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
