import { type App, Director, Forwarding, LvsStack, Protocol, RealServerPool, Scheduler } from 'lvsform';
import { reach } from '../reach.ts';

/**
 * Direct routing: the real servers hold the VIPs on their loopback and answer clients themselves. A weighted web
 * service, and a UDP DNS-style service scheduled one datagram at a time.
 */
export function build(app: App): LvsStack {
  const stack = new LvsStack(app, 'direct-routing');
  const lb1 = new Director(stack, 'lb1', { ssh: reach(1) });

  const web = new RealServerPool(stack, 'web-pool', {
    forwarding: Forwarding.DIRECT_ROUTING,
    members: [
      { address: '192.0.2.11', weight: 3 },
      { address: '192.0.2.12', weight: 2 },
      { address: '192.0.2.13', weight: 1 },
    ],
  });
  lb1.addVirtualService('http', {
    protocol: Protocol.TCP,
    address: '198.51.100.20',
    port: 80,
    scheduler: Scheduler.WEIGHTED_LEAST_CONNECTION,
    pools: [web],
  });

  const dns = new RealServerPool(stack, 'dns-pool', {
    forwarding: Forwarding.DIRECT_ROUTING,
    members: [{ address: '192.0.2.11' }, { address: '192.0.2.12' }, { address: '192.0.2.13' }],
  });
  lb1.addVirtualService('dns', {
    protocol: Protocol.UDP,
    address: '198.51.100.21',
    port: 53,
    scheduler: Scheduler.ROUND_ROBIN,
    onePacket: true,
    pools: [dns],
  });
  return stack;
}
