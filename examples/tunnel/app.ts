import { type App, Director, Forwarding, LvsStack, RealServerPool, Scheduler, TunnelType } from 'lvsform';
import { reach } from '../reach.ts';

/**
 * Tunnelling: the director encapsulates packets to the real servers, which hold the VIPs on their loopback. One
 * service over IP-in-IP, one over GUE (UDP port 6080) with source hashing that falls back and hashes the port too.
 */
export function build(app: App): LvsStack {
  const stack = new LvsStack(app, 'tunnel');
  const lb1 = new Director(stack, 'lb1', { ssh: reach(1) });
  const reals = [{ address: '192.0.2.11' }, { address: '192.0.2.12' }, { address: '192.0.2.13' }];

  const ipip = new RealServerPool(stack, 'ipip-pool', { forwarding: Forwarding.tunnel(), members: reals });
  lb1.addVirtualService('http-ipip', {
    address: '198.51.100.30',
    port: 80,
    scheduler: Scheduler.ROUND_ROBIN,
    pools: [ipip],
  });

  const gue = new RealServerPool(stack, 'gue-pool', {
    forwarding: Forwarding.tunnel({ type: TunnelType.GUE, port: 6080 }),
    members: reals,
  });
  lb1.addVirtualService('http-gue', {
    address: '198.51.100.31',
    port: 80,
    scheduler: Scheduler.sourceHash({ fallback: true, port: true }),
    pools: [gue],
  });
  return stack;
}
