import { randomInt } from 'node:crypto';
import type { PodAddress } from './datapath';
import type { LinkDeleter } from '../rtnl/link-deleter';
import type { HostProgrammer, RouteChangeOutcome, RouteChangeSender } from './host-programmer';
import type { HostRouteChange } from './host-routes';
import { CoalescingQueue } from './coalescing-queue';
import { DELETE_GROUP_BASE, DELETE_GROUP_SPAN } from './link-identity';

/** Told the size of every batch the programmer sends (metrics, tests). */
export type BatchObserver = (kind: 'link-delete' | 'route', size: number) => void;

interface PendingDelete {
  index: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface PendingRouteChange {
  change: HostRouteChange;
  settle: (outcome: RouteChangeOutcome) => void;
}

/**
 * Deletes host links in batches. The kernel waits an RCU grace period per RTM_DELLINK (README
 * "Measured"), but deleting every link of one interface group in a single request pays it once. So
 * deletes that arrive while a batch is in flight wait for the next batch, which the
 * LinkDeleter sends as one group delete (in podwired, from a worker thread, so the grace
 * period never stalls the event loop). Each caller's promise settles with its own link's
 * outcome.
 *
 * Route changes (pod routes and peer routes) are batched the same way: changes that arrive
 * while a batch of them is in flight are coalesced and sent together as the next batch (the
 * sender sends a batch as multi-message netlink writes); each caller settles with
 * its own change's outcome. An idle programmer sends a change at once.
 */
export class BatchingHostProgrammer implements HostProgrammer {
  private readonly deletes = new CoalescingQueue<PendingDelete>((batch) => this.deleteBatch(batch));
  private readonly routes = new CoalescingQueue<PendingRouteChange>((batch) => this.routeBatch(batch));

  constructor(
    private readonly sendRoutes: RouteChangeSender,
    private readonly deleter: LinkDeleter,
    private readonly onBatch: BatchObserver = () => undefined,
  ) {}

  /** Through the route batch: pod routes of concurrent DELs go out together; a route already gone counts as removed. */
  delPodRoutes(addrs: readonly PodAddress[], hostIndex: number): Promise<void> {
    return this.changeRoutes(addrs.map((a) => ({ op: 'delete', podRoute: { address: a.address, family: a.family, oif: hostIndex } })));
  }

  /** One route change, coalesced with others that arrive while a batch is in flight; rejects with its own failure. */
  changeRoute(change: HostRouteChange): Promise<void> {
    return this.changeRoutes([change]);
  }

  /** Route changes queued together (one batch when idle); rejects with the first failure, in order. */
  private async changeRoutes(changes: readonly HostRouteChange[]): Promise<void> {
    const failed = (await this.enqueueRoutes(changes)).find((o) => o.error !== undefined);
    if (failed?.error !== undefined) throw new Error(failed.error);
  }

  /** Queues all the changes at once (so an idle programmer sends them as one batch); one outcome each, in order. */
  applyRouteChanges(changes: readonly HostRouteChange[]): Promise<RouteChangeOutcome[]> {
    return this.enqueueRoutes(changes);
  }

  private enqueueRoutes(changes: readonly HostRouteChange[]): Promise<RouteChangeOutcome[]> {
    const pending: PendingRouteChange[] = [];
    const settled = Promise.all(changes.map((change) => new Promise<RouteChangeOutcome>((settle) => pending.push({ change, settle }))));
    this.routes.add(...pending);
    return settled;
  }

  private async routeBatch(batch: PendingRouteChange[]): Promise<void> {
    this.onBatch('route', batch.length);
    let outcomes: RouteChangeOutcome[];
    try {
      outcomes = await this.sendRoutes(batch.map((p) => p.change));
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      outcomes = batch.map(() => ({ error }));
    }
    for (const [i, p] of batch.entries()) p.settle(outcomes[i] ?? { error: 'no outcome reported for this route change' });
  }

  /** Closes the link deleter (its worker and socket); deletes asked for afterwards fail. */
  close(): Promise<void> {
    return this.deleter.close();
  }

  deleteLink(index: number): Promise<void> {
    const [done] = this.deleteLinks([index]);
    return done ?? Promise.reject(new Error('no outcome'));
  }

  /** Queues all the deletes at once (so an idle programmer sends them as one group delete); one promise each. */
  deleteLinks(indexes: readonly number[]): Array<Promise<void>> {
    const pending: PendingDelete[] = [];
    const done = indexes.map((index) =>
      !Number.isInteger(index) || index <= 0
        ? Promise.reject(new Error(`refusing to delete link index ${index}`))
        : new Promise<void>((resolve, reject) => pending.push({ index, resolve, reject })),
    );
    if (pending.length > 0) this.deletes.add(...pending);
    return done;
  }

  private async deleteBatch(batch: PendingDelete[]): Promise<void> {
    this.onBatch('link-delete', batch.length);
    // The delete groups are a high range no distribution or CNI assigns (link-identity.ts), so
    // a group delete can only ever hit links podwire moved there. Each batch takes a random
    // group of the range: two podwired on one host (different state dirs) batching at the
    // same moment must not pick the same group, or one's group delete would take the other's
    // links (a counter starting at the same value in every process did exactly that).
    const group = DELETE_GROUP_BASE + randomInt(DELETE_GROUP_SPAN);
    try {
      const outcomes = await this.deleter.deleteLinks(
        group,
        batch.map((d) => d.index),
      );
      batch.forEach((d, i) => {
        const error = outcomes[i]?.error;
        if (error === undefined) d.resolve();
        else d.reject(new Error(error));
      });
    } catch (err) {
      for (const d of batch) d.reject(err);
    }
  }
}
