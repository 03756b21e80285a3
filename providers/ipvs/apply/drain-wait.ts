/**
 * The drain's wait (plan/drain.ts chooses what drains and in which batches): polls the connection counters until
 * every drained real server has none left, or the plan's drain timeout passes.
 */
import type { DirectorPlan } from '../plan/plan.ts';
import type { Send } from './verify.ts';

/** How long to wait between two counter reads. */
export const DRAIN_POLL_MS = 1000;

/** Polls `ipvsadm -L -n` (one round trip each) until the drained real servers are idle or the drain timeout passes. */
export async function waitForDrain(
  send: Send,
  plan: DirectorPlan,
  onProgress?: (director: string, message: string) => void,
  pollMs = DRAIN_POLL_MS,
): Promise<void> {
  const deadline = performance.now() + plan.drainTimeout * 1000;
  const keys = plan.drain.map((d) => `${d.serviceId} -> ${d.destinationId}`);
  for (;;) {
    const [{ counters }] = await send([{ kind: 'counters' }]);
    const busy = keys.filter((k) => {
      const c = counters.get(k);
      return c !== undefined && c.activeConns + c.inactiveConns > 0;
    });
    if (busy.length === 0) return;
    if (performance.now() >= deadline) {
      onProgress?.(plan.director, `drain timeout (${plan.drainTimeout} s): ${busy.length} real server(s) still had connections`);
      return;
    }
    onProgress?.(plan.director, `draining: ${busy.length} real server(s) still have connections`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
