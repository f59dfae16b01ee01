import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { BatchObserver } from '../datapath/batching-host-programmer';
import type { CniCallEvent, CniEventBus } from '../events/cni-events';
import { BatchMetrics } from './batch-metrics';
import { CniCallMetrics } from './cni-call-metrics';
import { type StoreGaugeSources, registerStoreGauges } from './store-gauges';
import { registerStartupGauges } from './startup-gauges';
import { type PolicyMetricsSource, registerPolicyMetrics } from './policy-metrics';
import type { StartupReport } from '../startup/startup-report';

export interface PodwireMetricsSources extends StoreGaugeSources {
  /** Pod netns netlink sockets held open for reuse, read at scrape time. */
  netnsSocketCacheSize: () => number;
  /**
   * prom-client's process and Node.js metrics (CPU, memory, fds, event loop lag, GC), under
   * their standard unprefixed names (process_*, nodejs_*) so stock dashboards and alerts
   * work; podwire's own metrics all start with podwire_. Default true.
   */
  processMetrics?: boolean;
  /** What the last start did (reconcile, phases, verification), read at scrape time. */
  startup?: () => StartupReport;
  /** Veth pairs DEL or GC detached that are not destroyed yet, read at scrape time. */
  pendingLinkDestructions?: () => number;
  /** The last path MTU probe to each VXLAN peer, read at scrape time. */
  peerPathMtus?: () => ReadonlyArray<{ peer: string; pathMtu: number; tooSmall: boolean }>;
}

/** The exposition of one scrape. */
export interface MetricsExposition {
  contentType: string;
  body: string;
}

/**
 * All of podwired's Prometheus metrics, in a registry of their own (never prom-client's
 * global one): CNI calls (fed by the CniEventBus), host programmer batch sizes (fed by the
 * BatchingHostProgrammer's observer) and gauges read at scrape time.
 */
export class PodwireMetrics {
  readonly registry = new Registry();
  private readonly calls: CniCallMetrics;
  private readonly batches: BatchMetrics;

  /** NetworkPolicy's gauges, counters and timings (podwired with a policy source). */
  observePolicy(source: PolicyMetricsSource): void {
    registerPolicyMetrics(this.registry, source);
  }

  constructor(sources: PodwireMetricsSources) {
    this.calls = new CniCallMetrics(this.registry);
    this.batches = new BatchMetrics(this.registry);
    registerStoreGauges(this.registry, sources);
    new Gauge({
      name: 'podwire_netns_socket_cache_size',
      help: 'Netlink sockets open inside pod network namespaces now: only while a call runs in them (podwired pins no netns between calls).',
      registers: [this.registry],
      collect() {
        this.set(sources.netnsSocketCacheSize());
      },
    });
    if (sources.startup) registerStartupGauges(this.registry, sources.startup);
    const pending = sources.pendingLinkDestructions;
    if (pending) {
      new Gauge({
        name: 'podwire_link_destructions_pending',
        help: 'Veth pairs that DEL or GC detached and the background reaper has not destroyed yet.',
        registers: [this.registry],
        collect() {
          this.set(pending());
        },
      });
    }
    const pathMtus = sources.peerPathMtus;
    if (pathMtus) {
      new Gauge({
        name: 'podwire_peer_path_mtu_bytes',
        help: 'The path MTU the last probe found to each VXLAN peer node (peers.encapsulation vxlan*).',
        labelNames: ['peer'],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const p of pathMtus()) this.set({ peer: p.peer }, p.pathMtu);
        },
      });
      new Gauge({
        name: 'podwire_peer_path_mtu_too_small',
        help: "1 when a VXLAN peer's path MTU is smaller than the pods' MTU plus the VXLAN overhead (large packets to it are lost), else 0.",
        labelNames: ['peer'],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const p of pathMtus()) this.set({ peer: p.peer }, p.tooSmall ? 1 : 0);
        },
      });
    }
    if (sources.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** For the BatchingHostProgrammer's third constructor argument. */
  get observeBatch(): BatchObserver {
    return this.batches.observe;
  }

  observeCniCall(event: CniCallEvent): void {
    this.calls.observe(event);
  }

  /** Counts every CNI call published on `bus`; the returned function stops it. */
  subscribeTo(bus: CniEventBus): () => void {
    return this.calls.subscribeTo(bus);
  }

  /** The Prometheus text exposition, gauges read now. */
  async expose(): Promise<MetricsExposition> {
    const body = await this.registry.metrics();
    return { contentType: this.registry.contentType, body };
  }
}
