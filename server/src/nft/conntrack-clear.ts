import { Protocol, RawNetlinkSocket } from '../rtnl/netlink-parts';
import * as ipaddr from 'ipaddr.js';
import { type RtnlRequest, RtnlSocket } from '../rtnl/rtnl-socket';
import { attr } from '../rtnl/wire-encode';
import { IP_PROTOCOLS } from './port-mapping-rules';
import type { PortProtocol } from '../cni/port-mappings';
import { type PodPortMapping, familyOf } from './port-mappings';
import type { NetnsEnter } from './nft-context';

// include/uapi/linux/netfilter/nfnetlink{,_conntrack}.h
const NFNL_SUBSYS_CTNETLINK = 1;
const IPCTNL_MSG_CT_GET = 1;
const IPCTNL_MSG_CT_DELETE = 2;
const NLM_F_DUMP = 0x300;
const NLA_F_NESTED = 0x8000;
const NLA_TYPE_MASK = 0x3fff;
const CTA_TUPLE_ORIG = 1;
const CTA_TUPLE_REPLY = 2;
const CTA_ID = 12;
const CTA_FILTER = 25;
const CTA_TUPLE_IP = 1;
const CTA_TUPLE_PROTO = 2;
const CTA_IP_V4_SRC = 1;
const CTA_IP_V6_SRC = 3;
const CTA_PROTO_NUM = 1;
const CTA_PROTO_DST_PORT = 3;
const CTA_FILTER_ORIG_FLAGS = 1;
const CTA_FILTER_REPLY_FLAGS = 2;
// net/netfilter/nf_conntrack_netlink.c: CTA_FILTER_FLAG(CTA_IP_SRC) ...
const FILTER_IP_SRC = 1 << 0;
const FILTER_PROTO_NUM = 1 << 3;
const FILTER_PROTO_DST_PORT = 1 << 5;
const AF = { 4: 2, 6: 10 } as const;

/**
 * Which conntrack entries to delete: one protocol and family, and the reply direction's source
 * (the pod a connection was DNATed to, or that answered it) and/or the original direction's
 * destination port (a hostPort).
 */
export interface ConntrackSelector {
  protocol: PortProtocol;
  family: 4 | 6;
  replySource?: string;
  origDestinationPort?: number;
}

/**
 * Deletes conntrack entries through ctnetlink on a netlink socket of its own (npm netlink's
 * raw socket, no `conntrack` process): a dump the kernel filters (CTA_FILTER, Linux 5.8+)
 * and one delete per entry found, by its original tuple and id, all sent at once. On DEL a
 * pod's UDP entries go, so a client that keeps sending to the hostPort is not DNATed to the
 * old pod address until its entry times out (UDP has no end to wait for).
 */
export class ConntrackCleaner {
  private readonly sock: RtnlSocket;

  constructor(enter: NetnsEnter = (fn) => fn(), where = 'conntrack') {
    this.sock = enter(() => new RtnlSocket(new RawNetlinkSocket(Protocol.NETFILTER), where));
  }

  /** Deletes the UDP entries toward `podIP` (DNATed to it, or replied to by it). Returns how many went. */
  clearUdpToward(podIP: string): Promise<number> {
    return this.clear({ protocol: 'udp', family: familyOf(podIP), replySource: podIP });
  }

  /**
   * After DEL: deletes the UDP entries toward the pod addresses of `removed` mappings (what
   * NftTables.removePortMappings returned) that were UDP. Returns how many went.
   */
  async clearAfterUnmap(removed: readonly PodPortMapping[]): Promise<number> {
    const pods = new Set(removed.filter((m) => m.protocol === 'udp').map((m) => m.podIP));
    let n = 0;
    for (const ip of pods) n += await this.clearUdpToward(ip);
    return n;
  }

  /** Deletes the entries `selector` picks; entries gone meanwhile are fine. Returns how many it deleted. */
  async clear(selector: ConntrackSelector): Promise<number> {
    const found = await this.sock.dump(dumpRequest(selector));
    const deletes = found
      .filter((m) => entryMatches(m.data, selector))
      .map((m) => deleteRequest(m.data))
      .filter((r): r is RtnlRequest => r !== undefined);
    if (deletes.length === 0) return 0;
    const outcomes = await this.sock.exchange(deletes);
    let deleted = 0;
    for (const o of outcomes) {
      if (!o.error) deleted++;
      else if (o.error.code !== 'ENOENT') throw o.error;
    }
    return deleted;
  }

  close(): void {
    this.sock.close();
  }
}

const nested = (type: number, ...children: Buffer[]) => attr(type | NLA_F_NESTED, Buffer.concat(children));
const u8 = (v: number) => Buffer.from([v]);
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const be16 = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
};

/** struct nfgenmsg: family, version 0, res_id 0. */
function nfgen(af: number): Buffer {
  return Buffer.from([af, 0, 0, 0]);
}

