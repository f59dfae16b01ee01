import { type PeerRoute, RTPROT_PODWIRE_PEER } from '../datapath/host-routes';
import { type KernelRoute, RT_TABLE_MAIN } from '../rtnl/kernel-objects';
import type { RtnlSocket } from '../rtnl/rtnl-socket';
import { takeSnapshot } from '../rtnl/snapshot';

/** The peer routes (proto 198, main table) in the kernel now. */
export interface PeerRouteTable {
  /** A read of the kernel now (what ListPeers shows). */
  list(): Promise<PeerRoute[]>;
  /** What a sync pass diffs against: list(), except that a table may answer the first pass from a read it was given. */
  listForPass?(): Promise<PeerRoute[]>;
}

/** How long after podwired received the start-up read the first pass may still take it. */
export const FIRST_READ_MAX_AGE_MS = 5_000;

/**
 * Reads podwire's peer routes from a route snapshot on the host's dump socket (dumps there run
 * one at a time). The first pass (listForPass()) may be answered from routes read moments
 * before (podwired's start-up read of the host: nothing of podwired changes peer routes before
 * the router's first pass); a read that failed, or that came more than `maxAgeMs` before the
 * pass (a peer source whose first peer set came late), is replaced by a dump. list() always
 * dumps, so a ListPeers before the first pass neither uses up nor sees that read.
 */
export class SnapshotPeerRouteTable implements PeerRouteTable {
  private first: Promise<{ routes: readonly KernelRoute[]; at: number } | undefined> | undefined;

  constructor(
    private readonly dumps: RtnlSocket,
    first?: Promise<readonly KernelRoute[]>,
    private readonly maxAgeMs = FIRST_READ_MAX_AGE_MS,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.first = first?.then(
      (routes) => ({ routes, at: this.now() }),
      () => undefined,
    );
  }

  async list(): Promise<PeerRoute[]> {
    return peerRoutesOf((await takeSnapshot(this.dumps, ['routes'])).routes);
  }

  async listForPass(): Promise<PeerRoute[]> {
    const pending = this.first;
    this.first = undefined;
    const first = pending && (await pending);
    if (first && this.now() - first.at <= this.maxAgeMs) return peerRoutesOf(first.routes);
    return this.list();
  }
}

/** podwire's peer routes (proto 198, main table, never a default route) among `routes`. */
function peerRoutesOf(routes: readonly KernelRoute[]): PeerRoute[] {
  return routes
    .filter((r) => r.protocol === RTPROT_PODWIRE_PEER && r.table === RT_TABLE_MAIN && r.dstLen > 0)
    .map((r) => ({ dst: `${r.dst}/${r.dstLen}`, gateway: r.gateway, ...(r.oif ? { oif: r.oif } : {}) }));
}
