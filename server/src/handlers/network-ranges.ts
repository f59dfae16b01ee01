import * as ipaddr from 'ipaddr.js';
import { parseCidrText } from '../ip-text';
import { IpRange, RangeSet, parseRangeSets } from '@podwire/ipam-store';
import { CniCode, CniError } from '../cni/cni-error';
import { NetConf } from '../cni/net-conf';
import { NodePodCidrSource } from '../peers/node-pod-cidrs';

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

function inside(range: IpRange, cidr: string): boolean {
  const [net, bits] = parseCidrText(cidr);
  if (net.kind() !== (range.family === 6 ? 'ipv6' : 'ipv4')) return false;
  return ipaddr.parse(range.rangeStart).match(net, bits) && ipaddr.parse(range.rangeEnd).match(net, bits);
}

/**
 * The range sets ADD and STATUS allocate from. A configuration without "ranges" takes this
 * node's pod CIDRs (one range set per family). A configuration with ranges keeps them, but
 * when the node has pod CIDRs every range must lie inside one of them: a node hands out only
 * addresses the rest of the cluster routes to it. Code 7 otherwise, naming both.
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
  if (cidrs.length === 0) return conf.rangeSets;
  for (const set of conf.rangeSets) {
    for (const range of set.ranges) {
      if (!cidrs.some((c) => inside(range, c))) {
        throw new CniError(
          CniCode.InvalidNetworkConfig,
          `ipam range ${range.rangeStart}-${range.rangeEnd} (${range.subnet}) is outside this node's pod CIDRs ${cidrs.join(', ')}`,
          `node ${node?.nodeName ?? ''} owns ${cidrs.join(', ')}: leave "ranges" out to allocate from them, or keep every range inside them`,
        );
      }
    }
  }
  return conf.rangeSets;
}
