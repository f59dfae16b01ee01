/** npm netlink messages → podwire's plain kernel objects (kernel-objects.ts). */
import { rt } from 'netlink';
import { bytesToAddress, familyOf, macToString } from './addresses';
import type { KernelAddress, KernelLink, KernelNeighbour, KernelRoute } from './kernel-objects';

/** npm netlink gives enum fields it can name as names, others as numbers: always a number here. */
function enumNumber(value: unknown, names: Record<string, unknown>): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const n = names[value];
    if (typeof n === 'number') return n;
  }
  return 0;
}

export function decodeLink(msg: rt.Message): KernelLink | undefined {
  if (msg.kind !== 'link' || !msg.data.index) return undefined;
  return {
    index: msg.data.index,
    name: msg.attrs.ifname ?? '',
    mac: macToString(msg.attrs.address),
    up: Boolean(msg.data.flags?.up),
    operState: msg.attrs.operstate,
    mtu: msg.attrs.mtu ?? 0,
    alias: msg.attrs.ifalias ?? '',
  };
}

export function decodeAddress(msg: rt.Message): KernelAddress | undefined {
  if (msg.kind !== 'address') return undefined;
  const bytes = msg.attrs.local ?? msg.attrs.address;
  if (!bytes || !msg.data.index) return undefined;
  return { index: msg.data.index, family: familyOf(msg.data.family), address: bytesToAddress(bytes), prefixLen: msg.data.prefixlen ?? 0 };
}

export function decodeRoute(msg: rt.Message): KernelRoute | undefined {
  if (msg.kind !== 'route') return undefined;
  const family = familyOf(msg.data.family);
  if (msg.data.family !== 2 && msg.data.family !== 10) return undefined;
  return {
    family,
    dst: msg.attrs.dst ? bytesToAddress(msg.attrs.dst) : family === 6 ? '::' : '0.0.0.0',
    dstLen: msg.data.dstLen ?? 0,
    gateway: msg.attrs.gateway ? bytesToAddress(msg.attrs.gateway) : '',
    oif: msg.attrs.oif ?? 0,
    table: msg.attrs.table ?? msg.data.table ?? 0,
    protocol: enumNumber(msg.data.protocol, rt.RouteProtocol as unknown as Record<string, unknown>),
    scope: enumNumber(msg.data.scope, rt.RouteScope as unknown as Record<string, unknown>),
    type: enumNumber(msg.data.type, rt.RouteType as unknown as Record<string, unknown>),
  };
}

export function decodeNeighbour(msg: rt.Message): KernelNeighbour | undefined {
  if (msg.kind !== 'neighbor' || !msg.attrs.dst || !msg.data.ifindex) return undefined;
  if (msg.data.family !== 2 && msg.data.family !== 10) return undefined;
  return {
    index: msg.data.ifindex,
    family: familyOf(msg.data.family),
    dst: bytesToAddress(msg.attrs.dst),
    lladdr: macToString(msg.attrs.lladdr),
    permanent: Boolean(msg.data.state?.permanent),
  };
}

/** Decodes every message `decode` understands, dropping the rest. */
export function decodeAll<T>(msgs: readonly rt.Message[], decode: (m: rt.Message) => T | undefined): T[] {
  const out: T[] = [];
  for (const m of msgs) {
    const d = decode(m);
    if (d !== undefined) out.push(d);
  }
  return out;
}
