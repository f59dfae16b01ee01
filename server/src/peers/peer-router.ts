import type { Logger } from 'pino';
import type { RouteChangeOutcome } from '../datapath/host-programmer';
import type { PeerRoute, RouteChange } from '../datapath/host-routes';
import type { NodePodCidrs } from './node-pod-cidrs';
import { type DesiredPeerRoute, type PeerSnapshot, desiredPeerRoutes } from './peer';
import type { PeerRouteTable } from './peer-route-table';
import { NO_OVERLAY_PLAN, type OverlayPlan, type PeerOverlay, type PlannedRoute } from './vxlan-overlay';

/** The batched programmer (BatchingHostProgrammer): all changes of a pass go out as one batch. */
export interface RouteChanger {
  applyRouteChanges(changes: readonly RouteChange[]): Promise<RouteChangeOutcome[]>;
}

/** What one pass changed. */
export interface PeerSyncReport {
  /** Routes created (a peer CIDR that had none). */
  added: number;
  /** Routes whose gateway changed (the peer's node address moved): the old route deleted, the new one created. */
  updated: number;
  /** podwire peer routes no peer accounts for any more, removed. */
  removed: number;
  /**
   * Changes the kernel refused (each logged with its reason), e.g. a create that finds a route
   * to the same destination podwire does not own (EEXIST: that route is left alone).
   */
  failed: number;
  /** Routes already as wanted. */
  unchanged: number;
}

/** One peer with its routes as ListPeers shows them. */
export interface PeerRouteStatus {
  name: string;
  nodeIPs: string[];
  podCIDRs: string[];
  /** direct (via its node address), vxlan (through the VXLAN device), mixed (one family each), '' (not routed). */
  mode: string;
  /** Its VTEP MAC and the node address VXLAN packets go to ('' when not through VXLAN). */
  vtepMac: string;
  vtepUnderlay: string;
  /** The last path MTU probe to its node address (VXLAN peers; 0: not probed) and a warning when it is too small. */
  pathMtu: number;
  pathMtuWarning: string;
  routes: Array<{ dst: string; gateway: string; programmed: boolean; error: string; mode: string }>;
}

export interface PeerRouterOptions {
  /** How each route is programmed (direct or through the VXLAN overlay); absent: direct. */
  overlay?: PeerOverlay;
}

function sameRoute(kernel: PeerRoute, wanted: PlannedRoute): boolean {
  return kernel.gateway === wanted.gateway && (wanted.oif === undefined || kernel.oif === wanted.oif);
}

/**
 * Keeps the kernel's peer routes (`peerPodCIDR via peerNodeIP`, proto 198, main table) equal
 * to what the current peer set needs. Every pass compares the wanted routes with the kernel's
 * own table, not with what it did last, so a restart, a route someone deleted or a change
 * made while podwired was down all converge the same way: stale routes removed, missing ones
 * added, moved ones deleted and created again through the new gateway, all in one batch
 * through the programmer (deletes first: the kernel applies a batch in order). Only
 * proto-198 routes are ever deleted, each by destination and gateway; a create never
 * replaces anything, so a route to a peer CIDR that someone else owns (proto static, another
 * CNI) stays and the create fails with EEXIST (reported like any refused route). Passes never
 * overlap; requests that arrive while one is queued share it.
 */
export class PeerRouter {
  private snapshot: PeerSnapshot | undefined;
  private desired: DesiredPeerRoute[] = [];
  private plan: OverlayPlan = { routes: new Map(), errors: new Map(), paths: new Map() };
  private readonly overlay: PeerOverlay;
  /** Why the kernel refused a wanted route in the last pass, by destination. */
  private readonly refused = new Map<string, string>();
  private chain: Promise<unknown> = Promise.resolve();
  private queued: Promise<PeerSyncReport> | undefined;

  constructor(
    private readonly programmer: RouteChanger,
    private readonly table: PeerRouteTable,
    private readonly node: NodePodCidrs,
    private readonly log: Logger,
    opts: PeerRouterOptions = {},
  ) {
    this.overlay = opts.overlay ?? NO_OVERLAY_PLAN;
  }

  /** True once a peer set has been delivered (before that no pass runs: an unknown set is not an empty one). */
  get hasPeers(): boolean {
    return this.snapshot !== undefined;
  }

  /** A new peer set from the source: one pass, resolved with what it changed. */
  update(snapshot: PeerSnapshot): Promise<PeerSyncReport> {
    this.snapshot = snapshot;
    if (snapshot.selfPodCIDRs && this.node.learn(snapshot.selfPodCIDRs)) {
      this.log.info({ podCIDRs: this.node.podCidrs() }, 'peers: this node pod CIDRs learnt from its Node object');
    }
    return this.requestPass();
  }

  /** Repairs the kernel against the current peer set (periodic, or on demand). No-op before the first set. */
  resync(): Promise<PeerSyncReport> {
    return this.snapshot ? this.requestPass() : Promise.resolve({ added: 0, updated: 0, removed: 0, failed: 0, unchanged: 0 });
  }

  private requestPass(): Promise<PeerSyncReport> {
    if (this.queued) return this.queued;
    const pass = this.chain.then(() => {
      this.queued = undefined;
      return this.pass();
    });
    this.queued = pass;
    this.chain = pass.catch(() => undefined);
    return pass;
  }

