import type { Logger } from 'pino';
import { RouteChangeOutcome } from '../datapath/host-programmer';
import { PeerRoute, RouteChange } from '../datapath/netlink-codec';
import { NodePodCidrs } from './node-pod-cidrs';
import { DesiredPeerRoute, PeerSnapshot, desiredPeerRoutes } from './peer';
import { PeerRouteTable } from './peer-route-table';

/** The batched programmer (BatchingHostProgrammer): all changes of a pass go out as one batch. */
export interface RouteChanger {
  applyRouteChanges(changes: readonly RouteChange[]): Promise<RouteChangeOutcome[]>;
}

/** What one pass changed. */
export interface PeerSyncReport {
  /** Routes created (a peer CIDR that had none). */
  added: number;
  /** Routes whose gateway changed (the peer's node address moved). */
  updated: number;
  /** podwire peer routes no peer accounts for any more, removed. */
  removed: number;
  /** Changes the kernel refused (each logged with its reason). */
  failed: number;
  /** Routes already as wanted. */
  unchanged: number;
}

/** One peer with its routes as ListPeers shows them. */
export interface PeerRouteStatus {
  name: string;
  nodeIPs: string[];
  podCIDRs: string[];
  routes: Array<{ dst: string; gateway: string; programmed: boolean; error: string }>;
}

/**
 * Keeps the kernel's peer routes (`peerPodCIDR via peerNodeIP`, proto 198, main table) equal
 * to what the current peer set needs. Every pass compares the wanted routes with the kernel's
 * own table, not with what it did last, so a restart, a route someone deleted or a change
 * made while podwired was down all converge the same way: stale routes removed, missing ones
 * added, moved ones replaced, all in one batch through the programmer. Passes never overlap;
 * requests that arrive while one is queued share it.
 */
export class PeerRouter {
  private snapshot: PeerSnapshot | undefined;
  private desired: DesiredPeerRoute[] = [];
  /** Why the kernel refused a wanted route in the last pass, by destination. */
  private readonly refused = new Map<string, string>();
  private chain: Promise<unknown> = Promise.resolve();
  private queued: Promise<PeerSyncReport> | undefined;

  constructor(
    private readonly programmer: RouteChanger,
    private readonly table: PeerRouteTable,
    private readonly node: NodePodCidrs,
    private readonly log: Logger,
  ) {}

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
    const wanted = new Map(this.desired.filter((r) => r.error === undefined).map((r) => [r.dst, r.gateway]));
    const kernel = await this.table.list();
    const report: PeerSyncReport = { added: 0, updated: 0, removed: 0, failed: 0, unchanged: 0 };
    const changes: RouteChange[] = [];
    const kinds: Array<'added' | 'updated' | 'removed'> = [];
    const inKernel = new Map<string, PeerRoute[]>();
    for (const k of kernel) inKernel.set(k.dst, [...(inKernel.get(k.dst) ?? []), k]);
    for (const [dst, routes] of inKernel) {
      const gateway = wanted.get(dst);
      // Keep one route per wanted destination (a replace fixes its gateway); remove the rest.
      const keep = gateway === undefined ? undefined : (routes.find((r) => r.gateway === gateway) ?? routes[0]);
      for (const r of routes) {
        if (r !== keep) {
          changes.push({ op: 'delete', route: r });
          kinds.push('removed');
        }
      }
    }
    for (const [dst, gateway] of wanted) {
      const present = inKernel.get(dst) ?? [];
      if (present.some((r) => r.gateway === gateway)) {
        report.unchanged++;
        this.refused.delete(dst);
        continue;
      }
      changes.push({ op: 'replace', route: { dst, gateway } });
      kinds.push(present.length > 0 ? 'updated' : 'added');
    }
    const outcomes = changes.length > 0 ? await this.programmer.applyRouteChanges(changes) : [];
    changes.forEach((change, i) => {
      const error = outcomes[i]?.error;
      const kind = kinds[i] ?? 'added';
      const { dst, gateway } = change.route;
      if (error !== undefined) {
        report.failed++;
        if (change.op === 'replace') this.refused.set(dst, error);
        this.log.warn({ dst, gateway, op: change.op, err: error }, 'peers: the kernel refused a peer route change');
        return;
      }
      report[kind]++;
      if (change.op === 'replace') this.refused.delete(dst);
      this.log.info({ dst, gateway }, kind === 'removed' ? 'peers: removed a peer route' : kind === 'updated' ? 'peers: moved a peer route to a new gateway' : 'peers: added a peer route');
    });
    for (const dst of this.refused.keys()) if (!wanted.has(dst)) this.refused.delete(dst);
    return report;
  }

  /** Every known peer with its routes, each marked programmed when the kernel holds it as wanted now. */
  async status(): Promise<PeerRouteStatus[]> {
    const kernel = new Set((await this.table.list()).map((r) => `${r.dst} via ${r.gateway}`));
    const peers = [...(this.snapshot?.peers ?? [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return peers.map((p) => ({
      name: p.name,
      nodeIPs: [...p.nodeIPs],
      podCIDRs: [...p.podCIDRs],
      routes: this.desired
        .filter((r) => r.peer === p.name)
        .map((r) => {
          const programmed = r.error === undefined && kernel.has(`${r.dst} via ${r.gateway}`);
          const error = r.error ?? this.refused.get(r.dst) ?? (programmed ? '' : 'not in the kernel (yet)');
          return { dst: r.dst, gateway: r.gateway, programmed, error: programmed ? '' : error };
        }),
    }));
  }
}
