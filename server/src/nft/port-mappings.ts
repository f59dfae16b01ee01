import * as ipaddr from 'ipaddr.js';
import type { Family } from './table-layout';

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

/** One entry of runtimeConfig.portMappings, as the runtime sends it. */
export interface RuntimePortMapping {
  hostPort: number;
  containerPort: number;
  protocol?: string;
  hostIP?: string;
}

/**
 * One programmed mapping: connections to `hostPort` (on `hostIP`, or on every local address
 * of the pod address's family when absent) go to `podIP`:`containerPort`.
 */
export interface PortMapping {
  protocol: PortProtocol;
  hostPort: number;
  /** A specific local address; absent: any local address of `podIP`'s family. */
  hostIP?: string;
  podIP: string;
  containerPort: number;
}

/** A mapping and who holds it (the caller's id for the attachment, e.g. "containerID/ifname"). */
export interface HeldPortMapping extends PortMapping {
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
 * The mappings to program for a pod's runtimeConfig.portMappings and its addresses: an entry
 * with a specific hostIP maps to the pod's address of that family; hostIP "0.0.0.0" ("::")
 * to the pod's IPv4 (IPv6) address on every local address; no hostIP (or "") to each of the
 * pod's families. Protocol defaults to tcp (what kubelet sends), case-insensitive. Throws
 * InvalidPortMapping for a port out of 1-65535, an unknown protocol, a bad hostIP or a family
 * the pod has no address of.
 */
export function portMappingsFor(entries: readonly RuntimePortMapping[], podIPs: readonly string[]): PortMapping[] {
  const byFamily = new Map<Family, string>();
  for (const ip of podIPs) if (!byFamily.has(familyOf(ip))) byFamily.set(familyOf(ip), ipaddr.parse(ip).toString());
  const out: PortMapping[] = [];
  for (const e of entries) {
    const protocol = (e.protocol ?? 'tcp').toLowerCase();
    if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') throw new InvalidPortMapping(`port mapping ${describeEntry(e)}: protocol must be tcp, udp or sctp`);
    for (const port of [e.hostPort, e.containerPort]) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidPortMapping(`port mapping ${describeEntry(e)}: ports must be integers in 1-65535`);
    }
    let families: Family[];
    let hostIP: string | undefined;
    if (e.hostIP === undefined || e.hostIP === '') families = [...byFamily.keys()];
    else {
      if (!ipaddr.isValid(e.hostIP)) throw new InvalidPortMapping(`port mapping ${describeEntry(e)}: hostIP is not an IP address`);
      const addr = ipaddr.parse(e.hostIP);
      families = [addr.kind() === 'ipv4' ? 4 : 6];
      hostIP = addr.range() === 'unspecified' ? undefined : addr.toString();
    }
    if (families.length === 0 || families.some((f) => !byFamily.has(f))) {
      throw new InvalidPortMapping(`port mapping ${describeEntry(e)}: the pod has no IPv${families[0] ?? 4} address to map to`);
    }
    for (const f of families) {
      const m: PortMapping = { protocol, hostPort: e.hostPort, podIP: byFamily.get(f) as string, containerPort: e.containerPort };
      if (hostIP !== undefined) m.hostIP = hostIP;
      out.push(m);
    }
  }
  return out;
}

function describeEntry(e: RuntimePortMapping): string {
  return `${e.protocol ?? 'tcp'} ${e.hostIP ? `${e.hostIP}:` : ''}${e.hostPort}->${e.containerPort}`;
}

/**
 * What a mapping claims on the node: protocol, host address (the family's unspecified address
 * for "any") and hostPort, as text: "tcp 0.0.0.0:8080", "udp [fd7a::1]:53". Two mappings with
 * the same key cannot both be programmed.
 */
export function portKeyOf(m: Pick<PortMapping, 'protocol' | 'hostPort' | 'hostIP' | 'podIP'>): string {
  const host = m.hostIP ?? (familyOf(m.podIP) === 4 ? '0.0.0.0' : '::');
  return `${m.protocol} ${host.includes(':') ? `[${host}]` : host}:${m.hostPort}`;
}

/**
 * A mapping checked and in canonical form (addresses as ipaddr.js prints them, which is also
 * how nft lists them), so keys and elements compare as text. Throws InvalidPortMapping.
 */
export function canonicalMapping(m: PortMapping): PortMapping {
  const what = `port mapping ${m.protocol} ${m.hostIP ? `${m.hostIP}:` : ''}${m.hostPort}->${m.podIP}:${m.containerPort}`;
  if (m.protocol !== 'tcp' && m.protocol !== 'udp' && m.protocol !== 'sctp') throw new InvalidPortMapping(`${what}: protocol must be tcp, udp or sctp`);
  for (const port of [m.hostPort, m.containerPort]) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidPortMapping(`${what}: ports must be integers in 1-65535`);
  }
  if (!ipaddr.isValid(m.podIP)) throw new InvalidPortMapping(`${what}: the pod address is not an IP address`);
  const out: PortMapping = { protocol: m.protocol, hostPort: m.hostPort, podIP: ipaddr.parse(m.podIP).toString(), containerPort: m.containerPort };
  if (m.hostIP !== undefined) {
    if (!ipaddr.isValid(m.hostIP)) throw new InvalidPortMapping(`${what}: hostIP is not an IP address`);
    const host = ipaddr.parse(m.hostIP);
    if (host.kind() !== ipaddr.parse(m.podIP).kind()) throw new InvalidPortMapping(`${what}: hostIP and the pod address are of different families`);
    if (host.range() !== 'unspecified') out.hostIP = host.toString();
  }
  return out;
}
