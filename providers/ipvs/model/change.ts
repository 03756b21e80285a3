/**
 * A plan's changes: one service or real server created, updated or deleted, with its before and after values. The
 * diff (plan/diff.ts) makes them; the batch, the renderers, the read-back and the drain read them.
 */
import type { Destination, Service, ServiceKey } from './model.ts';

export type Action = 'create' | 'update' | 'delete';

export interface ServiceChange {
  readonly action: Action;
  readonly kind: 'service';
  readonly serviceId: string;
  readonly serviceKey: ServiceKey;
  /** Live state (update, delete). A deleted service goes with its real servers: the kernel drops them with it. */
  readonly before?: Service;
  /** Desired state (create, update). */
  readonly after?: Service;
  /** Dotted paths into `before`/`after` (`config.scheduler`, `config.persistence.timeout`, …); updates only. */
  readonly changedFields?: readonly string[];
  /** Half of a delete + create of the same identity, because a field cannot change in place. */
  readonly replace?: true;
}

export interface DestinationChange {
  readonly action: Action;
  readonly kind: 'destination';
  readonly serviceId: string;
  readonly serviceKey: ServiceKey;
  readonly destinationId: string;
  readonly before?: Destination;
  readonly after?: Destination;
  /** Dotted paths into `before`/`after` (`weight`, `forwarding.port`, …); updates only. */
  readonly changedFields?: readonly string[];
  readonly replace?: true;
}

export type Change = ServiceChange | DestinationChange;
