import type { ListPeersReply } from '../generated/podwire/v1/ListPeersReply';
import { peerSourceKindEnum } from './wire-enums';

/**
 * What the Debug service's ListPeers answers from: this node's pod CIDRs, the peer source,
 * every known peer and the state of the routes programmed for it. The cross-node peer
 * routing provides the real one; without peers configured, noPeerStatus answers.
 */
export interface PeerStatusSource {
  listPeers(): Promise<ListPeersReply>;
}

/** For a node with no peer source: its own name and pod CIDRs, no peers. */
export function noPeerStatus(nodeName: string, podCidrs: readonly string[]): PeerStatusSource {
  return {
    listPeers: async () => ({ source: peerSourceKindEnum('none'), nodeName, podCidrs: [...podCidrs], peers: [] }),
  };
}
