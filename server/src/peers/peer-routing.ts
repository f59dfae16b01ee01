import type { Logger } from 'pino';
import { ClusterConfig } from '../config/cluster-config';
import { NodePodCidrs } from './node-pod-cidrs';
import { PeerSnapshot } from './peer';
import { PeerRouteTable } from './peer-route-table';
import { PeerRouter, RouteChanger } from './peer-router';
import { PeerRoutingStatus, peerRoutingStatus } from './peer-routing-status';
import { NoPeerSource, PeerSource } from './peer-source';
import { StaticPeerSource } from './static-peer-source';

export interface PeerRoutingOptions {
  /** How often the kernel is compared with the peer set again (repairs routes removed behind podwired's back). 0: never. */
  resyncMs?: number;
  /** Builds the Kubernetes source (injected so tests and podwired can differ). */
  kubernetes?: (kubeconfig: string | undefined, nodeName: string) => Promise<PeerSource>;
}

/**
 * Cross-node routing as podwired runs it: this node's pod CIDRs, the configured peer source,
 * and the router that programs `peerPodCIDR via peerNodeIP` for every peer it reports.
 */
export class PeerRouting {
  readonly status: PeerRoutingStatus;
  private timer: NodeJS.Timeout | undefined;
  private firstPass: Promise<void>;
  private markFirst: () => void = () => undefined;
  private lastPeers: PeerSnapshot['peers'] = [];
  private readonly peerListeners: Array<(peerPodCidrs: string[]) => void> = [];

  private constructor(
    readonly node: NodePodCidrs,
    readonly source: PeerSource,
    readonly router: PeerRouter,
    private readonly log: Logger,
  ) {
    this.status = peerRoutingStatus(source.kind, node, router);
    this.firstPass = new Promise((resolve) => (this.markFirst = resolve));
  }

  static async create(cluster: ClusterConfig, programmer: RouteChanger, table: PeerRouteTable, log: Logger, opts: PeerRoutingOptions = {}): Promise<PeerRouting> {
    const node = new NodePodCidrs(cluster.node.name, cluster.node.podCIDRs);
    let source: PeerSource;
    switch (cluster.peers.source) {
      case 'none':
        source = new NoPeerSource();
        break;
      case 'static':
        source = new StaticPeerSource(cluster.peers.peers);
        break;
      case 'kubernetes': {
        if (!opts.kubernetes) throw new Error('the kubernetes peer source is not available in this build');
        source = await opts.kubernetes(cluster.peers.kubeconfig, cluster.node.name);
        break;
      }
    }
    const routing = new PeerRouting(node, source, new PeerRouter(programmer, table, node, log), log);
    routing.start(opts.resyncMs ?? 60_000);
    return routing;
  }

  private start(resyncMs: number): void {
    this.source.start((snapshot: PeerSnapshot) => {
      // ADD's range checks see the new peers' pod CIDRs at once, before their routes are programmed.
      this.node.learnPeers(snapshot.peers);
      const pass = this.router.update(snapshot);
      // After update(): this node's pod CIDRs learnt from the snapshot are already in `node`.
      this.lastPeers = snapshot.peers;
      for (const l of this.peerListeners) l(this.peerPodCidrs());
      void pass.then(
        (report) => {
          this.log.info({ source: this.source.kind, peers: snapshot.peers.length, ...report }, 'peers: routes reconciled with the peer set');
          this.markFirst();
        },
        (err: unknown) => this.log.error({ err }, 'peers: could not reconcile peer routes'),
      );
    });
    if (resyncMs > 0) {
      this.timer = setInterval(() => {
        void this.router.resync().then(
          (report) => {
            if (report.added + report.updated + report.removed + report.failed > 0) this.log.warn({ ...report }, 'peers: periodic resync repaired peer routes');
          },
          (err: unknown) => this.log.error({ err }, 'peers: periodic resync failed'),
        );
      }, resyncMs);
      this.timer.unref();
    }
  }

  /** Every peer's pod CIDRs in the latest peer set (empty before the first). */
  peerPodCidrs(): string[] {
    return this.lastPeers.flatMap((p) => p.podCIDRs);
  }

  /** Told with every peer's pod CIDRs whenever the source delivers a peer set (egress masquerade's cluster set). */
  onPeerSet(listener: (peerPodCidrs: string[]) => void): void {
    this.peerListeners.push(listener);
  }

  /** Resolves after the first peer set has been programmed, or after `timeoutMs` (false then). */
  async ready(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const done = await Promise.race([this.firstPass.then(() => true), timedOut]);
    clearTimeout(timer);
    return done;
  }

  /** SIGHUP: a re-read configuration. Static peers are replaced; other changes need a restart (returned as a note). */
  reload(cluster: ClusterConfig): string {
    if (cluster.peers.source !== this.source.kind) return `peers.source changed from ${this.source.kind} to ${cluster.peers.source}: restart podwired to apply it`;
    if (this.source instanceof StaticPeerSource && cluster.peers.source === 'static') {
      this.source.replace(cluster.peers.peers);
      return `static peers reloaded (${cluster.peers.peers.length})`;
    }
    return 'nothing to reload for this peer source';
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.source.stop();
  }
}
