import { RtNetlinkSocket, createRtNetlink } from 'netlink';
import { AF_INET, AF_INET6, PeerRoute, RT_TABLE_MAIN, RTPROT_PODWIRE_PEER, bytesToAddress } from '../datapath/netlink-codec';
import { NL_OPTS } from '../datapath/netlink-timeout';
import { KeyedMutex } from '../keyed-mutex';

/** The peer routes (proto 198, main table) in the kernel now. */
export interface PeerRouteTable {
  list(): Promise<PeerRoute[]>;
  close(): void;
}

/**
 * Reads podwire's peer routes with a route dump on a netlink socket of its own (a dump shares
 * no socket with other requests: npm netlink cannot tell their replies apart), one at a time.
 */
export class NetlinkPeerRouteTable implements PeerRouteTable {
  private readonly dumps = new KeyedMutex();

  constructor(private readonly sock: RtNetlinkSocket = createRtNetlink()) {}

  list(): Promise<PeerRoute[]> {
    return this.dumps.run('dump', async () => {
      const routes: PeerRoute[] = [];
      for (const family of [AF_INET, AF_INET6]) {
        for (const r of await this.sock.getRoutes({ family }, {}, NL_OPTS)) {
          // npm netlink reports protocols it has no name for (such as ours) as plain numbers.
          if ((r.data.protocol as unknown) !== RTPROT_PODWIRE_PEER || !r.attrs.dst) continue;
          if ((r.attrs.table ?? r.data.table) !== RT_TABLE_MAIN) continue;
          routes.push({ dst: `${bytesToAddress(r.attrs.dst)}/${r.data.dstLen ?? 0}`, gateway: r.attrs.gateway ? bytesToAddress(r.attrs.gateway) : '' });
        }
      }
      return routes;
    });
  }

  close(): void {
    this.sock.socket.close();
  }
}
