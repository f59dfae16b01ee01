import type { StaticPeer } from '../config/cluster-config';
import type { Peer, PeerSnapshot } from './peer';
import type { PeerSource } from './peer-source';

export function peerFromStatic(p: StaticPeer): Peer {
  return { name: p.name, nodeIPs: [p.nodeIP, ...(p.nodeIPs ?? []).filter((ip) => ip !== p.nodeIP)], podCIDRs: [...p.podCIDRs] };
}

/**
 * Peers listed in the server configuration ("peers": {"source": "static", "static": [...]}),
 * for hosts without Kubernetes and for tests. replace() delivers a new list (podwired calls it
 * when SIGHUP re-reads the configuration file).
 */
export class StaticPeerSource implements PeerSource {
  readonly kind = 'static' as const;
  private onSnapshot: ((snapshot: PeerSnapshot) => void) | undefined;
  private peers: Peer[];

  constructor(peers: readonly StaticPeer[]) {
    this.peers = peers.map(peerFromStatic);
  }

  start(onSnapshot: (snapshot: PeerSnapshot) => void): void {
    this.onSnapshot = onSnapshot;
    onSnapshot({ peers: this.peers });
  }

  replace(peers: readonly StaticPeer[]): void {
    this.peers = peers.map(peerFromStatic);
    this.onSnapshot?.({ peers: this.peers });
  }

  stop(): void {
    this.onSnapshot = undefined;
  }
}
