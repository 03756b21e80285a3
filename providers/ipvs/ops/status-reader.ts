/** `lvsform status`'s reading: one open host per director for the whole command (a refresh is one chunk on each). */
import { errorInfo } from '../model/errors.ts';
import type { DirectorHost, OpenDirectorHost } from '../host/director-host.ts';
import { openShDirectorHost } from '../host/sh-director-host.ts';
import { dropHost, eachDirector } from '../host/fan-out.ts';
import type { DesiredDirector } from '../model/desired-director.ts';
import { buildStatus, type DirectorStatus } from './status.ts';
import { describeTarget } from '../model/host-target.ts';

export interface StatusReaderOptions {
  readonly connectTimeout?: number;
  readonly openHost?: OpenDirectorHost;
  /** The step a director now waits on. */
  readonly onProgress?: (director: string, message: string) => void;
  /** The director's step has ended. */
  readonly onIdle?: (director: string) => void;
}

export class StatusReader {
  private readonly hosts = new Map<string, DirectorHost>();

  constructor(
    private readonly stack: string,
    private readonly directors: readonly DesiredDirector[],
    private readonly opts: StatusReaderOptions = {},
  ) {}

  /** Reads every director; one that fails is reported in its entry and opened again on the next read. */
  async read(): Promise<DirectorStatus[]> {
    return eachDirector(
      this.directors,
      { done: (d) => this.opts.onIdle?.(d.name) },
      async (d): Promise<DirectorStatus> => {
        let host = this.hosts.get(d.name);
        if (!host) {
          this.opts.onProgress?.(d.name, `connecting to ${describeTarget(d.target)}`);
          const { connectTimeout } = this.opts;
          host = (this.opts.openHost ?? openShDirectorHost)(d.target, connectTimeout === undefined ? {} : { connectTimeout });
          this.hosts.set(d.name, host);
        }
        this.opts.onProgress?.(d.name, 'reading the counters');
        const daemons = d.settings?.syncDaemon !== undefined;
        const [reply] = await host.exchange([{ kind: 'status', stack: this.stack, ...(daemons ? { daemons } : {}) }]);
        const status = buildStatus(d.name, describeTarget(host.target), reply, reply.record);
        return reply.daemons ? { ...status, syncDaemons: reply.daemons } : status;
      },
      async (d, e): Promise<DirectorStatus> => {
        const host = this.hosts.get(d.name);
        this.hosts.delete(d.name);
        if (host) await dropHost(host);
        return { director: d.name, where: describeTarget(d.target), services: [], error: errorInfo(e) };
      },
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.hosts.values()].map((h) => h.close()));
    this.hosts.clear();
  }
}
