import type { PeerSnapshot } from './peer';

export type PeerSourceKind = 'none' | 'static' | 'kubernetes';

/**
 * Where podwired learns the other nodes from. A source delivers the whole peer set every time
 * it changes (never a partial one): the router diffs it against the kernel, so a missed or
 * repeated delivery cannot leave a stale or missing route.
 */
export interface PeerSource {
  readonly kind: PeerSourceKind;
  /** Starts delivering snapshots to `onSnapshot` (the first one as soon as the source knows the set). */
  start(onSnapshot: (snapshot: PeerSnapshot) => void): void;
  stop(): void;
}

/** No peers: only this node's pods are routed. Its one (empty) snapshot still removes stale peer routes. */
export class NoPeerSource implements PeerSource {
  readonly kind = 'none' as const;

  start(onSnapshot: (snapshot: PeerSnapshot) => void): void {
    onSnapshot({ peers: [] });
  }

  stop(): void {}
}
