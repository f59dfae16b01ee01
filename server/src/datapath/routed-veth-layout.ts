/**
 * The routed veth layout, per family: the link-local gateway every pod routes through, the
 * prefix length of a pod address, and the CNI result's view of it. The pod holds a permanent
 * neighbour entry mapping the gateway to the MAC of the host end of its veth, and the host end
 * holds the gateway address itself (so it also answers ARP/NDP for it).
 */
import type { ResultIp, ResultRoute } from '../cni/cni-result';
import type { PodAddress } from './datapath';

export const POD_GATEWAY = { 4: '169.254.1.1', 6: 'fe80::1' } as const;

/** Prefix length of a pod address: the pod owns exactly its one address per family. */
export const POD_PREFIX = { 4: 32, 6: 128 } as const;

/** The default route's destination per family, as CNI results spell it. */
export const DEFAULT_DST = { 4: '0.0.0.0/0', 6: '::/0' } as const;

/** Prefix of the host end's gateway address: IPv4 /32 scope host; IPv6 /64 (fe80::/64 is on-link). */
export const HOST_GATEWAY_PREFIX = { 4: 32, 6: 64 } as const;

export function familiesOf(addresses: readonly PodAddress[]): Array<4 | 6> {
  return [...new Set(addresses.map((a) => a.family))].sort();
}

/** The result's IPs: each pod address on interface 1 (the pod end), via its family's gateway. */
export function resultIps(addresses: readonly PodAddress[]): ResultIp[] {
  return addresses.map((a) => ({ address: `${a.address}/${POD_PREFIX[a.family]}`, gateway: POD_GATEWAY[a.family], interface: 1 }));
}

/** The result's routes: a default route per family via its gateway. */
export function resultRoutes(addresses: readonly PodAddress[]): ResultRoute[] {
  return familiesOf(addresses).map((f) => ({ dst: DEFAULT_DST[f], gw: POD_GATEWAY[f] }));
}
