/**
 * The VXLAN objects podwire programs, as rtnetlink requests and decoded replies: the device
 * itself (IFLA_INFO_KIND "vxlan"), its forwarding-database entries (AF_BRIDGE neighbours: a
 * VTEP MAC → the remote node's address) and, through requests.ts, permanent neighbours on it.
 * npm netlink frames the link and neighbour headers; the VXLAN attributes (IFLA_INFO_DATA,
 * linux/if_link.h) are encoded here as plain TLVs, since the library has no formatter for them.
 */
import { AttrStream, FlagsGet, FlagsNew, type NetlinkMessage, type StreamData, ifla, rt } from './netlink-parts';
import { addressBytes, afOf, familyOfText, macBytes } from './addresses';
import { addressText, cString, decodeLink, eachAttr, macText } from './decode';
import type { Family, KernelLink } from './kernel-objects';
import type { RtnlRequest } from './rtnl-socket';
import { attr } from './wire-encode';

const RTM = rt.MessageType;
const NLM_F_ECHO = 0x08;
const AF_BRIDGE = 7;
const NUD_PERMANENT = 0x80;

/** IFLA_VXLAN_* (linux/if_link.h). */
const IFLA_VXLAN_ID = 1;
const IFLA_VXLAN_LOCAL = 4;
const IFLA_VXLAN_LEARNING = 7;
const IFLA_VXLAN_PORT = 15;
const IFLA_VXLAN_LOCAL6 = 17;
/** IFLA_LINKINFO and its IFLA_INFO_KIND / IFLA_INFO_DATA. */
const IFLA_LINKINFO = 18;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;

function u8(v: number): Buffer {
  return Buffer.from([v]);
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}

function be16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

function encodeStream(data: StreamData): Buffer {
  const s = new AttrStream();
  s.emit(data);
  return Buffer.concat(s.bufs);
}

export interface VxlanSpec {
  name: string;
  vni: number;
  /** UDP destination and listening port. */
  port: number;
  /** This node's underlay address (IFLA_VXLAN_LOCAL or LOCAL6 by its family). */
  local: string;
  mtu: number;
  /** The device's MAC: this node's VTEP MAC, which the peers' neighbour entries name. */
  mac: string;
}

/** The IFLA_INFO_DATA of a VXLAN device: VNI, local address, port, address learning off. */
export function vxlanInfoData(spec: Pick<VxlanSpec, 'vni' | 'port' | 'local'>): Buffer {
  const local = addressBytes(spec.local);
  return Buffer.concat([
    attr(IFLA_VXLAN_ID, u32(spec.vni)),
    attr(familyOfText(spec.local) === 6 ? IFLA_VXLAN_LOCAL6 : IFLA_VXLAN_LOCAL, local),
    attr(IFLA_VXLAN_LEARNING, u8(0)),
    attr(IFLA_VXLAN_PORT, be16(spec.port)),
  ]);
}

/**
 * Creates the VXLAN device up, with its MAC and MTU (EEXIST when the name is taken). Follow
 * with setLinkAliasByName (the owner tag) in the same write, as for a veth.
 */
export function createVxlan(spec: VxlanSpec): RtnlRequest {
  const linkinfo = encodeStream(ifla.formatInfo({ kind: 'vxlan', data: vxlanInfoData(spec) }));
  const out = new AttrStream();
  rt.formatLinkMessage(
    { kind: 'link', data: { flags: { up: true }, change: { up: true } }, attrs: { ifname: spec.name, mtu: spec.mtu, address: macBytes(spec.mac), linkinfo } },
    out,
  );
  return {
    type: RTM.NEWLINK,
    flags: FlagsNew.CREATE | FlagsNew.EXCL | NLM_F_ECHO,
    payload: out.bufs,
    expect: 'ack',
    what: `RTM_NEWLINK vxlan ${spec.name} (vni ${spec.vni}, port ${spec.port}, local ${spec.local})`,
  };
}

/** A VXLAN device as read back: the link and its VXLAN settings. */
export interface KernelVxlan {
  link: KernelLink;
  vni: number;
  port: number;
  /** IFLA_VXLAN_LOCAL or LOCAL6 as text, '' when unset. */
  local: string;
  learning: boolean;
}

/** A link message → its VXLAN settings; undefined when the link is not a VXLAN device. */
export function decodeVxlan(msg: NetlinkMessage): KernelVxlan | undefined {
  const link = decodeLink(msg);
  if (!link) return undefined;
  const buf = msg.data;
  let kind = '';
  const vx = { vni: 0, port: 0, local: '', learning: true };
  eachAttr(buf, 16, (type, start, end) => {
    if (type !== IFLA_LINKINFO) return;
    eachAttr(buf.subarray(0, end), start, (t, s, e) => {
      if (t === IFLA_INFO_KIND) kind = cString(buf, s, e);
      else if (t === IFLA_INFO_DATA) {
        eachAttr(buf.subarray(0, e), s, (d, ds, de) => {
          if (d === IFLA_VXLAN_ID && de - ds >= 4) vx.vni = buf.readUInt32LE(ds);
          else if (d === IFLA_VXLAN_PORT && de - ds >= 2) vx.port = buf.readUInt16BE(ds);
          else if ((d === IFLA_VXLAN_LOCAL || d === IFLA_VXLAN_LOCAL6) && !vx.local) vx.local = addressText(buf, ds, de);
          else if (d === IFLA_VXLAN_LEARNING && de > ds) vx.learning = buf[ds] !== 0;
        });
      }
    });
  });
  if (kind !== 'vxlan') return undefined;
  return { link, ...vx };
}

