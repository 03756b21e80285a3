import { type App, DirectorPair, Forwarding, LvsStack, RealServerPool, Scheduler } from 'lvsform';
import { reach } from '../reach.ts';

/**
 * A director pair: lb1 (priority 150) and lb2 (100) serve the same NAT web service. keepalived's VRRP moves the VIP
 * and the inside gateway the real servers route back through; both IPVS sync daemons on each director copy the
 * connection table, so established connections survive the move. `nopreempt`: lb1, back after a failure, leaves the
 * VIPs on lb2 rather than moving them a second time.
 */
export function build(app: App): LvsStack {
  const stack = new LvsStack(app, 'director-pair');
  const web = new RealServerPool(stack, 'web-pool', {
    forwarding: Forwarding.NAT,
    members: [{ address: '192.0.2.11' }, { address: '192.0.2.12' }, { address: '192.0.2.13' }],
  });
  const edge = new DirectorPair(stack, 'edge', {
    directors: [
      { id: 'lb1', ssh: reach(1), priority: 150, setup: {} },
      { id: 'lb2', ssh: reach(2), priority: 100, setup: {} },
    ],
    vrrp: {
      interface: 'eth0',
      virtualRouterId: 51,
      authPass: 'lvsform',
      nopreempt: true,
      addresses: [{ address: '192.0.2.1', prefixLength: 24, interface: 'eth1' }],
    },
    sync: { interface: 'eth1', syncId: 51 },
  });
  edge.addVirtualService('http', { address: '198.51.100.10', port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [web] });
  return stack;
}
