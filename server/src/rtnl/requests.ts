/**
 * The rtnetlink requests podwire sends, encoded with npm netlink's message formatters. Pure:
 * each function returns an RtnlRequest for an RtnlSocket to send.
 */
import { AttrStream, FlagsGet, FlagsNew, StreamData, ifla, rt } from 'netlink';
import { addressBytes, afOf, macBytes } from './addresses';
import type { Family } from './kernel-objects';
import type { RtnlRequest } from './rtnl-socket';

const RTM = rt.MessageType;

function encodeStream(data: StreamData): Buffer {
  const s = new AttrStream();
  s.emit(data);
  return Buffer.concat(s.bufs);
}

function linkMessage(data: rt.Link, attrs: ifla.LinkAttrs): Uint8Array[] {
  const out = new AttrStream();
  rt.formatLinkMessage({ kind: 'link', data, attrs }, out);
  return out.bufs;
}

/** With index 0 a link request acts on every link (of a group): only deleteLinkGroup may send one. */
function requireIndex(index: number): number {
  if (!Number.isInteger(index) || index <= 0) throw new Error(`refusing a link request for index ${index}`);
  return index;
}

export function getLinkByName(name: string): RtnlRequest {
  return { type: RTM.GETLINK, flags: 0, payload: linkMessage({}, { ifname: name }), expect: 'answer', what: `RTM_GETLINK ${name}` };
}

export interface VethSpec {
  name: string;
  mtu: number;
  /** This end's MAC; the kernel picks a random one when absent. */
  mac?: string;
  /** Bring this end up as it is created (the peer cannot be: it has no peer yet when it is set up). */
  up: boolean;
  peer: { name: string; netnsFd: number; mtu: number; mac: string };
}

/** NLM_F_ECHO: the kernel sends the created object back before the acknowledgement. */
const NLM_F_ECHO = 0x08;

/**
 * A veth pair: `name` here, its peer created directly inside the netns of `peer.netnsFd`.
 * Fails with EEXIST if either name exists where it would be created. With NLM_F_ECHO the
 * kernel (5.19+) answers with this end as created (index, MAC, IFLA_LINK = the peer's index in
 * its netns) before the acknowledgement, so nothing needs a lookup after creation. The kernel
 * does not set an alias while creating a link: follow with setLinkAliasByName in the same
 * write.
 */
export function createVeth(spec: VethSpec): RtnlRequest {
  const peer = Buffer.concat([
    rt.formatLink({}),
    encodeStream(ifla.formatLinkAttrs({ ifname: spec.peer.name, netNsFd: spec.peer.netnsFd, mtu: spec.peer.mtu, address: macBytes(spec.peer.mac) })),
  ]);
  const linkinfo = encodeStream(ifla.formatInfo({ kind: 'veth', data: encodeStream(ifla.formatVethInfo({ peer })) }));
  const up: rt.Link = spec.up ? { flags: { up: true }, change: { up: true } } : {};
  return {
    type: RTM.NEWLINK,
    flags: FlagsNew.CREATE | FlagsNew.EXCL | NLM_F_ECHO,
    payload: linkMessage(up, { ifname: spec.name, mtu: spec.mtu, linkinfo, ...(spec.mac ? { address: macBytes(spec.mac) } : {}) }),
    expect: 'ack',
    what: `RTM_NEWLINK veth ${spec.name} (peer ${spec.peer.name})`,
  };
}

/**
 * IFLA_IFALIAS of the link NAMED `name` (no index needed: it can follow the request creating
 * the link in the same write, which a crash cannot split).
 */
export function setLinkAliasByName(name: string, alias: string): RtnlRequest {
  return { type: RTM.SETLINK, flags: 0, payload: linkMessage({}, { ifname: name, ifalias: alias }), expect: 'ack', what: `RTM_SETLINK ${name} alias ${alias}` };
}

export function setLinkUp(index: number): RtnlRequest {
  return { type: RTM.SETLINK, flags: 0, payload: linkMessage({ index: requireIndex(index), flags: { up: true }, change: { up: true } }, {}), expect: 'ack', what: `RTM_SETLINK ${index} up` };
}

