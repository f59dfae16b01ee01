import type { NodePodCidrSource } from './node-pod-cidrs';
import type { PeerRouteStatus, PeerRouter } from './peer-router';
import type { PeerSourceKind } from './peer-source';

/** The cross-node routing as it is now: the source, this node, and each peer with its routes (checked against the kernel). */
export interface PeerRoutingState {
  source: PeerSourceKind;
  nodeName: string;
  podCidrs: string[];
  peers: PeerRouteStatus[];
}

/** Reads the live peer routing (the Debug service's ListPeers maps it to its reply). */
export interface PeerRoutingStatus {
  state(): Promise<PeerRoutingState>;
}

export function peerRoutingStatus(kind: PeerSourceKind, node: NodePodCidrSource, router: PeerRouter): PeerRoutingStatus {
  return {
    state: async () => ({ source: kind, nodeName: node.nodeName, podCidrs: [...node.podCidrs()], peers: await router.status() }),
  };
}
