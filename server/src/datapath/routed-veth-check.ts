/**
 * What CHECK, reconcile and the post-serving verification say about a routed veth, from
 * snapshots of the kernel state (rtnl/snapshot.ts). Pure: the callers read the kernel.
 */
import { type KernelLink, RT_TABLE_MAIN } from '../rtnl/kernel-objects';
import type { NetnsSnapshot } from '../rtnl/snapshot';
import type { PodNetworkSpec } from './datapath';
import { RTPROT_PODWIRE } from './host-routes';
import * as ipaddr from 'ipaddr.js';
import { routeDstText } from '../cni/ipam-routes';
import { POD_GATEWAY, POD_PREFIX, familiesOf, podRoutes } from './routed-veth-layout';

/** Two addresses' texts name the same address (the kernel's and ipaddr.js's IPv6 spellings may differ). */
export function sameAddress(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return ipaddr.parse(a).toNormalizedString() === ipaddr.parse(b).toNormalizedString();
  } catch {
    return false;
  }
}

/** The host side: the host end exists and is up, holds each family's gateway address, and has a route to each pod address. */
export function hostSideProblems(host: NetnsSnapshot, link: KernelLink | undefined, spec: PodNetworkSpec): string[] {
  if (!link) return [`host veth ${spec.hostIfname} is missing`];
  const problems: string[] = [];
  if (!link.up) problems.push(`host veth ${spec.hostIfname} is down`);
  const held = host.addressesOf(link.index);
  const routes = host.routesVia(link.index);
  for (const family of familiesOf(spec.addresses)) {
    const gw = POD_GATEWAY[family];
    if (!held.some((a) => a.family === family && a.address === gw)) problems.push(`host veth ${spec.hostIfname} does not hold the gateway address ${gw}`);
  }
  for (const addr of spec.addresses) {
    const found = routes.some((r) => r.family === addr.family && r.table === RT_TABLE_MAIN && r.dstLen === POD_PREFIX[addr.family] && r.dst === addr.address);
    if (!found) problems.push(`host route ${addr.address}/${POD_PREFIX[addr.family]} dev ${spec.hostIfname} is missing`);
  }
  return problems;
}

/**
 * The pod side: the pod end exists and is up, holds each address, has each of its routes
 * (podRoutes(): the config's `ipam.routes`, else the default route per family) through itself
 * via its next hop, and the permanent neighbour entry for the gateway with the host end's MAC
 * (when `hostMac` is known). Only this interface's routes are looked at: other interfaces in
 * the netns (another podwire network's, another plugin's) and routes a chained plugin added
 * are not podwire's business.
 */
export function podSideProblems(pod: NetnsSnapshot, spec: PodNetworkSpec, hostMac: string | undefined): string[] {
  const link = pod.link(spec.podIfname);
  if (!link) return [`interface ${spec.podIfname} is missing in ${spec.netnsPath}`];
  const problems: string[] = [];
  if (!link.up) problems.push(`interface ${spec.podIfname} is down`);
  const held = pod.addressesOf(link.index);
  for (const addr of spec.addresses) {
    const prefix = POD_PREFIX[addr.family];
    if (!held.some((a) => a.family === addr.family && a.prefixLen === prefix && a.address === addr.address)) {
      problems.push(`address ${addr.address}/${prefix} is missing on ${spec.podIfname}`);
    }
  }
  const routes = pod.routesVia(link.index).filter((r) => r.table === RT_TABLE_MAIN);
  for (const want of podRoutes(spec)) {
    const found = routes.some((r) => r.family === want.family && r.dstLen === want.dstLen && sameAddress(r.dst, want.dst) && sameAddress(r.gateway, want.gw));
    if (!found) problems.push(`${want.dstLen === 0 ? 'default route' : `route ${routeDstText(want)}`} via ${want.gw} dev ${spec.podIfname} is missing`);
  }
  const neighbours = pod.neighboursOf(link.index);
  for (const family of familiesOf(spec.addresses)) {
    const gw = POD_GATEWAY[family];
    if (hostMac !== undefined) {
      const neigh = neighbours.find((n) => n.family === family && n.dst === gw);
      // A chained plugin may flush it (the host end then answers ARP/NDP itself): only a wrong MAC is a problem.
      if (neigh && neigh.lladdr !== '' && neigh.lladdr !== hostMac)
        problems.push(`neighbour ${gw} on ${spec.podIfname} points at ${neigh.lladdr}, not the host end ${hostMac}`);
    }
  }
  return problems;
}

/** Proto-199 routes on `link` whose address is not one of `keep`. */
export function strayPodRoutes(host: NetnsSnapshot, link: KernelLink, keep: ReadonlySet<string>): Array<{ address: string; family: 4 | 6 }> {
  return host
    .routesVia(link.index)
    .filter((r) => r.protocol === RTPROT_PODWIRE && r.dstLen === POD_PREFIX[r.family] && !keep.has(r.dst))
    .map((r) => ({ address: r.dst, family: r.family }));
}
