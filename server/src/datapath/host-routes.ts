/**
 * The host routes podwire owns, and how each change to them is asked of the kernel. Pod
 * routes (`podIP/32 dev <host veth>`, proto 199) and peer routes (`peerPodCIDR via
 * peerNodeIP`, proto 198) carry their own protocol numbers, so each reconcile finds exactly
 * its own and never touches anyone else's routes.
 */
import { familyOfText } from '../rtnl/addresses';
import { RTN_UNICAST, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN } from '../rtnl/kernel-objects';
import { type RouteSpec, changeRoute, createOnlinkRoute } from '../rtnl/requests';
import type { RtnlRequest } from '../rtnl/rtnl-socket';

/** rtm_protocol of every pod route podwire installs. Unassigned in iproute2's rt_protos (shown as "199"). */
export const RTPROT_PODWIRE = 199;
/** rtm_protocol of podwire's routes to other nodes' pod CIDRs. Unassigned in iproute2's rt_protos ("198"). */
export const RTPROT_PODWIRE_PEER = 198;

/** A route to another node's pod CIDR: `dst via gateway` in the main table, proto 198. */
export interface PeerRoute {
  /** Canonical CIDR, e.g. "10.244.2.0/24". */
  dst: string;
  /** The peer node's address of the same family (VXLAN: the peer's VTEP address). */
  gateway: string;
  /** The output device: the VXLAN device for a VXLAN route; as read from the kernel otherwise (0/absent: any). */
  oif?: number;
  /** Created `onlink` through `oif` (a VXLAN route: the VTEP address is on no network of this node). */
  onlink?: boolean;
}

/**
 * A peer route change. `create` adds `dst via gateway` only when the main table has no route
 * to `dst` at all (CREATE|EXCL): a route someone else owns (proto static, another CNI) is never
 * replaced, the change fails with EEXIST instead. There is no in-place replace: the router
 * moves a route to a new gateway by deleting its own old route, then creating the new one.
 * `delete` removes podwire's route `dst via gateway` only (fine when already gone).
 */
export type RouteChange = { op: 'create' | 'delete'; route: PeerRoute };

/** A host route to one pod address through the host end of its veth (`/32` or `/128`, proto 199). */
export interface PodHostRoute {
  address: string;
  family: 4 | 6;
  /** The host end's index: a change only ever concerns the route through that host end. */
  oif: number;
}

/**
 * A pod route change. `create` adds the route only when the main table has no route to the
 * address at all (CREATE|EXCL): a route another attachment or another program holds is never
 * replaced, the change fails with EEXIST instead. `delete` removes the route through `oif`
 * only (fine when already gone).
 */
export type PodRouteChange = { op: 'create' | 'delete'; podRoute: PodHostRoute };

/** What the batched programmer sends: peer routes and pod routes alike. */
export type HostRouteChange = RouteChange | PodRouteChange;

export function isDelete(change: HostRouteChange): boolean {
  return change.op === 'delete';
}

/** A peer route: proto 198, main table; a delete matches its gateway too (a route without one is matched without one). */
function peerRouteSpec(route: PeerRoute): RouteSpec {
  const [net, bits] = route.dst.split('/');
  return {
    family: familyOfText(route.dst),
    dst: net ?? '',
    dstLen: Number(bits),
    ...(route.gateway !== '' ? { gateway: route.gateway } : {}),
    ...(route.oif ? { oif: route.oif } : {}),
    table: RT_TABLE_MAIN,
    protocol: RTPROT_PODWIRE_PEER,
    scope: RT_SCOPE_UNIVERSE,
    type: RTN_UNICAST,
  };
}

/** A pod route: IPv4 link-scoped, IPv6 universe (as `ip route` makes them), proto 199. */
function podRouteSpec(route: PodHostRoute): RouteSpec {
  return {
    family: route.family,
    dst: route.address,
    dstLen: route.family === 6 ? 128 : 32,
    oif: route.oif,
    table: RT_TABLE_MAIN,
    protocol: RTPROT_PODWIRE,
    scope: route.family === 6 ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK,
    type: RTN_UNICAST,
  };
}

/** The kernel request for one change. Throws when the change cannot be encoded (a malformed address). */
export function hostRouteRequest(change: HostRouteChange): RtnlRequest {
  if ('podRoute' in change) return changeRoute(change.op, podRouteSpec(change.podRoute));
  const spec = peerRouteSpec(change.route);
  if (change.op === 'create' && change.route.onlink && spec.gateway && spec.oif) return createOnlinkRoute({ ...spec, gateway: spec.gateway, oif: spec.oif });
  return changeRoute(change.op, spec);
}
