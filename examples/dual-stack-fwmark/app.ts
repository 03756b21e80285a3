import { AddressFamily, type App, Director, LvsStack, RealServerPool, Scheduler } from 'lvsform';
import { reach } from '../reach.ts';

/**
 * Dual stack and firewall marks: an IPv6 NAT web service, and services keyed by the marks nftables on the director
 * sets on tcp 80 and 8080 (fwmark 1 for 198.51.100.50, fwmark 2 for 2001:db8:100::50). The IPv4 mark service is
 * persistent per client /24 and uses Maglev hashing with fallback; its real servers keep the client's port (port 0).
 */
export function build(app: App): LvsStack {
  const stack = new LvsStack(app, 'dual-stack-fwmark');
  const lb1 = new Director(stack, 'lb1', { ssh: reach(1) });

  const web6 = new RealServerPool(stack, 'web6-pool', {
    members: [{ address: '2001:db8::11' }, { address: '2001:db8::12' }, { address: '2001:db8::13' }],
  });
  lb1.addVirtualService('http6', {
    address: '2001:db8:100::10',
    port: 80,
    scheduler: Scheduler.ROUND_ROBIN,
    pools: [web6],
  });

  const web4 = new RealServerPool(stack, 'web4-pool', {
    members: [
      { address: '192.0.2.11', port: 0 },
      { address: '192.0.2.12', port: 0 },
      { address: '192.0.2.13', port: 0 },
    ],
  });
  lb1.addVirtualService('mark1', {
    firewallMark: 1,
    scheduler: Scheduler.maglevHash({ fallback: true }),
    persistence: { timeout: 300, netmask: '255.255.255.0' },
    pools: [web4],
  });

  lb1.addVirtualService('mark2', {
    firewallMark: 2,
    family: AddressFamily.IPV6,
    scheduler: Scheduler.WEIGHTED_ROUND_ROBIN,
    pools: [web6],
  });
  return stack;
}
