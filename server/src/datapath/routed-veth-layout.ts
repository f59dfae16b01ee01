/**
 * The routed veth layout, per family: the link-local gateway every pod routes through, the
 * prefix length of a pod address, the routes a pod interface gets, and the CNI result's view
 * of it. The pod holds a permanent neighbour entry per interface mapping the gateway to the
 * MAC of the host end of that interface's veth, and every route is `onlink` through its own
 * interface (no shared /32 route to the gateway), so several podwire interfaces in one netns
 * never hold the same route. The host end holds the gateway address itself (so it also
 * answers ARP/NDP for it).
 */
import { CniCode, CniError } from '../cni/cni-error';
import type { ResultIp, ResultRoute } from '../cni/cni-result';
import { type IpamRoute, routeDstText } from '../cni/ipam-routes';
import { hasErrno, reasonOf } from '../rtnl/rtnl-error';
import type { PodAddress, PodNetworkSpec } from './datapath';

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

/** A route podwire installs on a pod interface: always with a next hop, `onlink` through that interface. */
export interface PodRoute {
  family: 4 | 6;
  dst: string;
  dstLen: number;
  gw: string;
}

/**
 * The routes of one pod interface: the config's `ipam.routes` when it has them (through the
 * gateway unless they name their own), else a default route per family via the gateway.
 * A configured route of a family the pod has no address of is a code-7 error.
 */
export function podRoutes(spec: Pick<PodNetworkSpec, 'addresses' | 'routes'>): PodRoute[] {
  const families = familiesOf(spec.addresses);
  if (spec.routes === undefined) return families.map((f) => ({ family: f, dst: f === 4 ? '0.0.0.0' : '::', dstLen: 0, gw: POD_GATEWAY[f] }));
  const orphan = spec.routes.find((r) => !families.includes(r.family));
  if (orphan) {
    throw new CniError(
      CniCode.InvalidNetworkConfig,
      `ipam.routes has IPv${orphan.family} route ${routeDstText(orphan)} but the pod gets no IPv${orphan.family} address`,
      `the pod's addresses: ${spec.addresses.map((a) => a.address).join(', ')}`,
    );
  }
  return spec.routes.map((r: IpamRoute) => ({ family: r.family, dst: r.dst, dstLen: r.dstLen, gw: r.gw ?? POD_GATEWAY[r.family] }));
}

/** The result's IPs: each pod address on interface 1 (the pod end), via its family's gateway. */
export function resultIps(addresses: readonly PodAddress[]): ResultIp[] {
  return addresses.map((a) => ({ address: `${a.address}/${POD_PREFIX[a.family]}`, gateway: POD_GATEWAY[a.family], interface: 1 }));
}

/** The result's routes: what podRoutes() installs. */
export function resultRoutes(spec: Pick<PodNetworkSpec, 'addresses' | 'routes'>): ResultRoute[] {
  return podRoutes(spec).map((r) => ({ dst: routeDstText(r), gw: r.gw }));
}

/**
 * A failure of the pod end's requests, readable: EEXIST there means a route podwire installs
 * is already in the pod (another interface, podwire's or another plugin's, holds it).
 */
export function podStepFailure(err: unknown, spec: Pick<PodNetworkSpec, 'podIfname' | 'routes'>): unknown {
  if (!hasErrno(err, 'EEXIST')) return err;
  const hint =
    spec.routes === undefined
      ? 'the pod already has a default route through another interface: give this network "ipam.routes" (e.g. its own subnet) so it installs no default route'
      : 'the pod already has a route to one of this network\'s "ipam.routes" destinations through another interface';
  return new CniError(
    CniCode.DatapathFailure,
    `failed to wire the pod network: a route for ${spec.podIfname} already exists in the pod`,
    `${reasonOf(err)}; ${hint}`,
  );
}
