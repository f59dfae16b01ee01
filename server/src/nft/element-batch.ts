/**
 * Element changes without libnftables. libnftables 1.0.6 fills its cache before every
 * transaction that adds elements: it lists every table, chain, set and object, and the
 * elements of every interval set (in a table of 250 chains and 375 sets that is most of a
 * 1-3 ms transaction). A transaction of element adds and deletes on plain sets whose key
 * types podwired declared itself needs none of it: this file frames it as the nfnetlink batch
 * libnftables would send (NEWSETELEM / DELSETELEM, one message per command), for the
 * context's own socket (NftContext.run, native nftBatch). Anything else (maps, interval or
 * timeout sets, sets not declared through the same context, values it cannot encode) is
 * left to libnftables: encode() answers undefined.
 */
import * as ipaddr from 'ipaddr.js';
import { attr, cstring } from '../rtnl/wire-encode';
import type { NftCommand } from './nft-json';

const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_CREATE = 0x400;
const NLA_F_NESTED = 0x8000;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;
const NFNL_SUBSYS_NFTABLES = 10;
const NFT_MSG_NEWSETELEM = 12;
const NFT_MSG_DELSETELEM = 14;
const NFTA_SET_ELEM_LIST_TABLE = 1;
const NFTA_SET_ELEM_LIST_SET = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS = 3;
const NFTA_LIST_ELEM = 1;
const NFTA_SET_ELEM_KEY = 1;
const NFTA_DATA_VALUE = 1;
const IFNAMSIZ = 16;

/** A batch bigger than this goes through libnftables (one send must fit the socket's buffer). */
export const MAX_BATCH_BYTES = 64 * 1024;

const FAMILIES: Record<string, number> = { inet: 1, ip: 2, arp: 3, netdev: 5, bridge: 7, ip6: 10 };

/** Key types this file encodes (a field of a concatenation is padded to 4 bytes). */
const FIELD_TYPES = new Set(['ifname', 'ipv4_addr', 'ipv6_addr', 'inet_proto', 'inet_service']);

/** The declared key type of each plain set (family, table, set), learnt from the transactions a context ran. */
export class SetTypes {
  private readonly types = new Map<string, readonly string[]>();

  /** After a transaction succeeded: its set declarations and deletions. */
  learn(commands: readonly NftCommand[]): void {
    for (const c of commands) {
      for (const [op, body] of Object.entries(c)) {
        if (!body || typeof body !== 'object') continue;
        const b = body as Record<string, Record<string, unknown> | undefined>;
        if (b.table && (op === 'delete' || op === 'destroy')) this.forgetTable(String(b.table.family), String(b.table.name));
        const set = b.set ?? b.map;
        if (!set) continue;
        const k = keyOf(set.family, set.table, set.name);
        if (op === 'delete' || op === 'destroy') this.types.delete(k);
        else if (op === 'add' || op === 'create') {
          const type = Array.isArray(set.type) ? set.type.map(String) : [String(set.type)];
          const flags = Array.isArray(set.flags) ? set.flags : [];
          // Maps, interval and timeout sets and anything else not plain stay libnftables'.
          if (b.map || flags.length > 0 || set.timeout !== undefined || !type.every((t) => FIELD_TYPES.has(t))) this.types.delete(k);
          else this.types.set(k, type);
        }
      }
    }
  }

  typeOf(family: unknown, table: unknown, name: unknown): readonly string[] | undefined {
    return this.types.get(keyOf(family, table, name));
  }

  private forgetTable(family: string, table: string): void {
    const prefix = `${family} ${table} `;
    for (const k of [...this.types.keys()]) if (k.startsWith(prefix)) this.types.delete(k);
  }
}

const keyOf = (family: unknown, table: unknown, name: unknown) => `${String(family)} ${String(table)} ${String(name)}`;

/** An encoded batch: `count` element messages numbered firstSeq.., framed by BATCH_BEGIN/END. */
export interface ElementBatch {
  bytes: Uint8Array;
  count: number;
}

/**
 * `commands` as one nfnetlink batch when every one is an element add or delete on a set
 * `types` knows and every element encodes; otherwise undefined (run them through libnftables).
 */
