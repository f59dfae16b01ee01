import { type NftExpr, concat, match, meta, payload, prefix, setRef } from './nft-json';
import { type PodPortMapping, familyOf } from './port-mappings';
import { type Family, HAIRPIN_SETS, HOSTPORT_MAPS } from './table-layout';

/**
 * IP protocol numbers: elements carry numbers, not names, so neither programming nor listing
 * needs /etc/protocols (which the node image does not have).
 */
export const IP_PROTOCOLS = { tcp: 6, udp: 17, sctp: 132 } as const;

/** One element of a set or map: its name and the element ([key, value] for a map). */
export interface SetElement {
  set: string;
  elem: NftExpr;
}

/**
 * A mapping's two elements, same key: (l4proto . hostPort), or (l4proto . hostIP . hostPort)
 * for a specific host address, to the pod address in one map and to containerPort in the other.
 */
export function mappingElements(m: PodPortMapping): [SetElement, SetElement] {
  const family = familyOf(m.podIP);
  const maps = m.hostIP === undefined ? HOSTPORT_MAPS.any[family] : HOSTPORT_MAPS.ip[family];
  const proto = IP_PROTOCOLS[m.protocol];
  const key = m.hostIP === undefined ? concat(proto, m.hostPort) : concat(proto, m.hostIP, m.hostPort);
  return [
    { set: maps.addr, elem: [key, m.podIP] },
    { set: maps.port, elem: [key, m.containerPort] },
  ];
}

/** The hairpin set element of a mapped pod address: (pod . pod). */
export function hairpinElement(podIP: string): SetElement {
  return { set: HAIRPIN_SETS[familyOf(podIP)], elem: concat(podIP, podIP) };
}

/**
 * The DNAT rules of the hostports chain for one family: first the maps keyed by a specific
 * host address, then the "any local address" maps (address and port looked up with the same
 * key). A lookup that finds nothing leaves the rule unmatched, so a connection to an unmapped port goes on untouched.
 */
export function dnatRules(family: Family): NftExpr[][] {
  const proto = family === 4 ? 'ip' : 'ip6';
  const nfproto = match(meta('nfproto'), '==', family === 4 ? 'ipv4' : 'ipv6');
  const dnat = (key: NftExpr, maps: { addr: string; port: string }): NftExpr => ({
    dnat: { family: proto, addr: { map: { key, data: setRef(maps.addr) } }, port: { map: { key, data: setRef(maps.port) } } },
  });
  return [
    [nfproto, dnat(concat(meta('l4proto'), payload(proto, 'daddr'), payload('th', 'dport')), HOSTPORT_MAPS.ip[family])],
    [nfproto, dnat(concat(meta('l4proto'), payload('th', 'dport')), HOSTPORT_MAPS.any[family])],
  ];
}

/**
 * Masquerade of mapped connections whose replies would otherwise miss the node's un-DNAT:
 * a pod reaching its own hostPort (hairpin: source and DNATed destination are the same pod),
 * and, IPv4 only, a connection the node opened from 127.0.0.0/8 (the pod cannot answer a
 * loopback source; the kernel routes it out at all only with route_localnet on the pod's
 * host interface, see route-localnet.ts). IPv6 has no route_localnet: [::1] is not mapped.
 */
export function mappedMasqueradeRules(family: Family): NftExpr[][] {
  const proto = family === 4 ? 'ip' : 'ip6';
  const dnatted = match({ ct: { key: 'status' } }, 'in', 'dnat');
  const rules: NftExpr[][] = [
    [dnatted, match(concat(payload(proto, 'saddr'), payload(proto, 'daddr')), '==', setRef(HAIRPIN_SETS[family])), { masquerade: null }],
  ];
  if (family === 4) rules.push([dnatted, match(payload('ip', 'saddr'), '==', prefix('127.0.0.0', 8)), { masquerade: null }]);
  return rules;
}

/**
 * The guard that route_localnet needs: with it on, a pod-facing interface would accept
 * packets to 127.0.0.0/8 from the pod and deliver them to the node's loopback services
 * (kube-proxy drops these for the same reason). Without route_localnet the kernel drops them
 * itself, so this changes nothing else. The destination test comes first: one comparison for
 * almost every packet. "Not from loopback" is asked by the device's type (`meta iiftype`),
 * not by its name or index (`meta iif "lo"`): libnftables turns an interface name into an index
 * when the rule is written, and an index into a name whenever the table is listed, both by
 * dumping every link of the netns first (~11 ms per call with 2,000 links, on every start,
 * resync and check; README "Measured").
 */
export function localnetGuardRule(): NftExpr[] {
  return [match(payload('ip', 'daddr'), '==', prefix('127.0.0.0', 8)), match(meta('iiftype'), '!=', 'loopback'), { drop: null }];
}