export function setLinkDown(index: number): RtnlRequest {
  return { type: RTM.SETLINK, flags: 0, payload: linkMessage({ index: requireIndex(index), flags: {}, change: { up: true } }, {}), expect: 'ack', what: `RTM_SETLINK ${index} down` };
}

/** A new name (the kernel refuses to rename a link that is up: set it down first). */
export function renameLink(index: number, name: string): RtnlRequest {
  return { type: RTM.SETLINK, flags: 0, payload: linkMessage({ index: requireIndex(index) }, { ifname: name }), expect: 'ack', what: `RTM_SETLINK ${index} name ${name}` };
}

export function setLinkGroup(index: number, group: number): RtnlRequest {
  return { type: RTM.SETLINK, flags: 0, payload: linkMessage({ index: requireIndex(index) }, { group }), expect: 'ack', what: `RTM_SETLINK ${index} group ${group}` };
}

export function deleteLink(index: number): RtnlRequest {
  return { type: RTM.DELLINK, flags: 0, payload: linkMessage({ index: requireIndex(index) }, {}), expect: 'ack', what: `RTM_DELLINK ${index}` };
}

/** Deletes every link of interface group `group` (one RCU grace period for all of them). */
export function deleteLinkGroup(group: number): RtnlRequest {
  if (!Number.isInteger(group) || group <= 0) throw new Error(`refusing to delete link group ${group}`);
  return { type: RTM.DELLINK, flags: 0, payload: linkMessage({ index: 0 }, { group }), expect: 'ack', what: `RTM_DELLINK group ${group}` };
}

export interface AddressSpec {
  index: number;
  family: Family;
  address: string;
  prefixLen: number;
  /** rtm scope; 0 (universe) when absent. */
  scope?: number;
  /** IPv6: no duplicate address detection, usable at once. */
  nodad?: boolean;
}

/** `mode` create: fails with EEXIST when present; replace: creates or replaces. */
export function addAddress(spec: AddressSpec, mode: 'create' | 'replace'): RtnlRequest {
  const bytes = addressBytes(spec.address);
  const out = new AttrStream();
  rt.formatAddressMessage(
    {
      kind: 'address',
      data: { family: afOf(spec.family), prefixlen: spec.prefixLen, index: requireIndex(spec.index), ...(spec.scope ? { scope: spec.scope } : {}), flags: spec.nodad ? { nodad: true } : {} },
      attrs: spec.family === 6 ? { address: bytes } : { local: bytes, address: bytes },
    },
    out,
  );
  return {
    type: RTM.NEWADDR,
    flags: FlagsNew.CREATE | (mode === 'create' ? FlagsNew.EXCL : FlagsNew.REPLACE),
    payload: out.bufs,
    expect: 'ack',
    what: `RTM_NEWADDR ${spec.address}/${spec.prefixLen} dev ${spec.index}`,
  };
}

export interface NeighbourSpec {
  index: number;
  family: Family;
  dst: string;
  lladdr: string;
}

/** A permanent neighbour entry, created or replaced. */
export function addPermanentNeighbour(spec: NeighbourSpec): RtnlRequest {
  const out = new AttrStream();
  rt.formatNeighborMessage(
    { kind: 'neighbor', data: { family: afOf(spec.family), ifindex: requireIndex(spec.index), state: { permanent: true } }, attrs: { dst: addressBytes(spec.dst), lladdr: macBytes(spec.lladdr) } },
    out,
  );
  return { type: RTM.NEWNEIGH, flags: FlagsNew.CREATE | FlagsNew.REPLACE, payload: out.bufs, expect: 'ack', what: `RTM_NEWNEIGH ${spec.dst} lladdr ${spec.lladdr} dev ${spec.index}` };
}

export interface RouteSpec {
  family: Family;
  /** Destination address (network part) as text. */
  dst: string;
  dstLen: number;
  gateway?: string;
  /** Output link; a delete without it matches the route on any device. */
  oif?: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
}

/** In a delete: match a route of any scope (what `ip route del` sends). */
const RT_SCOPE_NOWHERE = 255;