  private async pass(): Promise<PeerSyncReport> {
    const snapshot = this.snapshot ?? { peers: [] };
    this.desired = desiredPeerRoutes(snapshot.peers, this.node.podCidrs());
    // The overlay first: the VXLAN device, neighbours and FDB entries exist before a route uses them.
    this.plan = await this.overlay.plan(snapshot.peers, this.desired);
    const wanted = this.plan.routes;
    const kernel = await (this.table.listForPass ? this.table.listForPass() : this.table.list());
    const report: PeerSyncReport = { added: 0, updated: 0, removed: 0, failed: 0, unchanged: 0 };
    const changes: RouteChange[] = [];
    /** removed: no longer wanted; moving: the old gateway's route, deleted before the new one is created. */
    const kinds: Array<'added' | 'updated' | 'removed' | 'moving'> = [];
    const inKernel = new Map<string, PeerRoute[]>();
    for (const k of kernel) inKernel.set(k.dst, [...(inKernel.get(k.dst) ?? []), k]);
    for (const [dst, routes] of inKernel) {
      const want = wanted.get(dst);
      const gateway = want?.gateway;
      // Keep the one route that is already as wanted; delete every other (by its gateway, so
      // no delete can take the kept one with it).
      const keep = want === undefined ? undefined : routes.find((r) => sameRoute(r, want));
      for (const r of routes) {
        if (r === keep) continue;
        if (keep !== undefined && r.gateway === keep.gateway) continue; // a duplicate of the kept route: deleting it by gateway could hit either
        changes.push({ op: 'delete', route: r });
        // Moving only when no route through the wanted gateway stays (one is created after it).
        kinds.push(keep === undefined && gateway !== undefined ? 'moving' : 'removed');
      }
    }
    for (const [dst, want] of wanted) {
      const present = inKernel.get(dst) ?? [];
      if (present.some((r) => sameRoute(r, want))) {
        report.unchanged++;
        this.refused.delete(dst);
        continue;
      }
      changes.push({ op: 'create', route: { dst, gateway: want.gateway, ...(want.oif !== undefined ? { oif: want.oif, onlink: want.onlink === true } : {}) } });
      kinds.push(present.length > 0 ? 'updated' : 'added');
    }
    const outcomes = changes.length > 0 ? await this.programmer.applyRouteChanges(changes) : [];
    changes.forEach((change, i) => {
      const error = outcomes[i]?.error;
      const kind = kinds[i] ?? 'added';
      const { dst, gateway } = change.route;
      if (error !== undefined) {
        report.failed++;
        if (change.op === 'create') this.refused.set(dst, error);
        const hint = change.op === 'create' && /EEXIST/.test(error) ? "another route to this destination (not podwire's) is in the way; left alone" : undefined;
        this.log.warn({ dst, gateway, op: change.op, err: error, ...(hint ? { hint } : {}) }, 'peers: the kernel refused a peer route change');
        return;
      }
      if (kind === 'moving') return; // told with its create
      report[kind]++;
      if (change.op === 'create') this.refused.delete(dst);
      if (kind === 'updated') {
        const previous = (inKernel.get(dst) ?? []).map((r) => r.gateway);
        this.log.info({ dst, gateway, previous }, 'peers: moved a peer route to a new gateway');
      } else {
        this.log.info({ dst, gateway }, kind === 'removed' ? 'peers: removed a peer route' : 'peers: added a peer route');
      }
    });
    for (const dst of this.refused.keys()) if (!wanted.has(dst)) this.refused.delete(dst);
    return report;
  }

  /** The last path MTU probe to each VXLAN peer (synchronous: what the metrics read at scrape time). */
  pathMtus(): Array<{ peer: string; pathMtu: number; tooSmall: boolean }> {
    const out: Array<{ peer: string; pathMtu: number; tooSmall: boolean }> = [];
    for (const [peer, path] of this.plan.paths) {
      const probed = path.underlay ? this.overlay.pathMtuOf?.(path.underlay) : undefined;
      if (probed) out.push({ peer, pathMtu: probed.pathMtu, tooSmall: probed.warning !== '' });
    }
    return out.sort((a, b) => (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0));
  }

  /** Every known peer with its routes, each marked programmed when the kernel holds it as wanted now. */
  async status(): Promise<PeerRouteStatus[]> {
    const kernel = await this.table.list();
    const peers = [...(this.snapshot?.peers ?? [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return peers.map((p) => {
      const path = this.plan.paths.get(p.name);
      const probed = path?.underlay ? this.overlay.pathMtuOf?.(path.underlay) : undefined;
      return {
        name: p.name,
        nodeIPs: [...p.nodeIPs],
        podCIDRs: [...p.podCIDRs],
        mode: path?.mode ?? '',
        vtepMac: path?.vtepMac ?? '',
        vtepUnderlay: path?.underlay ?? '',
        pathMtu: probed?.pathMtu ?? 0,
        pathMtuWarning: probed?.warning ?? '',
        routes: this.desired
          .filter((r) => r.peer === p.name)
          .map((r) => {
            const planned = this.plan.routes.get(r.dst);
            const programmed = r.error === undefined && planned !== undefined && kernel.some((k) => k.dst === r.dst && sameRoute(k, planned));
            const error = r.error ?? this.plan.errors.get(r.dst) ?? this.refused.get(r.dst) ?? (programmed ? '' : 'not in the kernel (yet)');
            return { dst: r.dst, gateway: planned?.gateway ?? r.gateway, programmed, error: programmed ? '' : error, mode: planned?.mode ?? '' };
          }),
      };
    });
  }
}