export function dumpRequest(s: ConntrackSelector): RtnlRequest {
  if (s.replySource === undefined && s.origDestinationPort === undefined)
    throw new RangeError('conntrack: a selector needs a reply source or a destination port (refusing to clear a whole protocol)');
  const proto = (port?: number) =>
    nested(CTA_TUPLE_PROTO, attr(CTA_PROTO_NUM, u8(IP_PROTOCOLS[s.protocol])), ...(port === undefined ? [] : [attr(CTA_PROTO_DST_PORT, be16(port))]));
  const attrs: Buffer[] = [];
  let origFlags = 0;
  let replyFlags = 0;
  if (s.origDestinationPort !== undefined) {
    origFlags = FILTER_PROTO_NUM | FILTER_PROTO_DST_PORT;
    attrs.push(nested(CTA_TUPLE_ORIG, proto(s.origDestinationPort)));
  }
  if (s.replySource !== undefined) {
    if (familyOf(s.replySource) !== s.family) throw new RangeError(`conntrack: ${s.replySource} is not IPv${s.family}`);
    // The kernel's IPv6 address filter matched no entry on Linux 6.18 (measured: a port filter
    // did), so for IPv6 it only narrows to the protocol; entryMatches() checks the address.
    replyFlags = (s.family === 4 ? FILTER_IP_SRC : 0) | FILTER_PROTO_NUM;
    const src = Buffer.from(ipaddr.parse(s.replySource).toByteArray());
    attrs.push(nested(CTA_TUPLE_REPLY, nested(CTA_TUPLE_IP, attr(s.family === 4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, src)), proto()));
  }
  const filter: Buffer[] = [];
  if (origFlags) filter.push(attr(CTA_FILTER_ORIG_FLAGS, u32(origFlags)));
  if (replyFlags) filter.push(attr(CTA_FILTER_REPLY_FLAGS, u32(replyFlags)));
  attrs.push(nested(CTA_FILTER, ...filter));
  return {
    type: (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET,
    flags: NLM_F_DUMP,
    payload: [nfgen(AF[s.family]), ...attrs],
    expect: 'dump',
    what: `conntrack dump ${s.protocol}${s.replySource ? ` reply-src ${s.replySource}` : ''}${s.origDestinationPort ? ` dport ${s.origDestinationPort}` : ''}`,
  };
}

/** Calls `fn(type, start, end)` for each attribute of `buf` in [from, to). */
function eachAttr(buf: Buffer, from: number, to: number, fn: (type: number, start: number, end: number) => void): void {
  let at = from;
  while (at + 4 <= to) {
    const len = buf.readUInt16LE(at);
    if (len < 4 || at + len > to) return;
    fn(buf.readUInt16LE(at + 2) & NLA_TYPE_MASK, at + 4, at + len);
    at += (len + 3) & ~3;
  }
}

/** The bytes of the attribute at `path` (nested types) in a ctnetlink message, if present. */
function attrAt(buf: Buffer, path: readonly number[]): Buffer | undefined {
  let range: [number, number] | undefined = [4, buf.length];
  for (const type of path) {
    const [from, to]: [number, number] = range;
    range = undefined;
    eachAttr(buf, from, to, (t, start, end) => {
      if (t === type && range === undefined) range = [start, end];
    });
    if (!range) return undefined;
  }
  return buf.subarray(range[0], range[1]);
}

/**
 * Whether a dumped entry is one `s` selects: checked here too, whatever the kernel's filter
 * did, so nothing else is ever deleted.
 */
export function entryMatches(entry: Buffer, s: ConntrackSelector): boolean {
  if (entry[0] !== AF[s.family]) return false;
  const proto = attrAt(entry, [CTA_TUPLE_ORIG, CTA_TUPLE_PROTO, CTA_PROTO_NUM]);
  if (proto?.[0] !== IP_PROTOCOLS[s.protocol]) return false;
  if (s.origDestinationPort !== undefined) {
    const port = attrAt(entry, [CTA_TUPLE_ORIG, CTA_TUPLE_PROTO, CTA_PROTO_DST_PORT]);
    if (!port || port.length < 2 || port.readUInt16BE(0) !== s.origDestinationPort) return false;
  }
  if (s.replySource !== undefined) {
    const src = attrAt(entry, [CTA_TUPLE_REPLY, CTA_TUPLE_IP, s.family === 4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC]);
    if (!src?.equals(Buffer.from(ipaddr.parse(s.replySource).toByteArray()))) return false;
  }
  return true;
}

/** The delete of a dumped entry: its family, original tuple and id, copied from the dump. */
export function deleteRequest(entry: Buffer): RtnlRequest | undefined {
  if (entry.length < 4) return undefined;
  const keep: Buffer[] = [];
  let at = 4;
  while (at + 4 <= entry.length) {
    const len = entry.readUInt16LE(at);
    if (len < 4 || at + len > entry.length) break;
    const type = entry.readUInt16LE(at + 2) & NLA_TYPE_MASK;
    if (type === CTA_TUPLE_ORIG || type === CTA_ID) keep.push(attr(entry.readUInt16LE(at + 2), entry.subarray(at + 4, at + len)));
    at += (len + 3) & ~3;
  }
  if (keep.length === 0) return undefined;
  return {
    type: (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE,
    flags: 0,
    payload: [nfgen(entry[0] ?? 0), ...keep],
    expect: 'ack',
    what: 'conntrack delete',
  };
}
