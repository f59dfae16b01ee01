import * as ipaddr from 'ipaddr.js';
import { AttrStream, StreamData, rt } from 'netlink';

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

export type RouteChange = { op: 'replace'; route: PeerRoute } | { op: 'delete'; route: PeerRoute };

/** A host route to one pod address through the host end of its veth (`/32` or `/128`, proto 199). */
export interface PodHostRoute {
  address: string;
  family: 4 | 6;
  /** The host end's index; a delete without it matches the route on any device. */
  oif?: number;
}

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

/**
 * The rtmsg payload (header + attributes) of a peer route change, ready to be framed as an
 * RTM_NEWROUTE (replace: CREATE|REPLACE) or RTM_DELROUTE message. A delete matches on
 * destination, table and protocol only, so it can never remove a route podwire did not add.
 */
export function encodePeerRouteChange(change: RouteChange): { type: number; payload: Uint8Array[] } {
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
  const attrs = change.op === 'delete' ? { dst: addressBytes(net ?? '') } : { dst: addressBytes(net ?? ''), gateway: addressBytes(change.route.gateway) };
  const out = new AttrStream();
  rt.formatRouteMessage({ kind: 'route', data: data as rt.Route, attrs }, out);
  return { type: change.op === 'delete' ? RTM_DELROUTE : RTM_NEWROUTE, payload: out.bufs };
}

/**
 * A pod route change as an RTM_NEWROUTE (replace) or RTM_DELROUTE payload: `address/32`
 * (`/128`) dev `oif`, proto 199; IPv4 link-scoped, IPv6 universe (as `ip route` makes them).
 * A delete matches on destination, table and protocol (and the device when given).
 */
function encodePodRouteChange(change: PodRouteChange): { type: number; payload: Uint8Array[] } {
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
  return { type: change.op === 'delete' ? RTM_DELROUTE : RTM_NEWROUTE, payload: out.bufs };
}

/** Either kind of host route change, ready to be framed. */
export function encodeHostRouteChange(change: HostRouteChange): { type: number; payload: Uint8Array[] } {
  return 'podRoute' in change ? encodePodRouteChange(change) : encodePeerRouteChange(change);
}
