import type { Logger } from 'pino';
import type { ClusterConfig } from '../config/cluster-config';
import { NodePodCidrs } from './node-pod-cidrs';
import type { PeerSnapshot } from './peer';
import type { PeerRouteTable } from './peer-route-table';
import { PeerRouter, type RouteChanger } from './peer-router';
import { type PeerRoutingStatus, peerRoutingStatus } from './peer-routing-status';
import { NoPeerSource, type PeerSource } from './peer-source';
import { StaticPeerSource } from './static-peer-source';
import type { RtnlSocket } from '../rtnl/rtnl-socket';
import { VxlanOverlay, removeVxlanLeftovers } from './vxlan-overlay';
import type { KernelLink } from '../rtnl/kernel-objects';
import { NO_OVERLAY, overlayChangeNeedingRestart, vxlanDeviceName } from '../config/overlay-config';
import { VxlanFilter } from './vxlan-filter';
import { NftContext } from '../nft/nft-context';

export interface PeerRoutingOptions {
  /** How often the kernel is compared with the peer set again (repairs routes removed behind podwired's back). 0: never. */
  resyncMs?: number;
  /** Builds the Kubernetes source (injected so tests and podwired can differ). */
  kubernetes?: (kubeconfig: string | undefined, nodeName: string) => Promise<PeerSource>;
  /** For `peers.encapsulation` other than none: a host socket for the VXLAN layer, and podwired's owner tag (the device's alias). */
  vxlan?: {
    sock: RtnlSocket;
    ownerTag: string;
    /** The nftables context of the VXLAN port filter (default: one in this thread's netns). */
    nft?: () => NftContext;
    /** The host's links as read at start: VXLAN devices left from another configuration are removed. */
    startupLinks?: Promise<readonly KernelLink[]>;
    /** Probe the path MTU to every VXLAN peer after each pass (UDP datagrams from this thread's netns). */
    probePathMtu?: boolean;
  };
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
  /** This node's addresses as its Node object gives them (used when node.nodeIPs is not configured). */
  private learntNodeIPs: string[] = [];
  /** What close() releases besides the source and timer (the VXLAN filter's nftables context). */
  private readonly closers: Array<() => void> = [];
  private lastPeers: PeerSnapshot['peers'] = [];
  private readonly peerListeners: Array<(peerPodCidrs: string[]) => void> = [];
  /** The removal of VXLAN devices left from another configuration (never rejects: failures are logged). */
  private leftoversRemoved: Promise<void> = Promise.resolve();

  private constructor(
    readonly node: NodePodCidrs,
    readonly source: PeerSource,
    readonly router: PeerRouter,
    private readonly log: Logger,
    /** The VXLAN layer, when encapsulation is on. */
    readonly overlay?: VxlanOverlay,
  ) {
    this.status = peerRoutingStatus(source.kind, node, router);
    this.firstPass = new Promise((resolve) => (this.markFirst = resolve));
  }

  static async create(
    cluster: ClusterConfig,
    programmer: RouteChanger,
    table: PeerRouteTable,
    log: Logger,
    opts: PeerRoutingOptions = {},
  ): Promise<PeerRouting> {
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
    let overlay: VxlanOverlay | undefined;
    const closers: Array<() => void> = [];
    // VXLAN devices left from another configuration (from the start-up read of the host). With
    // an overlay to create, removed first; without one, removed while podwired goes on
    // starting (it needs the host read, which may still be under way): ready() waits for it,
    // so it is done before serving all the same.
    const leftovers = opts.vxlan?.startupLinks ? PeerRouting.removeLeftovers(cluster, opts.vxlan, log) : Promise.resolve();
    if (cluster.overlay.encapsulation !== 'none') await leftovers;
    const localIPs = { get: (): readonly string[] => cluster.node.nodeIPs };
    if (cluster.overlay.encapsulation !== 'none') {
      if (!opts.vxlan) throw new Error('peers.encapsulation needs a socket for the VXLAN device in this build');
      const nft = (opts.vxlan.nft ?? (() => NftContext.open()))();
      closers.push(() => nft.close());
      const filter = new VxlanFilter({ context: nft, ownerTag: opts.vxlan.ownerTag, vni: cluster.overlay.vxlan.vni, port: cluster.overlay.vxlan.port });
      overlay = new VxlanOverlay({
        sock: opts.vxlan.sock,
        config: cluster.overlay,
        ownerTag: opts.vxlan.ownerTag,
        localIPs: () => localIPs.get(),
        ownPodCIDRs: () => node.podCidrs(),
        filter,
        ...(opts.vxlan.probePathMtu ? { probe: {} } : {}),
        log,
      });
    }
    const routing = new PeerRouting(node, source, new PeerRouter(programmer, table, node, log, overlay ? { overlay } : {}), log, overlay);
    if (cluster.node.nodeIPs.length === 0) localIPs.get = () => routing.learntNodeIPs;
    routing.closers.push(...closers);
    routing.leftoversRemoved = leftovers;
    // The underlay's MTU before serving: ADD's default pod MTU depends on it.
    await overlay?.readUnderlay().catch((err: unknown) => log.warn({ err }, 'vxlan: could not read the underlay link at start'));
    routing.start(opts.resyncMs ?? 60_000);
    return routing;
  }