/**
 * create: fails with EEXIST when the table has a route to the destination (a route someone
 * else owns is never replaced); replace: creates or replaces; delete: matches destination,
 * table, protocol (and gateway, device when given), any scope.
 */
export type RouteOp = 'create' | 'replace' | 'delete';

export function changeRoute(op: RouteOp, route: RouteSpec): RtnlRequest {
  const out = new AttrStream();
  const data = {
    family: afOf(route.family),
    dstLen: route.dstLen,
    table: route.table,
    protocol: route.protocol,
    scope: op === 'delete' ? RT_SCOPE_NOWHERE : route.scope,
    type: route.type,
  };
  const attrs = {
    ...(route.dstLen > 0 ? { dst: addressBytes(route.dst) } : {}),
    ...(route.gateway ? { gateway: addressBytes(route.gateway) } : {}),
    ...(route.oif ? { oif: requireIndex(route.oif) } : {}),
  };
  rt.formatRouteMessage({ kind: 'route', data: data as rt.Route, attrs }, out);
  const via = `${route.gateway ? ` via ${route.gateway}` : ''}${route.oif ? ` dev ${route.oif}` : ''}`;
  if (op === 'delete') return { type: RTM.DELROUTE, flags: 0, payload: out.bufs, expect: 'ack', what: `RTM_DELROUTE ${route.dst}/${route.dstLen}${via}` };
  return {
    type: RTM.NEWROUTE,
    flags: FlagsNew.CREATE | (op === 'create' ? FlagsNew.EXCL : FlagsNew.REPLACE),
    payload: out.bufs,
    expect: 'ack',
    what: `RTM_NEWROUTE ${route.dst}/${route.dstLen}${via}`,
  };
}

export type DumpKind = 'links' | 'addresses' | 'routes' | 'neighbours';

/** A dump of one table, every family. */
export function dumpOf(kind: DumpKind): RtnlRequest {
  const out = new AttrStream();
  let type: number;
  switch (kind) {
    case 'links':
      rt.formatLinkMessage({ kind: 'link', data: {}, attrs: {} }, out);
      type = RTM.GETLINK;
      break;
    case 'addresses':
      rt.formatAddressMessage({ kind: 'address', data: {}, attrs: {} }, out);
      type = RTM.GETADDR;
      break;
    case 'routes':
      rt.formatRouteMessage({ kind: 'route', data: {}, attrs: {} }, out);
      type = RTM.GETROUTE;
      break;
    case 'neighbours':
      rt.formatNeighborMessage({ kind: 'neighbor', data: {}, attrs: {} }, out);
      type = RTM.GETNEIGH;
      break;
  }
  return { type, flags: FlagsGet.DUMP, payload: out.bufs, expect: 'dump', what: `dump of ${kind}` };
}

/** RTNH_F_ONLINK in rtm_flags: the gateway is on the output link, whatever the link's addresses. */
const RTNH_F_ONLINK = 4;

/**
 * A route created exclusively (EEXIST when the table has one to the destination) with the
 * `onlink` flag (`ip route add DST via GW dev IF onlink`): the gateway needs no route of its
 * own, so several interfaces can each route through the same link-local gateway.
 */
export function createOnlinkRoute(route: RouteSpec & { gateway: string; oif: number }): RtnlRequest {
  const out = new AttrStream();
  const data = { family: afOf(route.family), dstLen: route.dstLen, table: route.table, protocol: route.protocol, scope: route.scope, type: route.type, flags: { __unknown: RTNH_F_ONLINK } };
  const attrs = {
    ...(route.dstLen > 0 ? { dst: addressBytes(route.dst) } : {}),
    gateway: addressBytes(route.gateway),
    oif: requireIndex(route.oif),
  };
  rt.formatRouteMessage({ kind: 'route', data: data as rt.Route, attrs }, out);
  return {
    type: RTM.NEWROUTE,
    flags: FlagsNew.CREATE | FlagsNew.EXCL,
    payload: out.bufs,
    expect: 'ack',
    what: `RTM_NEWROUTE ${route.dst}/${route.dstLen} via ${route.gateway} dev ${route.oif} onlink`,
  };
}
