/**
 * Direct encoding of the rtnetlink payloads an ADD sends (header struct + attributes, written
 * into one Buffer), byte for byte what npm netlink's formatters produce for the same request
 * (wire-encode.test.ts compares them), without the formatters' generic attribute streams,
 * which showed in the datapath thread's CPU profile. Layout as npm netlink writes it:
 * attributes in the order given, each padded to 4 bytes except the last of its stream (the
 * message framing aligns the message itself).
 */

/** An attribute before encoding: its type and payload (a nested stream is an Attr[]). */
export type Attr = [type: number, payload: Buffer | Attr[]];

const pad4 = (n: number): number => (n + 3) & ~3;

/** Encoded length of an attribute stream (no padding after the last attribute). */
function streamLength(attrs: readonly Attr[]): number {
  let n = 0;
  attrs.forEach(([, payload], i) => {
    const len = 4 + (Array.isArray(payload) ? streamLength(payload) : payload.length);
    n += i === attrs.length - 1 ? len : pad4(len);
  });
  return n;
}

function writeStream(buf: Buffer, at: number, attrs: readonly Attr[]): number {
  for (const [type, payload] of attrs) {
    const inner = Array.isArray(payload) ? streamLength(payload) : payload.length;
    buf.writeUInt16LE(4 + inner, at);
    buf.writeUInt16LE(type, at + 2);
    if (Array.isArray(payload)) writeStream(buf, at + 4, payload);
    else payload.copy(buf, at + 4);
    at += pad4(4 + inner); // the padding bytes are zero (Buffer.alloc)
  }
  return at;
}

/** A fixed header followed by an attribute stream, as one Buffer. */
export function message(header: Buffer, attrs: readonly Attr[]): Buffer {
  const buf = Buffer.alloc(header.length + streamLength(attrs));
  header.copy(buf, 0);
  writeStream(buf, header.length, attrs);
  return buf;
}

/**
 * One attribute on its own, {u16 len, u16 type, payload}, always padded to 4 bytes: for
 * payloads built by concatenating attributes (nested lists, the nfnetlink and VXLAN messages).
 */
export function attr(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  const out = Buffer.alloc(pad4(len));
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}

export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
}

/** A NUL-terminated string. */
export function cstring(s: string): Buffer {
  const b = Buffer.alloc(Buffer.byteLength(s) + 1);
  b.write(s, 0);
  return b;
}

/** struct ifinfomsg: family, pad, type, index, flags, change. */
export function ifinfomsg(index: number, flags: number, change: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags >>> 0, 8);
  b.writeUInt32LE(change >>> 0, 12);
  return b;
}

/** struct ifaddrmsg: family, prefixlen, flags, scope, index. */
export function ifaddrmsg(family: number, prefixLen: number, flags: number, scope: number, index: number): Buffer {
  const b = Buffer.alloc(8);
  b[0] = family;
  b[1] = prefixLen;
  b[2] = flags;
  b[3] = scope;
  b.writeUInt32LE(index >>> 0, 4);
  return b;
}

/** struct ndmsg: family, pads, ifindex, state, flags, type. */
export function ndmsg(family: number, ifindex: number, state: number): Buffer {
  const b = Buffer.alloc(12);
  b[0] = family;
  b.writeInt32LE(ifindex, 4);
  b.writeUInt16LE(state, 8);
  return b;
}

/** struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags. */
export function rtmsg(r: { family: number; dstLen: number; table: number; protocol: number; scope: number; type: number; flags: number }): Buffer {
  const b = Buffer.alloc(12);
  b[0] = r.family;
  b[1] = r.dstLen;
  b[4] = r.table;
  b[5] = r.protocol;
  b[6] = r.scope;
  b[7] = r.type;
  b.writeUInt32LE(r.flags >>> 0, 8);
  return b;
}
