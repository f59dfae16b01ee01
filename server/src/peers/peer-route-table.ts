import { PeerRoute, RTPROT_PODWIRE_PEER } from '../datapath/host-routes';
import { KernelRoute, RT_TABLE_MAIN } from '../rtnl/kernel-objects';
import type { RtnlSocket } from '../rtnl/rtnl-socket';
import { takeSnapshot } from '../rtnl/snapshot';

/** The peer routes (proto 198, main table) in the kernel now. */
export interface PeerRouteTable {
  list(): Promise<PeerRoute[]>;
}

/**
 * Reads podwire's peer routes from a route snapshot on the host's dump socket (dumps there run
 * one at a time). The first list() may be answered from routes read moments before (podwired's
 * start-up read of the host, taken before anything changes peer routes); a failed first read
 * falls back to a dump.
 */
export class SnapshotPeerRouteTable implements PeerRouteTable {
  private first: Promise<readonly KernelRoute[]> | undefined;

  constructor(
    private readonly dumps: RtnlSocket,
    first?: Promise<readonly KernelRoute[]>,
  ) {
    this.first = first;
  }

  async list(): Promise<PeerRoute[]> {
    const first = this.first;
    this.first = undefined;
    const routes = (first && (await first.catch(() => undefined))) || (await takeSnapshot(this.dumps, ['routes'])).routes;
    return routes
      .filter((r) => r.protocol === RTPROT_PODWIRE_PEER && r.table === RT_TABLE_MAIN && r.dstLen > 0)
      .map((r) => ({ dst: `${r.dst}/${r.dstLen}`, gateway: r.gateway }));
  }
}
