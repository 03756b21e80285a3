import { type App, Director, LvsStack, RealServerPool, Scheduler } from 'lvsform';
import { reach } from '../reach.ts';

/**
 * Two directors (e.g. an active/backup pair behind keepalived) carrying the same NAT web service over one shared
 * pool: a change to the pool reaches both.
 */
export function build(app: App): LvsStack {
  const stack = new LvsStack(app, 'two-directors');
  const web = new RealServerPool(stack, 'web-pool', {
    members: [{ address: '192.0.2.11' }, { address: '192.0.2.12' }, { address: '192.0.2.13' }],
  });
  for (const [id, n] of [
    ['lb1', 1],
    ['lb2', 2],
  ] as const) {
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
