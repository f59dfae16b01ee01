/**
 * Reply messages → podwire's plain kernel objects (kernel-objects.ts), by message type.
 *
 * The four rtnetlink objects podwire reads are decoded straight from the message payload:
 * the fixed header and only the attributes podwire uses. npm netlink's generic parser decodes
 * every attribute of every message (a link's statistics and per-family configuration blocks
 * among them), which made a host snapshot at 1,000 pods cost hundreds of milliseconds.
 *
 * Layouts (include/uapi/linux/rtnetlink.h, if_link.h, if_addr.h, neighbour.h): attributes are
 * {u16 len, u16 type, payload}, aligned to 4 bytes, after the fixed header.
 */
import type { NetlinkMessage } from './netlink-parts';
import type { KernelAddress, KernelLink, KernelNeighbour, KernelRoute } from './kernel-objects';

const AF_INET = 2;
const AF_INET6 = 10;
const IFF_UP = 1;
/** Attribute types carry two flag bits (NLA_F_NESTED, NLA_F_NET_BYTEORDER). */
const NLA_TYPE_MASK = 0x3fff;

/** Calls `fn(type, start, end)` for every attribute from `offset` on. */
export function eachAttr(buf: Buffer, offset: number, fn: (type: number, start: number, end: number) => void): void {
  let at = offset;
  while (at + 4 <= buf.length) {
    const len = buf.readUInt16LE(at);
    if (len < 4 || at + len > buf.length) return;
    fn(buf.readUInt16LE(at + 2) & NLA_TYPE_MASK, at + 4, at + len);
    at += (len + 3) & ~3;
  }
}

/** IPv4 or IPv6 address bytes as text ("10.0.0.1", "fd00::1"), as ipaddr.js writes them (RFC 5952 zero compression, hex throughout). */
export function addressText(buf: Buffer, start: number, end: number): string {
  const n = end - start;
  if (n === 4) return `${buf[start]}.${buf[start + 1]}.${buf[start + 2]}.${buf[start + 3]}`;
  if (n !== 16) return '';
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(buf.readUInt16BE(start + 2 * i));
  // The longest run of two or more zero words becomes "::" (the first such run on a tie).
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (bestAt < 0) return hex(words);
  return `${hex(words.slice(0, bestAt))}::${hex(words.slice(bestAt + bestLen))}`;
}

export function macText(buf: Buffer, start: number, end: number): string {
  const parts: string[] = [];
  for (let i = start; i < end; i++) parts.push((buf[i] ?? 0).toString(16).padStart(2, '0'));
  return parts.join(':');
}

export function cString(buf: Buffer, start: number, end: number): string {
  let stop = start;
  while (stop < end && buf[stop] !== 0) stop++;
  return buf.toString('utf8', start, stop);
}

/** struct ifinfomsg (16 bytes) + IFLA_*. */
function decodeLinkPayload(buf: Buffer): KernelLink | undefined {
  if (buf.length < 16) return undefined;
  const index = buf.readInt32LE(4);
  if (index <= 0) return undefined;
  const link: KernelLink = {
    index,
    name: '',
    mac: '',
    up: (buf.readUInt32LE(8) & IFF_UP) !== 0,
    operState: undefined,
    mtu: 0,
    alias: '',
    group: 0,
    peerIndex: 0,
  };
  eachAttr(buf, 16, (type, start, end) => {
    if (type === 1)
      link.mac = macText(buf, start, end); // IFLA_ADDRESS
    else if (type === 3)
      link.name = cString(buf, start, end); // IFLA_IFNAME
    else if (type === 4 && end - start >= 4)
      link.mtu = buf.readUInt32LE(start); // IFLA_MTU
    else if (type === 5 && end - start >= 4)
      link.peerIndex = buf.readUInt32LE(start); // IFLA_LINK
    else if (type === 16 && end > start)
      link.operState = buf[start]; // IFLA_OPERSTATE
    else if (type === 20)
      link.alias = cString(buf, start, end); // IFLA_IFALIAS
    else if (type === 27 && end - start >= 4) link.group = buf.readUInt32LE(start); // IFLA_GROUP
  });
  return link;
}

