/**
 * Kernel state as the Debug service reports it: podwire's kernel objects (rtnl) turned into
 * the proto's LinkState / RouteState shapes. Pure functions: the inspector does the I/O.
 */
import type { LinkState__Output as LinkState } from '../generated/podwire/v1/LinkState';
import type { RouteState__Output as RouteState } from '../generated/podwire/v1/RouteState';
import { RTPROT_PODWIRE, RTPROT_PODWIRE_PEER } from '../datapath/host-routes';
import { type KernelAddress, type KernelLink, type KernelRoute, RT_TABLE_MAIN, operStateName } from '../rtnl/kernel-objects';

export { operStateName };

/** rtm_protocol names as iproute2's rt_protos spells them; podwire's own are "podwire" and "podwire-peer". */
const PROTOCOL_NAMES: Record<number, string> = {
  0: 'unspec',
  1: 'redirect',
  2: 'kernel',
  3: 'boot',
  4: 'static',
  [RTPROT_PODWIRE]: 'podwire',
  [RTPROT_PODWIRE_PEER]: 'podwire-peer',
};

export function protocolName(protocol: number): string {
  return PROTOCOL_NAMES[protocol] ?? String(protocol);
}

export function absentLink(name: string, detail: string): LinkState {
  return { present: false, name, index: 0, mac: '', mtu: 0, operState: '', addresses: [], detail };
}

/** The link with the addresses the kernel holds on it ("10.0.0.1/32", "fe80::1/64"). */
export function linkState(link: KernelLink, addresses: readonly KernelAddress[]): LinkState {
  return {
    present: true,
    name: link.name,
    index: link.index,
    mac: link.mac,
    mtu: link.mtu,
    operState: operStateName(link.operState),
    addresses: addresses.filter((a) => a.index === link.index).map((a) => `${a.address}/${a.prefixLen}`),
    detail: '',
  };
}

/** Routes of the main table that leave through `link` (index), e.g. "10.0.0.7/32" via "" dev pw…. */
export function routesThrough(routes: readonly KernelRoute[], link: { index: number; name: string }): RouteState[] {
  return routes
    .filter((r) => r.oif === link.index && r.table === RT_TABLE_MAIN)
    .map((r) => ({ destination: `${r.dst}/${r.dstLen}`, gateway: r.gateway, device: link.name, protocol: protocolName(r.protocol) }));
}
