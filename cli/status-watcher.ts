/** `lvsform status`'s reading: one open session per director, loaded when the command runs. */
import pLimit from 'p-limit';
import { isLvsError } from '../providers/ipvs/errors.ts';
import { preludeChunk } from '../providers/ipvs/host-script.ts';
import type { DesiredDirector } from '../providers/ipvs/plan.ts';
import { type DirectorStatus, readStatus } from '../providers/ipvs/status.ts';
import { describeTarget, HostSession } from '../providers/ipvs/transport.ts';
import { delayedProgress } from './progress.ts';

export /** One open session per director for the whole command (a refresh is one chunk on each). */
class Watcher {
  private readonly sessions = new Map<string, HostSession>();

  private readonly progress = delayedProgress();

  constructor(
    private readonly stack: string,
    private readonly directors: readonly DesiredDirector[],
    private readonly connectTimeout: number,
  ) {}

  async read(): Promise<DirectorStatus[]> {
    const limit = pLimit(10);
    return Promise.all(
      this.directors.map((d) =>
        limit(async (): Promise<DirectorStatus> => {
          try {
            let session = this.sessions.get(d.name);
            if (!session) {
              this.progress.step(d.name, `connecting to ${describeTarget(d.target)}`);
              session = HostSession.open(d.target, { connectTimeout: this.connectTimeout });
              this.sessions.set(d.name, session);
              await session.run(preludeChunk());
            }
            this.progress.step(d.name, 'reading the counters');
            return await readStatus(session, this.stack);
          } catch (e) {
            // A dropped session is opened again on the next refresh.
            const session = this.sessions.get(d.name);
            this.sessions.delete(d.name);
            if (session) {
              session.kill();
              await session.close();
            }
            return {
              director: d.name,
              where: describeTarget(d.target),
              services: [],
              error: isLvsError(e) ? { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) } : { code: 'LVS_INTERNAL', message: String(e) },
            };
          } finally {
            this.progress.idle(d.name);
          }
        }),
      ),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.close()));
    this.sessions.clear();
  }
}
