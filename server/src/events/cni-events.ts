import type { CniVerb } from '../cni/cni-invocation';

/**
 * One record per completed CNI call, published to whoever listens: the Debug service's
 * WatchEvents streams and the Prometheus metrics. Publishing never blocks or throws into the
 * CNI path: a listener that throws is dropped from that one delivery and logged by the caller.
 */

/** How a call ended (the Debug service sends it as the CniEventOutcome enum). */
export type CniOutcome = 'ok' | 'error' | 'abandoned';

export interface CniCallEvent {
  /** The id every log line of the call carries. */
  requestId: string;
  /** When the call completed. */
  time: Date;
  /** The RPC the call came in on (the Debug service sends it as the CniVerb enum). */
  verb: CniVerb;
  containerId: string;
  ifname: string;
  /** The network name from the config, '' when the config could not be read. */
  network: string;
  podNamespace: string;
  podName: string;
  durationMs: number;
  outcome: CniOutcome;
  /** CNI error code when outcome is 'error', else 0. */
  errorCode: number;
  errorMsg: string;
}

export type CniEventListener = (event: CniCallEvent) => void;

export class CniEventBus {
  private readonly listeners = new Set<CniEventListener>();

  /** Adds a listener; the returned function removes it. */
  subscribe(listener: CniEventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Delivers to every listener; returns the errors listeners threw (none are rethrown). */
  publish(event: CniCallEvent): unknown[] {
    const errors: unknown[] = [];
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        errors.push(err);
      }
    }
    return errors;
  }
}