export function encodeElementBatch(commands: readonly NftCommand[], types: SetTypes, firstSeq: number): ElementBatch | undefined {
  const messages: Buffer[] = [];
  for (const c of commands) {
    const ops = Object.keys(c);
    if (ops.length !== 1) return undefined;
    const op = ops[0];
    if (op !== 'add' && op !== 'delete') return undefined;
    const body = (c as Record<string, Record<string, unknown>>)[op];
    const el = body?.element as Record<string, unknown> | undefined;
    if (!el || Object.keys(body ?? {}).length !== 1) return undefined;
    const family = FAMILIES[String(el.family)];
    const type = types.typeOf(el.family, el.table, el.name);
    if (family === undefined || !type || !Array.isArray(el.elem) || typeof el.table !== 'string' || typeof el.name !== 'string') return undefined;
    const elems: Buffer[] = [];
    for (const e of el.elem) {
      const key = encodeKey(type, e);
      if (!key) return undefined;
      elems.push(attr(NFTA_LIST_ELEM | NLA_F_NESTED, attr(NFTA_SET_ELEM_KEY | NLA_F_NESTED, attr(NFTA_DATA_VALUE, key))));
    }
    if (elems.length === 0) continue;
    const payload = Buffer.concat([
      attr(NFTA_SET_ELEM_LIST_TABLE, cstring(el.table)),
      attr(NFTA_SET_ELEM_LIST_SET, cstring(el.name)),
      attr(NFTA_SET_ELEM_LIST_ELEMENTS | NLA_F_NESTED, Buffer.concat(elems)),
    ]);
    const type16 = (NFNL_SUBSYS_NFTABLES << 8) | (op === 'add' ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM);
    const flags = NLM_F_REQUEST | NLM_F_ACK | (op === 'add' ? NLM_F_CREATE : 0);
    messages.push(message(type16, flags, firstSeq + messages.length, family, 0, payload));
  }
  if (messages.length === 0) return undefined;
  const begin = message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, firstSeq - 1, 0, NFNL_SUBSYS_NFTABLES, Buffer.alloc(0));
  const end = message(NFNL_MSG_BATCH_END, NLM_F_REQUEST, firstSeq + messages.length, 0, NFNL_SUBSYS_NFTABLES, Buffer.alloc(0));
  const bytes = Buffer.concat([begin, ...messages, end]);
  if (bytes.length > MAX_BATCH_BYTES) return undefined;
  return { bytes, count: messages.length };
}

/** A key's bytes: one field as is, a concatenation's fields each padded to 4 bytes. */
export function encodeKey(type: readonly string[], e: unknown): Buffer | undefined {
  if (type.length === 1) return encodeField(type[0] as string, e);
  if (!e || typeof e !== 'object' || !Array.isArray((e as { concat?: unknown }).concat)) return undefined;
  const parts = (e as { concat: unknown[] }).concat;
  if (parts.length !== type.length) return undefined;
  const out: Buffer[] = [];
  for (const [i, t] of type.entries()) {
    const f = encodeField(t, parts[i]);
    if (!f) return undefined;
    out.push(f, Buffer.alloc((4 - (f.length % 4)) % 4));
  }
  return Buffer.concat(out);
}

function encodeField(type: string, v: unknown): Buffer | undefined {
  switch (type) {
    case 'ifname': {
      if (typeof v !== 'string' || v.length === 0 || Buffer.byteLength(v) >= IFNAMSIZ) return undefined;
      const b = Buffer.alloc(IFNAMSIZ);
      b.write(v, 'utf8');
      return b;
    }
    case 'ipv4_addr':
    case 'ipv6_addr': {
      if (typeof v !== 'string') return undefined;
      const want = type === 'ipv4_addr' ? 'ipv4' : 'ipv6';
      if (want === 'ipv4' ? !ipaddr.IPv4.isValidFourPartDecimal(v) : !ipaddr.IPv6.isValid(v)) return undefined;
      const a = ipaddr.parse(v);
      return a.kind() === want ? Buffer.from(a.toByteArray()) : undefined;
    }
    case 'inet_proto':
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255 ? Buffer.from([v]) : undefined;
    case 'inet_service': {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) return undefined;
      const b = Buffer.alloc(2);
      b.writeUInt16BE(v);
      return b;
    }
    default:
      return undefined;
  }
}

/** nlmsghdr (host order: little-endian here) + nfgenmsg (family, version 0, res_id big-endian) + payload. */
function message(type: number, flags: number, seq: number, family: number, resId: number, payload: Buffer): Buffer {
  const len = 16 + 4 + payload.length;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq >>> 0, 8);
  b.writeUInt32LE(0, 12);
  b.writeUInt8(family, 16);
  b.writeUInt8(0, 17);
  b.writeUInt16BE(resId, 18);
  payload.copy(b, 20);
  return b;
}
