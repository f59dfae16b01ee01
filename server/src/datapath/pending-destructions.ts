/**
 * Host ends detached by DEL or GC whose veth pair is still being destroyed: counted (Debug,
 * metrics) and awaitable, so an ADD whose pod interface name is still held by such a pair can
 * wait for it instead of failing.
 */
export class PendingDestructions {
  private readonly pending = new Map<number, Promise<void>>();
  /** Host link indexes destroyed lately, with when (an index is not reused soon). */
  private readonly finished = new Map<number, number>();

  constructor(private readonly rememberMs = 10_000) {}

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

  /** Resolves once nothing is pending, or after `timeoutMs` (shutdown). */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.all(this.pending.values()), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())))]);
    }
  }
}
