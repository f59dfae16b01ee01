import { parseCidrText } from '../ip-text';

/** Another node of the cluster: where its pods live and the address to route them via. */
export interface Peer {
  name: string;
  /** The node's addresses, at most one per family (Kubernetes: its InternalIPs). */
  nodeIPs: string[];
  /** Canonical pod CIDRs, at most one per family. */
  podCIDRs: string[];
}

/** What a peer source knows at one moment: every peer, and (Kubernetes) this node's own pod CIDRs. */
export interface PeerSnapshot {
  peers: Peer[];
  /** This node's pod CIDRs as the cluster assigned them (spec.podCIDRs of its Node object). */
  selfPodCIDRs?: string[];
  /** This node's own addresses (InternalIPs of its Node object). */
  selfNodeIPs?: string[];
}

/** One route a peer needs: `dst via gateway`, or why it cannot be programmed. */
export interface DesiredPeerRoute {
  peer: string;
  dst: string;
  /** The peer's node address of the CIDR's family; '' when it has none. */
  gateway: string;
  /** Set when the route will not be programmed (no node address of that family, a conflict). */
  error?: string;
}

export function familyOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

/** True when the two CIDRs share any address (one contains the other's network address). */
export function cidrsOverlap(a: string, b: string): boolean {
  const pa = parseCidrText(a);
  const pb = parseCidrText(b);
  if (pa[0].kind() !== pb[0].kind()) return false;
  return pa[0].match(pb) || pb[0].match(pa);
}

interface ParsedCidr {
  family: 4 | 6;
  value: bigint;
  bits: number;
}

function parseCidrValue(cidr: string): ParsedCidr {
  const [addr, bits] = parseCidrText(cidr);
  const value = addr.toByteArray().reduce((v, b) => (v << 8n) | BigInt(b), 0n);
  return { family: addr.kind() === 'ipv6' ? 6 : 4, value, bits };
}

function prefixKey(c: ParsedCidr, bits: number): string {
  const width = c.family === 6 ? 128 : 32;
  return `${c.family}/${bits}/${(c.value >> BigInt(width - bits)).toString(16)}`;
}

/**
 * CIDRs claimed so far, answering "which claimed CIDR overlaps this one" in O(prefix length)
 * rather than by comparing with every claimed one (500 peers would otherwise cost 125,000
 * comparisons per pass).
 */
class CidrClaims<T> {
  /** Every prefix of every claimed CIDR (its own and shorter): a hit means a claimed CIDR lies inside the query. */
  private readonly within = new Map<string, T>();
  /** Each claimed CIDR itself: a hit on a prefix of the query means a claimed CIDR contains it. */
  private readonly exact = new Map<string, T>();

  claim(cidr: string, owner: T): void {
    const c = parseCidrValue(cidr);
    this.exact.set(prefixKey(c, c.bits), owner);
    for (let b = 0; b <= c.bits; b++) {
      const k = prefixKey(c, b);
      if (!this.within.has(k)) this.within.set(k, owner);
    }
  }

  overlapping(cidr: string): T | undefined {
    const c = parseCidrValue(cidr);
    const inside = this.within.get(prefixKey(c, c.bits));
    if (inside !== undefined) return inside;
    for (let b = 0; b < c.bits; b++) {
      const container = this.exact.get(prefixKey(c, b));
      if (container !== undefined) return container;
    }
    return undefined;
  }
}

/**
 * The routes the peers need, in a stable order: for every peer (by name) and pod CIDR, the
 * route via its node address of the same family. A CIDR that overlaps this node's own pod
 * CIDRs, or one a peer earlier by name already claims, is reported with an error instead of
 * being routed (it would steal traffic from local pods or another node).
 */
export function desiredPeerRoutes(peers: readonly Peer[], ownPodCIDRs: readonly string[]): DesiredPeerRoute[] {
  const routes: DesiredPeerRoute[] = [];
  const claimed = new CidrClaims<{ dst: string; peer: string }>();
  for (const peer of [...peers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    for (const dst of peer.podCIDRs) {
      const gateway = peer.nodeIPs.find((ip) => familyOf(ip) === familyOf(dst)) ?? '';
      const route: DesiredPeerRoute = { peer: peer.name, dst, gateway };
      const own = ownPodCIDRs.find((c) => cidrsOverlap(c, dst));
      const taken = claimed.overlapping(dst);
      if (gateway === '') route.error = `peer ${peer.name} has no IPv${familyOf(dst)} node address to route ${dst} via`;
      else if (own) route.error = `${dst} overlaps this node's pod CIDR ${own}`;
      else if (taken) route.error = `${dst} overlaps ${taken.dst} of peer ${taken.peer}`;
      else claimed.claim(dst, { dst, peer: peer.name });
      routes.push(route);
    }
  }
  return routes;
}
