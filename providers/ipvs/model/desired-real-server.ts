/**
 * One real server as the app declares it: where it is, its own props, and what the services that send to it need
 * (derived from every director's pools by `prepFor`). The synthesized-JSON reader builds it; plan and apply read it.
 */
import type { HostTarget } from './host-target.ts';
import type { RealServerHostSpec, RealServerPrep } from './real-server.ts';

export interface DesiredRealServer {
  readonly name: string;
  readonly target: HostTarget;
  readonly spec: RealServerHostSpec;
  readonly prep: RealServerPrep;
  /**
   * In a run narrowed by `--director` or `--target`: what the run's services need (`prep` stays what all of them
   * need). Only that is added, and nothing is removed (plan/real-server.ts, `holdRemovals`).
   */
  readonly narrowedTo?: RealServerPrep;
}