  /** A VXLAN device (and port filter) left by an earlier configuration (encapsulation off, another VNI) is removed. */
  private static async removeLeftovers(cluster: ClusterConfig, vxlan: NonNullable<PeerRoutingOptions['vxlan']>, log: Logger): Promise<void> {
    const on = cluster.overlay.encapsulation !== 'none';
    try {
      const links = (await vxlan.startupLinks) ?? [];
      const removed = await removeVxlanLeftovers({
        sock: vxlan.sock,
        ownerTag: vxlan.ownerTag,
        links,
        ...(on ? { keep: vxlanDeviceName(cluster.overlay.vxlan.vni) } : {}),
      });
      if (removed.length === 0) return;
      log.info({ removed, encapsulation: cluster.overlay.encapsulation }, 'vxlan: removed VXLAN devices left from an earlier configuration');
      if (!on) {
        const nft = (vxlan.nft ?? (() => NftContext.open()))();
        try {
          new VxlanFilter({ context: nft, ownerTag: vxlan.ownerTag, vni: cluster.overlay.vxlan.vni, port: cluster.overlay.vxlan.port }).remove();
        } finally {
          nft.close();
        }
      }
    } catch (err) {
      log.warn({ err }, 'vxlan: could not remove VXLAN devices left from an earlier configuration');
    }
  }

  private start(resyncMs: number): void {
    this.source.start((snapshot: PeerSnapshot) => {
      // ADD's range checks see the new peers' pod CIDRs at once, before their routes are programmed.
      this.node.learnPeers(snapshot.peers);
      if (snapshot.selfNodeIPs) this.learntNodeIPs = [...snapshot.selfNodeIPs];
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

  /**
   * Resolves after the VXLAN leftovers of the start are removed (however long that takes) and
   * the first peer set has been programmed, or `timeoutMs` after the former (false then).
   */
  async ready(timeoutMs: number): Promise<boolean> {
    await this.leftoversRemoved;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const done = await Promise.race([this.firstPass.then(() => true), timedOut]);
    clearTimeout(timer);
    return done;
  }

  /** The largest pod MTU the encapsulation carries; undefined without encapsulation (no limit of podwire's). */
  maxPodMtu(): number | undefined {
    return this.overlay?.maxPodMtu();
  }

  /** SIGHUP: a re-read configuration. Static peers are replaced; other changes need a restart (returned as a note). */
  reload(cluster: ClusterConfig): string {
    const overlayNote = overlayChangeNeedingRestart(this.overlay ? this.overlay.config : NO_OVERLAY, cluster.overlay);
    if (overlayNote !== undefined) return overlayNote;
    if (cluster.peers.source !== this.source.kind)
      return `peers.source changed from ${this.source.kind} to ${cluster.peers.source}: restart podwired to apply it`;
    if (this.source instanceof StaticPeerSource && cluster.peers.source === 'static') {
      this.source.replace(cluster.peers.peers);
      return `static peers reloaded (${cluster.peers.peers.length})`;
    }
    return 'nothing to reload for this peer source';
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.source.stop();
    for (const close of this.closers.splice(0)) close();
  }
}
