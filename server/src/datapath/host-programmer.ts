import { reasonOf } from '../rtnl/rtnl-error';
import type { RtnlRequest, RtnlSocket } from '../rtnl/rtnl-socket';
import type { PodAddress } from './datapath';
import { type HostRouteChange, hostRouteRequest } from './host-routes';

/**
 * Changes to the host's routing and links on behalf of pods and peers. The datapath and the
 * peer router program the host only through this seam (BatchingHostProgrammer in podwired).
 */
export interface HostProgrammer {
  /**
   * Removes the pod routes through host end `hostIndex` (a route to the same address through
   * any other link is not touched), all in one batch; fine when they are already gone.
   * Rejects with the first failure. (ADD creates its routes itself, in its host end's write.)
   */
  delPodRoutes(addrs: readonly PodAddress[], hostIndex: number): Promise<void>;
  /** Deletes a link by index; fine when it is already gone. Index 0 is refused (it means "all"). */
  deleteLink(index: number): Promise<void>;
  /** Deletes links together (one group delete where it can); one promise per index, as deleteLink. */
  deleteLinks(indexes: readonly number[]): Array<Promise<void>>;
  /**
   * Route changes, all in one pass, sent in order; one outcome per change, in order. A change
   * that fails does not stop the others (see host-routes.ts for each change's semantics).
   */
  applyRouteChanges(changes: readonly HostRouteChange[]): Promise<RouteChangeOutcome[]>;
}

/** What became of one route change: `error` (the kernel's reason) when it failed. */
export interface RouteChangeOutcome {
  error?: string;
}

/** Sends a batch of route changes and reports each one's outcome, in order. Never rejects. */
export type RouteChangeSender = (changes: readonly HostRouteChange[]) => Promise<RouteChangeOutcome[]>;

/**
 * Sends the changes on `sock` as multi-message writes (rtnl: MESSAGES_PER_SEND per
 * sendmsg). A change that cannot be encoded fails alone (it is not sent); deleting a route
 * that is already gone is what the caller wanted.
 */
export function rtnlRouteSender(sock: RtnlSocket): RouteChangeSender {
  return async (changes) => {
    const outcomes: Array<RouteChangeOutcome | undefined> = changes.map(() => undefined);
    const sent: Array<{ at: number; request: RtnlRequest }> = [];
    changes.forEach((change, at) => {
      try {
        sent.push({ at, request: hostRouteRequest(change) });
      } catch (err) {
        outcomes[at] = { error: `cannot encode the route change: ${reasonOf(err)}` };
      }
    });
    const replies = await sock.exchange(sent.map((s) => s.request));
    sent.forEach(({ at }, i) => {
      const error = replies[i]?.error;
      // (A delete that finds its route gone is answered as done: changeRoute's goneIsDone.)
      outcomes[at] = error ? { error: error.message } : {};
    });
    return outcomes.map((o) => o ?? { error: 'no outcome reported for this route change' });
  };
}
