import * as ipaddr from 'ipaddr.js';
import { parseCidrText } from '../ip-text';
import type { Peer } from './peer';

/** The fields of a Kubernetes Node object podwire reads (a subset of V1Node). */
export interface NodeObject {
  metadata?: { name?: string; resourceVersion?: string };
  spec?: { podCIDR?: string; podCIDRs?: string[] };
  status?: { addresses?: Array<{ type?: string; address?: string }> };
}

function canonicalCidr(text: string): string | undefined {
  try {
    const [addr, bits] = parseCidrText(text);
    const network = addr.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(text) : ipaddr.IPv6.networkAddressFromCIDR(text);
    return `${network.toString()}/${bits}`;
  } catch {
    return undefined;
  }
}

/** spec.podCIDRs (or the older single spec.podCIDR), canonical, at most one per family. */
export function nodePodCidrs(node: NodeObject): string[] {
  const raw = node.spec?.podCIDRs?.length ? node.spec.podCIDRs : node.spec?.podCIDR ? [node.spec.podCIDR] : [];
  const out: string[] = [];
  for (const text of raw) {
    const cidr = canonicalCidr(text);
    if (cidr && !out.some((c) => c.includes(':') === cidr.includes(':'))) out.push(cidr);
  }
  return out;
}

/** The node's InternalIP addresses, the first of each family (what host-gw routes via). */
export function nodeInternalIPs(node: NodeObject): string[] {
  const out: string[] = [];
  for (const a of node.status?.addresses ?? []) {
    if (a.type !== 'InternalIP' || !a.address || !ipaddr.isValid(a.address)) continue;
    const ip = ipaddr.parse(a.address).toString();
    if (!out.some((o) => o.includes(':') === ip.includes(':'))) out.push(ip);
  }
  return out;
}

export function peerFromNode(node: NodeObject): Peer | undefined {
  const name = node.metadata?.name;
  if (!name) return undefined;
  return { name, nodeIPs: nodeInternalIPs(node), podCIDRs: nodePodCidrs(node) };
}
