import * as ipaddr from 'ipaddr.js';
import { AttrStream, FlagsNew, StreamData, rt } from 'netlink';

export const AF_INET = 2;
export const AF_INET6 = 10;
export const RT_TABLE_MAIN = 254;
/**
 * rtm_protocol of every host route podwire installs, so reconcile can find its own routes
 * and never touch anyone else's. Unassigned in iproute2's rt_protos (shown as "199").
 */
export const RTPROT_PODWIRE = 199;
/**
 * rtm_protocol of the routes podwire installs to other nodes' pod CIDRs (`podCIDR via
 * nodeIP`), so they are never mistaken for pod routes and peer reconcile finds exactly its
 * own. Unassigned in iproute2's rt_protos (shown as "198").
 */
export const RTPROT_PODWIRE_PEER = 198;

/** Flattens npm netlink's StreamData into one buffer (for nested attributes such as linkinfo). */
export function encodeStream(data: StreamData): Buffer {
  const s = new AttrStream();
  s.emit(data);
  return Buffer.concat(s.bufs);
}

export function addressBytes(address: string): Buffer {
  return Buffer.from(ipaddr.parse(address).toByteArray());
}

export function bytesToAddress(bytes: Buffer): string {
  return ipaddr.fromByteArray([...bytes]).toString();
}

export function macToString(mac: Buffer | undefined): string {
  if (!mac) return '';
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
}

/** A route to another node's pod CIDR: `dst via gateway` in the main table, proto 198. */
export interface PeerRoute {
  /** Canonical CIDR, e.g. "10.244.2.0/24". */
  dst: string;
  /** The peer node's address of the same family. */
  gateway: string;
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
  /** The host end's index; a delete without it matches the route on any device. */
  oif?: number;
}

/** `replace` creates the pod route or replaces a stale one (CREATE|REPLACE: a pod address is podwire's own). */
export type PodRouteChange = { op: 'replace' | 'delete'; podRoute: PodHostRoute };

/** What the batched programmer sends: peer routes and pod routes alike. */
export type HostRouteChange = RouteChange | PodRouteChange;

export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
const RT_SCOPE_UNIVERSE = 0;
/** In a delete: match a route of any scope (what `ip route del` sends). */
const RT_SCOPE_NOWHERE = 255;
const RTN_UNICAST = 1;
const RT_SCOPE_LINK = 253;

export function routeFamily(cidr: string): 4 | 6 {
  return cidr.includes(':') ? 6 : 4;
}

/** A route change ready to be framed: message type, the NLM_F_* flags beyond REQUEST|ACK, rtmsg payload. */
export interface EncodedRouteChange {
  type: number;
  flags: number;
  payload: Uint8Array[];
}

/**
 * The rtmsg payload (header + attributes) of a peer route change, ready to be framed as an
 * RTM_NEWROUTE (create: CREATE|EXCL, never replacing a route to the same destination) or
 * RTM_DELROUTE message. A delete matches on destination, table, protocol and gateway, so it
 * can never remove a route podwire did not add, nor another proto-198 route to the same
 * destination through a different gateway (a route without a gateway is matched without one).
 */
export function encodePeerRouteChange(change: RouteChange): EncodedRouteChange {
  const [net, bits] = change.route.dst.split('/');
  const family = routeFamily(change.route.dst);
  const data = {
    family: family === 6 ? AF_INET6 : AF_INET,
    dstLen: Number(bits),
    table: RT_TABLE_MAIN,
    protocol: RTPROT_PODWIRE_PEER,
    scope: change.op === 'delete' ? RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE,
    type: RTN_UNICAST,
  };
  const attrs = {
    dst: addressBytes(net ?? ''),
    ...(change.op === 'create' || change.route.gateway !== '' ? { gateway: addressBytes(change.route.gateway) } : {}),
  };
  const out = new AttrStream();
  rt.formatRouteMessage({ kind: 'route', data: data as rt.Route, attrs }, out);
  return change.op === 'delete'
    ? { type: RTM_DELROUTE, flags: 0, payload: out.bufs }
    : { type: RTM_NEWROUTE, flags: FlagsNew.CREATE | FlagsNew.EXCL, payload: out.bufs };
}

/**
 * A pod route change as an RTM_NEWROUTE (replace: CREATE|REPLACE) or RTM_DELROUTE payload:
 * `address/32` (`/128`) dev `oif`, proto 199; IPv4 link-scoped, IPv6 universe (as `ip route`
 * makes them). A delete matches on destination, table and protocol (and the device when given).
 */
function encodePodRouteChange(change: PodRouteChange): EncodedRouteChange {
  const { address, family, oif } = change.podRoute;
  const data = {
    family: family === 6 ? AF_INET6 : AF_INET,
    dstLen: family === 6 ? 128 : 32,
    table: RT_TABLE_MAIN,
    protocol: RTPROT_PODWIRE,
    scope: change.op === 'delete' ? RT_SCOPE_NOWHERE : family === 6 ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK,
    type: RTN_UNICAST,
  };
  const attrs = { dst: addressBytes(address), ...(oif ? { oif } : {}) };
  const out = new AttrStream();
  rt.formatRouteMessage({ kind: 'route', data: data as rt.Route, attrs }, out);
  return change.op === 'delete'
    ? { type: RTM_DELROUTE, flags: 0, payload: out.bufs }
    : { type: RTM_NEWROUTE, flags: FlagsNew.CREATE | FlagsNew.REPLACE, payload: out.bufs };
}

/** Either kind of host route change, ready to be framed. */
export function encodeHostRouteChange(change: HostRouteChange): EncodedRouteChange {
  return 'podRoute' in change ? encodePodRouteChange(change) : encodePeerRouteChange(change);
}
