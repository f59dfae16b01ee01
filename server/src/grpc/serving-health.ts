import type { EventEmitter } from 'node:events';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';

/** Fully qualified names of podwired's services, as health checks and reflection name them. */
export const CNI_SERVICE = 'podwire.v1.Cni';
export const DEBUG_SERVICE = 'podwire.v1.Debug';
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

/** The server grpc-health-check adds itself to (grpc.Server is one). */
type HealthServer = Parameters<HealthImplementation['addToServer']>[0];
type Handlers = Parameters<HealthServer['addService']>[1];
/** What a Watch handler needs of its call here: end it, and hear when it is over. */
type WatchCall = EventEmitter & { end(): void };

/** Any of these means a Watch stream is over. */
const ENDING_EVENTS = ['cancelled', 'close', 'error', 'finish'] as const;

/**
 * grpc-health-check's service, plus a registry of its open Watch streams so shutdown can end
 * them: grpc-health-check never ends a Watch itself, and grpc-js's tryShutdown waits for every
 * open stream, so one open Watch would hold a listener's drain for its whole grace period.
 */
class EndableHealth extends HealthImplementation {
  private readonly watches = new Set<WatchCall>();
  private ended = false;

  /** How many Watch streams are open now. */
  get openWatches(): number {
    return this.watches.size;
  }

  override addToServer(server: HealthServer): void {
    super.addToServer({
      addService: (definition, handlers) => server.addService(definition, this.withEndableWatch(handlers)),
    });
  }

  /** Ends every open Watch (status OK, after whatever was written) and every later one. */
  endWatches(): void {
    this.ended = true;
    for (const call of [...this.watches]) call.end();
    this.watches.clear();
  }

  private withEndableWatch(handlers: Handlers): Handlers {
    const watch = handlers.watch;
    if (typeof watch !== 'function') throw new Error('grpc-health-check has no watch handler; cannot end Watch streams at shutdown');
    const wrapped = (call: WatchCall): void => {
      (watch as (call: WatchCall) => void)(call); // writes the current status, then each change
      if (this.ended) {
        call.end();
        return;
      }
      this.watches.add(call);
      const forget = (): void => {
        this.watches.delete(call);
        for (const ev of ENDING_EVENTS) call.off(ev, forget);
      };
      for (const ev of ENDING_EVENTS) call.once(ev, forget);
    };
    return { ...handlers, watch: wrapped as unknown as Handlers[string] };
  }
}

/**
 * The grpc.health.v1 status of every listener: NOT_SERVING while the start-up reconcile runs,
 * SERVING once it has finished, NOT_SERVING again once shutdown starts (final: later changes
 * are ignored). Each listener gets its own health service answering for "" (the whole
 * server) and the services it serves. When shutdown starts, Watch clients are sent
 * NOT_SERVING and then their streams end, so they do not hold the server's drain open.
 */
export class ServingHealth {
  private status: ServingStatus = 'NOT_SERVING';
  private shuttingDown = false;
  private readonly listeners: Array<{ impl: EndableHealth; names: string[] }> = [];
  private announceStopping: () => void = () => undefined;
  /** Resolves when shutdown starts (long-lived streams end themselves then). */
  readonly stopping: Promise<void> = new Promise((resolve) => {
    this.announceStopping = resolve;
  });

  /** A health service for a listener that serves `services`. */
  forListener(services: readonly string[]): HealthImplementation {
    const names = ['', ...services];
    const impl = new EndableHealth(Object.fromEntries(names.map((n) => [n, this.status])));
    if (this.shuttingDown) impl.endWatches();
    this.listeners.push({ impl, names });
    return impl;
  }

  get current(): ServingStatus {
    return this.status;
  }

  /** Open health Watch streams on every listener. */
  get openWatches(): number {
    return this.listeners.reduce((n, { impl }) => n + impl.openWatches, 0);
  }

  markServing(): void {
    if (!this.shuttingDown) this.set('SERVING');
  }

  markShuttingDown(): void {
    if (this.shuttingDown) return;
    this.set('NOT_SERVING');
    this.shuttingDown = true;
    for (const { impl } of this.listeners) impl.endWatches();
    this.announceStopping();
  }

  private set(status: ServingStatus): void {
    this.status = status;
    for (const { impl, names } of this.listeners) for (const n of names) impl.setStatus(n, status);
  }
}
