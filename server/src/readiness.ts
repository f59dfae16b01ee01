/**
 * Whether podwired has finished its start-up reconcile. Until it has, STATUS answers "not
 * ready" (code 50) and every other verb waits, so no call sees a half-reconciled state.
 */
export class Readiness {
  private isDone = false;
  private release: () => void = () => undefined;
  readonly reached: Promise<void>;

  constructor() {
    this.reached = new Promise((resolve) => {
      this.release = resolve;
    });
  }

  get done(): boolean {
    return this.isDone;
  }

  markReady(): void {
    this.isDone = true;
    this.release();
  }

  static alreadyReady(): Readiness {
    const r = new Readiness();
    r.markReady();
    return r;
  }
}
