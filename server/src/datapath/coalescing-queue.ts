/**
 * Items added while a batch is in flight wait and go out together as the next batch; an
 * idle queue sends at once. `send` settles each item's caller itself and must not throw.
 */
export class CoalescingQueue<T> {
  private queue: T[] = [];
  private inFlight = false;

  constructor(private readonly send: (batch: T[]) => Promise<void>) {}

  add(...items: T[]): void {
    this.queue.push(...items);
    if (!this.inFlight && this.queue.length > 0) void this.drain();
  }

  private async drain(): Promise<void> {
    this.inFlight = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        await this.send(batch);
      }
    } finally {
      this.inFlight = false;
    }
  }
}