/** One forwarding-database entry of a VXLAN device: frames to `mac` are sent to `dst`. */
export interface FdbEntry {
  index: number;
  mac: string;
  /** The remote VTEP's underlay address, '' when the entry has none. */
  dst: string;
  permanent: boolean;
}

function fdbMessage(entry: { index: number; mac: string; dst: string }, state: number): Uint8Array[] {
  const out = new AttrStream();
  rt.formatNeighborMessage(
    {
      kind: 'neighbor',
      data: { family: AF_BRIDGE, ifindex: entry.index, state: { __unknown: state }, flags: { self: true } },
      attrs: { lladdr: macBytes(entry.mac), dst: addressBytes(entry.dst) },
    },
    out,
  );
  return out.bufs;
}

/** `bridge fdb replace MAC dev IF dst DST self permanent`. */
export function addFdb(entry: { index: number; mac: string; dst: string }): RtnlRequest {
  return {
    type: RTM.NEWNEIGH,
    flags: FlagsNew.CREATE | FlagsNew.REPLACE,
    payload: fdbMessage(entry, NUD_PERMANENT),
    expect: 'ack',
    what: `RTM_NEWNEIGH fdb ${entry.mac} dst ${entry.dst} dev ${entry.index}`,
  };
}

/** `bridge fdb del MAC dev IF dst DST self`: that remote of that MAC only. */
export function deleteFdb(entry: { index: number; mac: string; dst: string }): RtnlRequest {
  return {
    type: RTM.DELNEIGH,
    flags: 0,
    payload: fdbMessage(entry, 0),
    expect: 'ack',
    what: `RTM_DELNEIGH fdb ${entry.mac} dst ${entry.dst} dev ${entry.index}`,
  };
}

/** A dump of every AF_BRIDGE forwarding-database entry (all devices: filter by index). */
export function dumpFdb(): RtnlRequest {
  const out = new AttrStream();
  rt.formatNeighborMessage({ kind: 'neighbor', data: { family: AF_BRIDGE }, attrs: {} }, out);
  return { type: RTM.GETNEIGH, flags: FlagsGet.DUMP, payload: out.bufs, expect: 'dump', what: 'dump of the forwarding database' };
}

/** A neighbour dump of one family (all devices: filter by index). */
export function dumpNeighbours(family: Family): RtnlRequest {
  const out = new AttrStream();
  rt.formatNeighborMessage({ kind: 'neighbor', data: { family: afOf(family) }, attrs: {} }, out);
  return { type: RTM.GETNEIGH, flags: FlagsGet.DUMP, payload: out.bufs, expect: 'dump', what: `dump of the IPv${family} neighbours` };
}

/** `ip neigh del DST dev IF`. */
export function deleteNeighbour(entry: { index: number; family: Family; dst: string }): RtnlRequest {
  const out = new AttrStream();
  rt.formatNeighborMessage({ kind: 'neighbor', data: { family: afOf(entry.family), ifindex: entry.index }, attrs: { dst: addressBytes(entry.dst) } }, out);
  return { type: RTM.DELNEIGH, flags: 0, payload: out.bufs, expect: 'ack', what: `RTM_DELNEIGH ${entry.dst} dev ${entry.index}` };
}

const RTM_NEWNEIGH = 28;

/** An AF_BRIDGE neighbour message → an FDB entry; undefined for anything else. */
export function decodeFdb(msg: NetlinkMessage): FdbEntry | undefined {
  if (msg.type !== RTM_NEWNEIGH) return undefined;
  const buf = msg.data;
  if (buf.length < 12 || buf[0] !== AF_BRIDGE) return undefined;
  const index = buf.readInt32LE(4);
  let mac = '';
  let dst = '';
  eachAttr(buf, 12, (type, start, end) => {
    if (type === 1)
      dst = addressText(buf, start, end); // NDA_DST
    else if (type === 2) mac = macText(buf, start, end); // NDA_LLADDR
  });
  if (index <= 0 || !mac) return undefined;
  return { index, mac, dst, permanent: (buf.readUInt16LE(8) & NUD_PERMANENT) !== 0 };
}

/** RTM_GETLINK by index (answered with the link, its VXLAN settings included when it is one). */
export function getLinkByIndex(index: number): RtnlRequest {
  if (!Number.isInteger(index) || index <= 0) throw new Error(`refusing a link request for index ${index}`);
  const out = new AttrStream();
  rt.formatLinkMessage({ kind: 'link', data: { index }, attrs: {} }, out);
  return { type: RTM.GETLINK, flags: 0, payload: out.bufs, expect: 'answer', what: `RTM_GETLINK ${index}` };
}

export function setLinkMtu(index: number, mtu: number): RtnlRequest {
  if (!Number.isInteger(index) || index <= 0) throw new Error(`refusing a link request for index ${index}`);
  const out = new AttrStream();
  rt.formatLinkMessage({ kind: 'link', data: { index }, attrs: { mtu } }, out);
  return { type: RTM.SETLINK, flags: 0, payload: out.bufs, expect: 'ack', what: `RTM_SETLINK ${index} mtu ${mtu}` };
}
