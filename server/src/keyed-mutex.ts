/**
 * Serialises async work per key: calls for one (network, container id, ifname) run one after
 * another, calls for different keys run in parallel. Keys leave the map once idle.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const current = previous.then(fn, fn);
    const tail = current.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with work queued or running (for diagnostics and tests). */
  get size(): number {
    return this.tails.size;
  }
}
