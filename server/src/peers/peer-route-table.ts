import { PeerRoute, RTPROT_PODWIRE_PEER } from '../datapath/host-routes';
import { RT_TABLE_MAIN } from '../rtnl/kernel-objects';
import type { RtnlSocket } from '../rtnl/rtnl-socket';
import { takeSnapshot } from '../rtnl/snapshot';

/** The peer routes (proto 198, main table) in the kernel now. */
export interface PeerRouteTable {
  list(): Promise<PeerRoute[]>;
}

/** Reads podwire's peer routes from a route snapshot on the host's dump socket (dumps there run one at a time). */
export class SnapshotPeerRouteTable implements PeerRouteTable {
  constructor(private readonly dumps: RtnlSocket) {}

  async list(): Promise<PeerRoute[]> {
    const { routes } = await takeSnapshot(this.dumps, ['routes']);
    return routes
      .filter((r) => r.protocol === RTPROT_PODWIRE_PEER && r.table === RT_TABLE_MAIN && r.dstLen > 0)
      .map((r) => ({ dst: `${r.dst}/${r.dstLen}`, gateway: r.gateway }));
  }
}
