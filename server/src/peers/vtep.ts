/**
 * Each node's VXLAN tunnel endpoint identity, derived from what every node already knows of
 * every other (its node address and pod CIDRs), so nothing has to be published: podwired
 * needs no write access to Node objects. docs/architecture.md ("VTEP identity") says why two
 * nodes never collide.
 *
 * - The VTEP address for a pod CIDR is that CIDR's network address (10.244.2.0 for
 *   10.244.2.0/24): the gateway of the peer's route on the VXLAN device and the key of its
 *   permanent neighbour entry. Pod CIDRs of different nodes are disjoint (the router refuses
 *   overlaps), so their network addresses differ.
 * - The VTEP MAC is a locally administered unicast MAC holding 32 bits that are unique per
 *   node: `0e:77:` + the node's IPv4 underlay address; on an IPv6 underlay `0e:78:` + the
 *   network address of its IPv4 pod CIDR, or (IPv6-only) `0e:79:` + bits 32–63 of its IPv6
 *   pod CIDR.
 */
import { parseCidrText } from '../ip-text';
import { familyOf } from './peer';

export interface VtepIdentity {
  mac: string;
  /** One VTEP address per pod CIDR family, in the order of the pod CIDRs. */
  addresses: string[];
}

function hex(bytes: readonly number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The network address of a pod CIDR (its VTEP address). */
export function vtepAddress(podCIDR: string): string {
  return parseCidrText(podCIDR)[0].toString();
}

/**
 * The VTEP MAC of the node whose underlay address (of the cluster's underlay family) is
 * `underlayIP` and whose pod CIDRs are `podCIDRs`; undefined when the node has nothing to
 * derive it from (an IPv6 underlay and no pod CIDR).
 */
export function vtepMac(underlayIP: string, podCIDRs: readonly string[]): string | undefined {
  if (familyOf(underlayIP) === 4) return hex([0x0e, 0x77, ...underlayIP.split('.').map(Number)]);
  const v4 = podCIDRs.find((c) => familyOf(c) === 4);
  if (v4) return hex([0x0e, 0x78, ...parseCidrText(v4)[0].toByteArray()]);
  const v6 = podCIDRs.find((c) => familyOf(c) === 6);
  if (v6) return hex([0x0e, 0x79, ...parseCidrText(v6)[0].toByteArray().slice(4, 8)]);
  return undefined;
}

export function vtepIdentity(underlayIP: string, podCIDRs: readonly string[]): VtepIdentity | undefined {
  const mac = vtepMac(underlayIP, podCIDRs);
  return mac === undefined ? undefined : { mac, addresses: podCIDRs.map(vtepAddress) };
}
