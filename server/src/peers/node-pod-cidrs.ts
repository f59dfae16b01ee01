/**
 * This node's pod CIDRs (at most one per family): from the server configuration, or, with the
 * Kubernetes peer source and none configured, from this node's Node object (spec.podCIDRs),
 * which may be assigned after podwired starts. The handlers read them on every call.
 */
export interface NodePodCidrSource {
  readonly nodeName: string;
  /** Canonical CIDRs, IPv4 first; empty while unknown. */
  podCidrs(): readonly string[];
  /** The other nodes' pod CIDRs as the peer source last reported them (none without peers). */
  peerPodCidrs(): readonly PeerPodCidr[];
}

/** A pod CIDR of another node: traffic to it is routed to that node, so no range here may use it. */
export interface PeerPodCidr {
  peer: string;
  cidr: string;
}

export class NodePodCidrs implements NodePodCidrSource {
  private cidrs: readonly string[];
  private peers: readonly PeerPodCidr[] = [];

  constructor(
    readonly nodeName: string,
    initial: readonly string[],
    /** True when the CIDRs came from the configuration: then Kubernetes never overrides them. */
    readonly fixed: boolean = initial.length > 0,
  ) {
    this.cidrs = sortByFamily(initial);
  }

  podCidrs(): readonly string[] {
    return this.cidrs;
  }

  peerPodCidrs(): readonly PeerPodCidr[] {
    return this.peers;
  }

  /** The peer set's pod CIDRs, replaced whenever the peer source reports a new set. */
  learnPeers(peers: ReadonlyArray<{ name: string; podCIDRs: readonly string[] }>): void {
    this.peers = peers.flatMap((p) => p.podCIDRs.map((cidr) => ({ peer: p.name, cidr })));
  }

  /** Learnt from the Node object; ignored when the configuration fixed them. Returns whether they changed. */
  learn(cidrs: readonly string[]): boolean {
    if (this.fixed) return false;
    const next = sortByFamily(cidrs);
    if (next.join(',') === this.cidrs.join(',')) return false;
    this.cidrs = next;
    return true;
  }
}

function sortByFamily(cidrs: readonly string[]): string[] {
  return [...cidrs].sort((a, b) => Number(a.includes(':')) - Number(b.includes(':')));
}
