import type { ListPeersReply } from '../generated/podwire/v1/ListPeersReply';
import type { PeerRoutingState, PeerRoutingStatus } from '../peers/peer-routing-status';
import { peerSourceKindEnum } from './wire-enums';

/**
 * What the Debug service's ListPeers answers from: this node's pod CIDRs, the peer source,
 * every known peer and the state of the routes programmed for it. The cross-node peer
 * routing provides the real one (peerStatusFrom); without peers configured, noPeerStatus.
 */
export interface PeerStatusSource {
  listPeers(): Promise<ListPeersReply>;
}

/** ListPeers from the peer routing's state; a dual-stack peer's node_ip lists its addresses comma-separated. */
export function listPeersReply(s: PeerRoutingState): ListPeersReply {
  return {
    source: peerSourceKindEnum(s.source),
    nodeName: s.nodeName,
    podCidrs: [...s.podCidrs],
    peers: s.peers.map((p) => ({
      name: p.name,
      nodeIp: p.nodeIPs.join(','),
      podCidrs: p.podCIDRs,
      routes: p.routes.map((r) => ({ destination: r.dst, gateway: r.gateway, programmed: r.programmed, error: r.error, mode: r.mode })),
      mode: p.mode,
      vtepMac: p.vtepMac,
      vtepUnderlay: p.vtepUnderlay,
      pathMtu: p.pathMtu,
      pathMtuWarning: p.pathMtuWarning,
    })),
  };
}

export function peerStatusFrom(routing: PeerRoutingStatus): PeerStatusSource {
  return { listPeers: async () => listPeersReply(await routing.state()) };
}

/** For a node with no peer source: its own name and pod CIDRs, no peers. */
export function noPeerStatus(nodeName: string, podCidrs: readonly string[]): PeerStatusSource {
  return {
    listPeers: async () => ({ source: peerSourceKindEnum('none'), nodeName, podCidrs: [...podCidrs], peers: [] }),
  };
}
