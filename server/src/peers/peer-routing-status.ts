import type { ListPeersReply } from '../generated/podwire/v1/ListPeersReply';
import { PeerStatusSource } from '../debug/peer-status';
import { peerSourceKindEnum } from '../debug/wire-enums';
import { NodePodCidrSource } from './node-pod-cidrs';
import { PeerRouter } from './peer-router';
import { PeerSourceKind } from './peer-source';

/**
 * The Debug service's ListPeers from the live peer routing: the source, this node's name and
 * pod CIDRs, and each peer with its routes, each checked against the kernel at call time.
 * A dual-stack peer's node_ip lists its addresses comma-separated.
 */
export function peerRoutingStatus(kind: PeerSourceKind, node: NodePodCidrSource, router: PeerRouter): PeerStatusSource {
  return {
    async listPeers(): Promise<ListPeersReply> {
      const peers = await router.status();
      return {
        source: peerSourceKindEnum(kind),
        nodeName: node.nodeName,
        podCidrs: [...node.podCidrs()],
        peers: peers.map((p) => ({
          name: p.name,
          nodeIp: p.nodeIPs.join(','),
          podCidrs: p.podCIDRs,
          routes: p.routes.map((r) => ({ destination: r.dst, gateway: r.gateway, programmed: r.programmed, error: r.error })),
        })),
      };
    },
  };
}
