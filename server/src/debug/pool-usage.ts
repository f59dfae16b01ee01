import * as ipaddr from 'ipaddr.js';
import { parseCidrText } from '../ip-text';
import { type IpamStore, type Lease, parseRangeSets } from '@podwire/ipam-store';
import type { PoolUsage } from '../generated/podwire/v1/PoolUsage';
import type { NetworkRegistry } from '../pools/network-registry';

function inCidr(lease: Lease, cidr: [ipaddr.IPv4 | ipaddr.IPv6, number]): boolean {
  const addr = ipaddr.parse(lease.address);
  return addr.kind() === cidr[0].kind() && addr.match(cidr);
}

/**
 * A node pod CIDR as a pool: addresses inside it leased by any network, each counted once,
 * against the addresses a host-local range over the whole CIDR would hand out. `network` is
 * empty: the CIDR is the node's, not one network's. (The per-network rows count the same
 * way, see RangeSetUsage.used: addresses are unique per node, and an address a database
 * from before that was enforced holds twice still takes one address.)
 */
export function podCidrUsage(cidr: string, leases: readonly Lease[]): PoolUsage {
  const [set] = parseRangeSets([[{ subnet: cidr }]]);
  const size = set ? Number(set.size > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : set.size) : 0;
  const parsed = parseCidrText(cidr);
  const used = new Set(leases.filter((l) => inCidr(l, parsed)).map((l) => l.address)).size;
  return { network: '', rangeSet: cidr, used, size, free: Math.max(0, size - used) };
}

/**
 * ServerInfo's pools: every network and range set served since start (used: leased by any
 * network inside the set, so networks sharing the pod CIDRs show the same count), then the
 * node's pod CIDRs.
 */
export function poolUsage(networks: NetworkRegistry, store: IpamStore, podCidrs: readonly string[]): PoolUsage[] {
  const rows: PoolUsage[] = networks.usage(store).map((r) => ({ ...r }));
  if (podCidrs.length > 0) {
    const leases = store.listLeases();
    for (const cidr of podCidrs) rows.push(podCidrUsage(cidr, leases));
  }
  return rows;
}
