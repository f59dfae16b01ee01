import { HealthImplementation, ServingStatus } from 'grpc-health-check';

/** Fully qualified names of podwired's services, as health checks and reflection name them. */
export const CNI_SERVICE = 'podwire.v1.Cni';
export const DEBUG_SERVICE = 'podwire.v1.Debug';
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

/**
 * The grpc.health.v1 status of every listener: NOT_SERVING while the start-up reconcile runs,
 * SERVING once it has finished, NOT_SERVING again once shutdown starts. Each listener gets
 * its own health service answering for "" (the whole server) and the services it serves.
 */
export class ServingHealth {
  private status: ServingStatus = 'NOT_SERVING';
  private readonly listeners: Array<{ impl: HealthImplementation; names: string[] }> = [];
  private announceStopping: () => void = () => undefined;
  /** Resolves when shutdown starts (long-lived streams end themselves then). */
  readonly stopping: Promise<void> = new Promise((resolve) => {
    this.announceStopping = resolve;
  });

  /** A health service for a listener that serves `services`. */
  forListener(services: readonly string[]): HealthImplementation {
    const names = ['', ...services];
    const impl = new HealthImplementation(Object.fromEntries(names.map((n) => [n, this.status])));
    this.listeners.push({ impl, names });
    return impl;
  }

  get current(): ServingStatus {
    return this.status;
  }

  markServing(): void {
    this.set('SERVING');
  }

  markShuttingDown(): void {
    this.set('NOT_SERVING');
    this.announceStopping();
  }

  private set(status: ServingStatus): void {
    this.status = status;
    for (const { impl, names } of this.listeners) for (const n of names) impl.setStatus(n, status);
  }
}
