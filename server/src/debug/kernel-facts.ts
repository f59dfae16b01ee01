/**
 * Kernel state as the Debug service reports it, turned from npm netlink messages into the
 * proto's LinkState / RouteState shapes. Pure functions: the inspector does the I/O.
 */
import type { rt } from 'netlink';
import type { LinkState__Output as LinkState } from '../generated/podwire/v1/LinkState';
import type { RouteState__Output as RouteState } from '../generated/podwire/v1/RouteState';
import { RTPROT_PODWIRE, RT_TABLE_MAIN, bytesToAddress, macToString } from '../datapath/netlink-codec';

/** IFLA_OPERSTATE values (RFC 2863), as `ip link` prints them. */
const OPER_STATES = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'];

export function operStateName(value: number | undefined): string {
  if (value === undefined) return 'unknown';
  return OPER_STATES[value] ?? String(value);
}

/** Route protocol as `ip route` names it; podwire's own (199) is "podwire". */
export function protocolName(protocol: unknown): string {
  if (protocol === RTPROT_PODWIRE) return 'podwire';
  if (typeof protocol === 'string') return protocol.toLowerCase();
  if (typeof protocol === 'number') return String(protocol);
  return '';
}

export function absentLink(name: string, detail: string): LinkState {
  return { present: false, name, index: 0, mac: '', mtu: 0, operState: '', addresses: [], detail };
}

/** The link with the addresses the kernel holds on it ("10.0.0.1/32", "fe80::1/64"). */
export function linkState(link: rt.LinkMessage, addresses: readonly rt.AddressMessage[]): LinkState {
  const index = link.data.index ?? 0;
  return {
    present: true,
    name: link.attrs.ifname ?? '',
    index,
    mac: macToString(link.attrs.address),
    mtu: link.attrs.mtu ?? 0,
    operState: operStateName(link.attrs.operstate),
    addresses: addresses
      .filter((a) => a.data.index === index)
      .flatMap((a) => {
        const bytes = a.attrs.local ?? a.attrs.address;
        return bytes ? [`${bytesToAddress(bytes)}/${a.data.prefixlen ?? 0}`] : [];
      }),
    detail: '',
  };
}

/** Routes of the main table that leave through `link` (index), e.g. "10.0.0.7/32" via "" dev pw…. */
export function routesThrough(routes: readonly rt.RouteMessage[], link: { index: number; name: string }): RouteState[] {
  return routes
    .filter((r) => r.attrs.oif === link.index && (r.attrs.table ?? r.data.table) === RT_TABLE_MAIN)
    .map((r) => {
      const family = r.data.family === 10 ? 6 : 4;
      const dst = r.attrs.dst ? bytesToAddress(r.attrs.dst) : family === 6 ? '::' : '0.0.0.0';
      return {
        destination: `${dst}/${r.data.dstLen ?? 0}`,
        gateway: r.attrs.gateway ? bytesToAddress(r.attrs.gateway) : '',
        device: link.name,
        protocol: protocolName(r.data.protocol),
      };
    });
}
