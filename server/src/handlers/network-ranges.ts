import * as ipaddr from 'ipaddr.js';
import { parseCidrText } from '../ip-text';
import { type IpRange, type RangeSet, parseRangeSets } from '@podwire/ipam-store';
import { CniCode, CniError } from '../cni/cni-error';
import type { NetConf } from '../cni/net-conf';
import type { NodePodCidrSource } from '../peers/node-pod-cidrs';

/** Parsed range sets per node pod CIDR list, so every ADD does not re-parse them. */
const fromNodeCache = new Map<string, RangeSet[]>();

function rangesFromNode(cidrs: readonly string[]): RangeSet[] {
  const key = cidrs.join(',');
  let sets = fromNodeCache.get(key);
  if (!sets) {
    // One range set per family, host-local's defaults: network + 1 to broadcast - 1 (pods
    // route through a link-local gateway, so no address of the CIDR is kept for one).
    sets = parseRangeSets(cidrs.map((subnet) => [{ subnet }]));
    fromNodeCache.set(key, sets);
  }
  return sets;
}

function toBigInt(addr: ipaddr.IPv4 | ipaddr.IPv6): bigint {
  return addr.toByteArray().reduce((v, byte) => (v << 8n) | BigInt(byte), 0n);
}

/** Family, first and last address (network and broadcast included) per pod CIDR, parsed once. */
const boundsCache = new Map<string, { family: 4 | 6; first: bigint; last: bigint }>();

/** First and last address of a CIDR, or undefined when it is of the other family. */
function cidrBounds(cidr: string, family: 4 | 6): [bigint, bigint] | undefined {
  let b = boundsCache.get(cidr);
  if (!b) {
    const v6 = parseCidrText(cidr)[0].kind() === 'ipv6';
    const [first, last] = v6
      ? [ipaddr.IPv6.networkAddressFromCIDR(cidr), ipaddr.IPv6.broadcastAddressFromCIDR(cidr)]
      : [ipaddr.IPv4.networkAddressFromCIDR(cidr), ipaddr.IPv4.broadcastAddressFromCIDR(cidr)];
    b = { family: v6 ? 6 : 4, first: toBigInt(first), last: toBigInt(last) };
    boundsCache.set(cidr, b);
  }
  return b.family === family ? [b.first, b.last] : undefined;
}

/** How a range (the addresses it hands out, rangeStart-rangeEnd) lies against a pod CIDR. */
function placement(range: IpRange, cidr: string): 'inside' | 'disjoint' | 'partial' {
  const bounds = cidrBounds(cidr, range.family);
  if (!bounds) return 'disjoint';
  const [first, last] = bounds;
  if (range.first >= first && range.last <= last) return 'inside';
  if (range.last < first || range.first > last) return 'disjoint';
  return 'partial';
}

/**
 * The range sets ADD and STATUS allocate from. A configuration without "ranges" takes this
 * node's pod CIDRs (one range set per family). A configuration with ranges keeps them; when
 * the node has pod CIDRs, each range must either lie inside one (a share of the addresses
 * the cluster routes to this node) or be disjoint from all of them (a secondary network's
 * own subnet, e.g. Multus' net1: its routes beyond this node are the user's business, as
 * with host-local). Addresses are unique on the node across networks (the lease store sees
 * to that), so several networks may share the pod CIDRs. A range that overlaps a pod CIDR
 * without lying inside it (wider than it, or straddling its edge) makes no sense: part of it
 * is the cluster's route to this node and part is not. Code 7 for it, naming both. A range
 * that uses any address of another node's pod CIDR (the peer set's) is code 7 too, naming the
 * node: traffic to those addresses is routed there.
 */
export function resolveRanges(conf: NetConf, node: NodePodCidrSource | undefined): RangeSet[] {
  const cidrs = node?.podCidrs() ?? [];
  if (conf.rangeSets.length === 0) {
    if (cidrs.length > 0) return rangesFromNode(cidrs);
    throw new CniError(
      CniCode.InvalidNetworkConfig,
      'network configuration has no address ranges and this node has no pod CIDR',
      `set "ipam": {"ranges": [[{"subnet": "10.22.0.0/16"}]]}, or give podwired "node": {"podCIDRs": [...]} (or run it with the kubernetes peer source on a node with spec.podCIDRs)`,
    );
  }
  const peers = node?.peerPodCidrs() ?? [];
  for (const set of conf.rangeSets) {
    for (const range of set.ranges) {
      const taken = peers.find((p) => placement(range, p.cidr) !== 'disjoint');
      if (taken !== undefined) {
        throw new CniError(
          CniCode.InvalidNetworkConfig,
          `ipam range ${range.rangeStart}-${range.rangeEnd} (${range.subnet}) overlaps the pod CIDR ${taken.cidr} of node ${taken.peer}`,
          `traffic to ${taken.cidr} is routed to node ${taken.peer}: a range here must not use its addresses` +
            (cidrs.length > 0 ? `; this node's own pod CIDRs are ${cidrs.join(', ')}` : ''),
        );
      }
      const straddled = cidrs.find((c) => placement(range, c) === 'partial');
      if (straddled === undefined) continue;
      throw new CniError(
        CniCode.InvalidNetworkConfig,
        `ipam range ${range.rangeStart}-${range.rangeEnd} (${range.subnet}) overlaps this node's pod CIDR ${straddled} without lying inside it`,
        `node ${node?.nodeName ?? ''} owns ${cidrs.join(', ')}. Keep each range either inside it (addresses the cluster routes to this node; ` +
          'leaving "ranges" out takes all of it, and networks sharing it never get the same address) or wholly outside it ' +
          "(a subnet of the network's own, as for a secondary network; its routes between nodes are yours to provide, so give " +
          'each node a part of its own)',
      );
    }
  }
  return conf.rangeSets;
}
