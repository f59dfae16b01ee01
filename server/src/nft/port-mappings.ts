import * as ipaddr from 'ipaddr.js';
import type { PortMapping } from '../cni/port-mappings';
import type { Family } from './table-layout';

/**
 * One programmed mapping: a runtime's port mapping (cni/port-mappings.ts, as parsed from
 * runtimeConfig) bound to one pod address. Connections to `hostPort` (on `hostIP`, or on
 * every local address of the pod address's family when absent) go to `podIP`:`containerPort`.
 */
export interface PodPortMapping extends PortMapping {
  podIP: string;
}

/** A mapping and who holds it (the caller's id for the attachment, e.g. "containerID/ifname"). */
export interface HeldPortMapping extends PodPortMapping {
  holder: string;
}

/** A runtime's port mapping podwire cannot program (the caller answers with an invalid-config error). */
export class InvalidPortMapping extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidPortMapping';
  }
}

export function familyOf(ip: string): Family {
  return ipaddr.parse(ip).kind() === 'ipv4' ? 4 : 6;
}

/**
 * The mappings to program for a pod's runtimeConfig.portMappings (parsed: protocol, ports and
 * hostIP already checked, an unspecified hostIP already dropped) and its addresses: an entry
 * with a hostIP maps to the pod's address of that family; one without, to each of the pod's
 * families. Throws InvalidPortMapping for a hostIP of a family the pod has no address of.
 */
export function portMappingsFor(entries: readonly PortMapping[], podIPs: readonly string[]): PodPortMapping[] {
  const byFamily = new Map<Family, string>();
  for (const ip of podIPs) if (!byFamily.has(familyOf(ip))) byFamily.set(familyOf(ip), ipaddr.parse(ip).toString());
  const out: PodPortMapping[] = [];
  for (const e of entries) {
    const families: Family[] = e.hostIP === undefined ? [...byFamily.keys()] : [familyOf(e.hostIP)];
    const missing = families.length === 0 ? 4 : families.find((f) => !byFamily.has(f));
    if (missing !== undefined) throw new InvalidPortMapping(`port mapping ${describeEntry(e)}: the pod has no IPv${missing} address to map to`);
    for (const f of families) {
      const m: PodPortMapping = { protocol: e.protocol, hostPort: e.hostPort, podIP: byFamily.get(f) as string, containerPort: e.containerPort };
      if (e.hostIP !== undefined) m.hostIP = e.hostIP;
      out.push(m);
    }
  }
  return out;
}

function describeEntry(e: PortMapping): string {
  return `${e.protocol} ${e.hostIP ? `${e.hostIP}:` : ''}${e.hostPort}->${e.containerPort}`;
}

/**
 * What a mapping claims on the node: protocol, host address (the family's unspecified address
 * for "any") and hostPort, as text: "tcp 0.0.0.0:8080", "udp [fd7a::1]:53". Two mappings with
 * the same key cannot both be programmed.
 */
export function portKeyOf(m: Pick<PodPortMapping, 'protocol' | 'hostPort' | 'hostIP' | 'podIP'>): string {
  const host = m.hostIP ?? (familyOf(m.podIP) === 4 ? '0.0.0.0' : '::');
  return `${m.protocol} ${host.includes(':') ? `[${host}]` : host}:${m.hostPort}`;
}

/**
 * A mapping checked and in canonical form (addresses as ipaddr.js prints them, which is also
 * how nft lists them), so keys and elements compare as text. Throws InvalidPortMapping.
 */
export function canonicalMapping(m: PodPortMapping): PodPortMapping {
  const what = `port mapping ${m.protocol} ${m.hostIP ? `${m.hostIP}:` : ''}${m.hostPort}->${m.podIP}:${m.containerPort}`;
  if (m.protocol !== 'tcp' && m.protocol !== 'udp' && m.protocol !== 'sctp') throw new InvalidPortMapping(`${what}: protocol must be tcp, udp or sctp`);
  for (const port of [m.hostPort, m.containerPort]) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidPortMapping(`${what}: ports must be integers in 1-65535`);
  }
  if (!ipaddr.isValid(m.podIP)) throw new InvalidPortMapping(`${what}: the pod address is not an IP address`);
  const out: PodPortMapping = { protocol: m.protocol, hostPort: m.hostPort, podIP: ipaddr.parse(m.podIP).toString(), containerPort: m.containerPort };
  if (m.hostIP !== undefined) {
    if (!ipaddr.isValid(m.hostIP)) throw new InvalidPortMapping(`${what}: hostIP is not an IP address`);
    const host = ipaddr.parse(m.hostIP);
    if (host.kind() !== ipaddr.parse(m.podIP).kind()) throw new InvalidPortMapping(`${what}: hostIP and the pod address are of different families`);
    if (host.range() !== 'unspecified') out.hostIP = host.toString();
  }
  return out;
}
