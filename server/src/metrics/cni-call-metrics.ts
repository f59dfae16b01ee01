import { Counter, Histogram, type Registry } from 'prom-client';
import type { CniVerb } from '../cni/cni-invocation';
import type { CniCallEvent, CniEventBus } from '../events/cni-events';

/** Every verb the shim forwards; their series exist (at zero) from the start. */
export const CNI_VERBS: readonly CniVerb[] = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'GET'];

/**
 * Latency buckets in seconds, 0.5 ms to 10 s: a warm STATUS or GET answers in well under a
 * millisecond, an ADD takes a few milliseconds, a link delete pays a kernel RCU grace period (README "Measured"),
 * and anything near 10 s is a stuck netlink request (each carries a 5 s timeout).
 */
export const CNI_DURATION_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Per-call figures fed from the CniEventBus: latency by verb, calls by verb and outcome, errors by CNI code. */
export class CniCallMetrics {
  private readonly duration: Histogram<'verb'>;
  private readonly requests: Counter<'verb' | 'outcome'>;
  private readonly errors: Counter<'verb' | 'code'>;

  constructor(registry: Registry) {
    this.duration = new Histogram({
      name: 'podwire_cni_request_duration_seconds',
      help: 'Time podwired took to answer a CNI call, from request to reply, by verb.',
      labelNames: ['verb'],
      buckets: [...CNI_DURATION_BUCKETS],
      registers: [registry],
    });
    this.requests = new Counter({
      name: 'podwire_cni_requests_total',
      help: 'CNI calls podwired completed, by verb and outcome (ok, error, or abandoned: an ADD whose caller gave up, rolled back).',
      labelNames: ['verb', 'outcome'],
      registers: [registry],
    });
    this.errors = new Counter({
      name: 'podwire_cni_errors_total',
      help: 'CNI calls answered with a CNI error, by verb and CNI error code.',
      labelNames: ['verb', 'code'],
      registers: [registry],
    });
    for (const verb of CNI_VERBS) {
      this.duration.zero({ verb });
      this.requests.inc({ verb, outcome: 'ok' }, 0);
      this.requests.inc({ verb, outcome: 'error' }, 0);
    }
  }

  /** Counts one completed call. */
  observe(event: CniCallEvent): void {
    this.duration.observe({ verb: event.verb }, event.durationMs / 1000);
    this.requests.inc({ verb: event.verb, outcome: event.outcome });
    if (event.outcome === 'error') this.errors.inc({ verb: event.verb, code: String(event.errorCode) });
  }

  /** Counts every call published on `bus` from now on; the returned function stops it. */
  subscribeTo(bus: CniEventBus): () => void {
    return bus.subscribe((event) => this.observe(event));
  }
}
