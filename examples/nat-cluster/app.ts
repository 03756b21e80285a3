import { type App, Director, Forwarding, LvsStack, RealServerHost, RealServerPool, Scheduler } from 'lvsform';
import { reach, reachRealServers } from '../reach.ts';

/**
 * The classic VS/NAT web cluster deployed whole, from bare machines, on IPv4 and IPv6: a TCP VIP of each family on the
 * director's public interface, round robin over web servers on a private network behind it. lvsform turns forwarding
 * on at the director (NAT sends the replies back through it) and routes each web server's replies through the
 * director's inside addresses.
 */
export function build(app: App): LvsStack {
  const stack = new LvsStack(app, 'nat-cluster');
  const lb1 = new Director(stack, 'lb1', {
    ssh: reach(1),
    vips: { interface: 'eth1' }, // the director's public interface: lvsform puts the VIPs there
    // Forwarding of both families, now and at boot: what NAT needs. `setup: {}` would also install ipvsadm, load the
    // modules at boot and save the table for the next boot.
    setup: { ipForward: true, installIpvsadm: false, loadModules: false, saveRules: false },
  });
  const hosts = reachRealServers().map((ssh, i) => {
    const n = 11 + i; // web server i + 1 is 192.0.2.n and 2001:db8::n
    // Its default routes through the director's inside addresses, set by lvsform (manage) and put back on destroy;
    // a more specific route into the clients' side (here the public segment) would take replies around the director.
    new RealServerHost(stack, `web${i + 1}`, {
      ssh,
      addresses: [`192.0.2.${n}`, `2001:db8::${n}`],
      nat: { gateways: ['192.0.2.1', '2001:db8::1'], manage: true, clients: ['198.51.100.0/24', '2001:db8:100::/64'] },
    });
    return n;
  });
  const web4 = new RealServerPool(stack, 'web-pool', { forwarding: Forwarding.NAT, members: hosts.map((n) => ({ address: `192.0.2.${n}` })) });
  const web6 = new RealServerPool(stack, 'web-pool-6', { forwarding: Forwarding.NAT, members: hosts.map((n) => ({ address: `2001:db8::${n}` })) });
  lb1.addVirtualService('http', { address: '198.51.100.10', port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [web4] });
  lb1.addVirtualService('http6', { address: '2001:db8:100::10', port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [web6] });
  return stack;
}
