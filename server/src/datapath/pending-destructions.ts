/**
 * Host ends detached by DEL or GC whose veth pair is still to be destroyed: counted (Debug,
 * metrics) and awaitable, so an ADD whose pod interface name is still held by such a pair can
 * wait for it instead of failing.
 *
 * The reaper destroys them in rounds, at most one every `intervalMs`: each round hands every
 * pair detached since the last one to `destroy` at once (the programmer's group delete: one
 * RCU grace period for all of them, with the RTNL lock held). Pacing the rounds keeps the lock
 * free for ADDs most of the time under churn; a pair is gone within intervalMs + a round.
 * A pair whose destruction fails stays pending and goes into the next round again, up to
 * `tries` rounds; only then is it left to the next start's reconcile (it keeps its owner tag).
 */
export interface PendingDestructionsOptions {
  /** At least this many ms between two rounds. */
  intervalMs?: number;
  /** How long a destroyed pair's index is remembered (involves()). */
  rememberMs?: number;
  /** Rounds that try to destroy one pair before it is given up. */
  tries?: number;
}

export class PendingDestructions {
  private queued: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastRound = 0;

  private readonly pending = new Map<number, Promise<void>>();
  /** Host link indexes destroyed lately, with when (an index is not reused soon). */
  private readonly finished = new Map<number, number>();

  private readonly intervalMs: number;
  private readonly rememberMs: number;
  private readonly tries: number;
  /** Failed rounds so far, per pair still pending. */
  private readonly failures = new Map<number, number>();

  constructor(
    private readonly destroy: (indexes: readonly number[]) => Array<Promise<void>> = (indexes) => indexes.map(() => Promise.resolve()),
    opts: PendingDestructionsOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 200;
    this.rememberMs = opts.rememberMs ?? 10_000;
    this.tries = opts.tries ?? 5;
  }

  /** What to do when a pair is given up, per pair still pending. */
  private readonly givenUp = new Map<number, () => void>();

  /** Queues host link `index` for the next round; `onGiveUp` is called if its destruction is given up. */
  reap(index: number, onGiveUp?: () => void): void {
    if (onGiveUp) this.givenUp.set(index, onGiveUp);
    let release: () => void = () => undefined;
    this.track(index, new Promise<void>((r) => (release = r)));
    this.queued.push(index);
    this.waiters.set(index, release);
    this.schedule();
  }

  private readonly waiters = new Map<number, () => void>();

  private schedule(): void {
    if (this.timer || this.queued.length === 0) return;
    const wait = Math.max(0, this.lastRound + this.intervalMs - Date.now());
    this.timer = setTimeout(() => this.round(), wait);
  }

  private round(): void {
    this.timer = undefined;
    this.lastRound = Date.now();
    const batch = this.queued;
    this.queued = [];
    const done = this.destroy(batch);
    batch.forEach((index, i) => {
      void (done[i] ?? Promise.resolve()).then(
        () => this.finish(index),
        () => {
          const failed = (this.failures.get(index) ?? 0) + 1;
          // Given up: a renamed, owned orphan, which the next start's reconcile removes
          // (and the caller's onGiveUp may hand to someone who tries again).
          if (failed >= this.tries) {
            this.givenUp.get(index)?.();
            return this.finish(index);
          }
          this.failures.set(index, failed);
          this.queued.push(index);
          this.schedule();
        },
      );
    });
    this.schedule();
  }

  private finish(index: number): void {
    this.failures.delete(index);
    this.givenUp.delete(index);
    const release = this.waiters.get(index);
    this.waiters.delete(index);
    release?.();
  }

  /** Sends what is queued now, without waiting for the next round (an ADD waiting for a pair, shutdown). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queued.length > 0) this.round();
  }

  get size(): number {
    return this.pending.size;
  }

  /** Tracks the destruction of host link `index`; it leaves the set when `done` settles. */
  track(index: number, done: Promise<void>): void {
    const settled = done.then(
      () => undefined,
      () => undefined,
    );
    this.pending.set(index, settled);
    void settled.then(() => {
      if (this.pending.get(index) !== settled) return;
      this.pending.delete(index);
      const now = Date.now();
      this.finished.set(index, now);
      for (const [i, at] of this.finished) if (now - at > this.rememberMs) this.finished.delete(i);
    });
  }

  /**
   * True when host link `index` is being destroyed or was lately: a pod interface whose
   * peer it is may still have been seen by a request sent before the destruction finished.
   */
  involves(index: number): boolean {
    return this.pending.has(index) || this.finished.has(index);
  }

  /** Resolves once host link `index` is no longer pending (at once when it is not), or after `timeoutMs`. */
  async wait(index: number, timeoutMs: number): Promise<boolean> {
    const p = this.pending.get(index);
    if (!p) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([p.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends what is queued and resolves once nothing is pending, or after `timeoutMs` (shutdown). */
  async drain(timeoutMs: number): Promise<void> {
    this.flush();
    const deadline = Date.now() + timeoutMs;
    while (this.pending.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.all(this.pending.values()), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())))]);
    }
  }
}
