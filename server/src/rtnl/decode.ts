/** Reply messages → podwire's plain kernel objects (kernel-objects.ts), by message type. */
import type { NetlinkMessage } from 'netlink';
import type { KernelAddress, KernelLink, KernelNeighbour, KernelRoute } from './kernel-objects';
import { decodeAddressPayload, decodeLinkPayload, decodeNeighbourPayload, decodeRoutePayload } from './wire-decode';

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