/** struct ifaddrmsg (8 bytes) + IFA_*; the local address (IFA_LOCAL) wins over IFA_ADDRESS (the peer on point-to-point links). */
function decodeAddressPayload(buf: Buffer): KernelAddress | undefined {
  if (buf.length < 8) return undefined;
  const af = buf[0];
  if (af !== AF_INET && af !== AF_INET6) return undefined;
  const index = buf.readUInt32LE(4);
  let address = '';
  let local = '';
  eachAttr(buf, 8, (type, start, end) => {
    if (type === 1) address = addressText(buf, start, end);
    else if (type === 2) local = addressText(buf, start, end);
  });
  const text = local || address;
  if (!text || index <= 0) return undefined;
  return { index, family: af === AF_INET6 ? 6 : 4, address: text, prefixLen: buf[1] ?? 0 };
}

/** struct rtmsg (12 bytes) + RTA_*. */
function decodeRoutePayload(buf: Buffer): KernelRoute | undefined {
  if (buf.length < 12) return undefined;
  const af = buf[0];
  if (af !== AF_INET && af !== AF_INET6) return undefined;
  const family = af === AF_INET6 ? 6 : 4;
  const route: KernelRoute = {
    family,
    dst: family === 6 ? '::' : '0.0.0.0',
    dstLen: buf[1] ?? 0,
    gateway: '',
    oif: 0,
    table: buf[4] ?? 0,
    protocol: buf[5] ?? 0,
    scope: buf[6] ?? 0,
    type: buf[7] ?? 0,
  };
  eachAttr(buf, 12, (type, start, end) => {
    if (type === 1)
      route.dst = addressText(buf, start, end); // RTA_DST
    else if (type === 4 && end - start >= 4)
      route.oif = buf.readUInt32LE(start); // RTA_OIF
    else if (type === 5)
      route.gateway = addressText(buf, start, end); // RTA_GATEWAY
    else if (type === 15 && end - start >= 4) route.table = buf.readUInt32LE(start); // RTA_TABLE (tables > 255)
  });
  return route;
}

const NUD_PERMANENT = 0x80;

/** struct ndmsg (12 bytes) + NDA_*. */
function decodeNeighbourPayload(buf: Buffer): KernelNeighbour | undefined {
  if (buf.length < 12) return undefined;
  const af = buf[0];
  if (af !== AF_INET && af !== AF_INET6) return undefined;
  const index = buf.readInt32LE(4);
  let dst = '';
  let lladdr = '';
  eachAttr(buf, 12, (type, start, end) => {
    if (type === 1)
      dst = addressText(buf, start, end); // NDA_DST
    else if (type === 2) lladdr = macText(buf, start, end); // NDA_LLADDR
  });
  if (!dst || index <= 0) return undefined;
  return { index, family: af === AF_INET6 ? 6 : 4, dst, lladdr, permanent: (buf.readUInt16LE(8) & NUD_PERMANENT) !== 0 };
}

const RTM_NEWLINK = 16;
const RTM_NEWADDR = 20;
const RTM_NEWROUTE = 24;
const RTM_NEWNEIGH = 28;

export function decodeLink(msg: NetlinkMessage): KernelLink | undefined {
  return msg.type === RTM_NEWLINK ? decodeLinkPayload(msg.data) : undefined;
}

export function decodeAddress(msg: NetlinkMessage): KernelAddress | undefined {
  return msg.type === RTM_NEWADDR ? decodeAddressPayload(msg.data) : undefined;
}

export function decodeRoute(msg: NetlinkMessage): KernelRoute | undefined {
  return msg.type === RTM_NEWROUTE ? decodeRoutePayload(msg.data) : undefined;
}

export function decodeNeighbour(msg: NetlinkMessage): KernelNeighbour | undefined {
  return msg.type === RTM_NEWNEIGH ? decodeNeighbourPayload(msg.data) : undefined;
}

/** Decodes every message `decode` understands, dropping the rest. */
export function decodeAll<T>(msgs: readonly NetlinkMessage[], decode: (m: NetlinkMessage) => T | undefined): T[] {
  const out: T[] = [];
  for (const m of msgs) {
    const d = decode(m);
    if (d !== undefined) out.push(d);
  }
  return out;
}
