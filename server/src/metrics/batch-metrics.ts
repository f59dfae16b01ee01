import { Histogram, type Registry } from 'prom-client';
import type { BatchObserver } from '../datapath/batching-host-programmer';

/** Batch sizes up to a few hundred: a mass pod deletion on a busy node. */
export const BATCH_SIZE_BUCKETS: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

const KINDS: ReadonlyArray<Parameters<BatchObserver>[0]> = ['link-delete', 'route'];

/** Sizes of the batches the host programmer sends to the kernel, by kind. */
export class BatchMetrics {
  private readonly sizes: Histogram<'kind'>;

  constructor(registry: Registry) {
    this.sizes = new Histogram({
      name: 'podwire_host_programmer_batch_size',
      help: 'Number of host changes the batching host programmer sent to the kernel in one batch, by kind (link-delete, route).',
      labelNames: ['kind'],
      buckets: [...BATCH_SIZE_BUCKETS],
      registers: [registry],
    });
    for (const kind of KINDS) this.sizes.zero({ kind });
  }

  /** The BatchingHostProgrammer's observer (bound, so it can be passed as is). */
  readonly observe: BatchObserver = (kind, size) => {
    this.sizes.observe({ kind }, size);
  };
}
