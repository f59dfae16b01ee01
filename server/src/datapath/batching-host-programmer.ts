import { RtNetlinkSocket } from 'netlink';
import { PodAddress } from './datapath';
import { HostProgrammer } from './host-programmer';
import { isGone } from './netlink-errors';
import { NL_OPTS } from './netlink-timeout';

/**
 * Interface groups podwire uses for batched deletes: a high range no distribution or CNI
 * assigns, one group per batch, so a group delete can only ever hit links podwire moved there.
 */
const GROUP_BASE = 0x50770000;
const GROUP_SPAN = 0x10000;

interface PendingDelete {
  index: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Deletes host links in batches. The kernel waits an RCU grace period per RTM_DELLINK (about
 * 20 ms here), but deleting every link of one interface group in a single request pays it
 * once. So deletes that arrive while a batch is in flight wait for the next batch; a batch
 * of one is a plain delete; a larger batch moves its links into a fresh group and deletes the
 * group. Each caller's promise settles with its own link's outcome: a link that cannot be
 * moved fails only its caller, and if the group delete fails the links are deleted one by one.
 * Route changes are cheap and go straight to the wrapped programmer.
 */
export class BatchingHostProgrammer implements HostProgrammer {
  private queue: PendingDelete[] = [];
  private inFlight = false;
  private nextGroup = 0;
  /** Sizes of the delete batches sent (for tests and metrics). */
  readonly batchSizes: number[] = [];

  constructor(
    private readonly host: RtNetlinkSocket,
    private readonly direct: HostProgrammer,
  ) {}

  addPodRoute(addr: PodAddress, hostIndex: number): Promise<void> {
    return this.direct.addPodRoute(addr, hostIndex);
  }

  delPodRoute(addr: PodAddress, hostIndex: number | undefined): Promise<void> {
    return this.direct.delPodRoute(addr, hostIndex);
  }

  deleteLink(index: number): Promise<void> {
    if (!Number.isInteger(index) || index <= 0) return Promise.reject(new Error(`refusing to delete link index ${index}`));
    return new Promise((resolve, reject) => {
      this.queue.push({ index, resolve, reject });
      if (!this.inFlight) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.inFlight = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        this.batchSizes.push(batch.length);
        await this.deleteBatch(batch);
      }
    } finally {
      this.inFlight = false;
    }
  }

  private async deleteBatch(batch: PendingDelete[]): Promise<void> {
    if (batch.length === 1) {
      const [only] = batch;
      if (only) await this.direct.deleteLink(only.index).then(only.resolve, only.reject);
      return;
    }
    const group = GROUP_BASE + (this.nextGroup++ % GROUP_SPAN);
    const moved: PendingDelete[] = [];
    await Promise.all(
      batch.map(async (d) => {
        try {
          // Index validated > 0 in deleteLink: with index 0 this request would regroup every link.
          await this.host.setLink({ index: d.index }, { group }, NL_OPTS);
          moved.push(d);
        } catch (err) {
          if (isGone(err)) d.resolve();
          else d.reject(err);
        }
      }),
    );
    if (moved.length === 0) return;
    try {
      await this.host.delLink({ index: 0 }, { group }, NL_OPTS);
      for (const d of moved) d.resolve();
    } catch {
      // Fall back to one delete per link, so each caller gets its own link's outcome.
      await Promise.all(moved.map((d) => this.direct.deleteLink(d.index).then(d.resolve, d.reject)));
    }
  }
}
