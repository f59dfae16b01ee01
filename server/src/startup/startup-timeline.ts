/**
 * Milestones of one start of podwired, in ms since the process started (Node's clock origin,
 * as `toServingMs`), logged with the "podwired serving" line: where the wall time between the
 * spawn and serving went (module loading, the datapath thread, the host read, each awaited
 * step of serve()). Marks only; nothing waits on it.
 */
export class StartupTimeline {
  private readonly marks: Array<[string, number]> = [];

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Records `name` now (a repeated name is recorded again: the log shows both). */
  mark(name: string): void {
    this.marks.push([name, Math.round(this.now() * 10) / 10]);
  }

  /** Records `name` when `p` settles (fulfilled or not); returns `p` itself. */
  whenSettled<T>(name: string, p: Promise<T>): Promise<T> {
    const mark = (): void => this.mark(name);
    p.then(mark, mark);
    return p;
  }

  /** The marks in the order they happened, for the log. */
  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.marks].sort((a, b) => a[1] - b[1]));
  }
}
