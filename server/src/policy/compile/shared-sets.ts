/**
 * Sets shared by every policy that needs the same contents: the addresses of the pods one
 * selector peer admits (keyed by the peer and, for a peer without namespaceSelector, the
 * policy's namespace), and the (address . protocol . port) of every pod with one named port
 * (egress named ports). Fifty policies allowing "from every namespace" then cost one set,
 * and a pod's change touches each shared set once, not once per policy.
 */
import * as ipaddr from 'ipaddr.js';
import { type NftExpr, concat } from '../../nft/nft-json';
import type { LabelSelector, Pod, PolicyPeer, Protocol } from '../model';
import type { PolicyWorld } from '../policy-world';
import { podPeerMatches } from '../selection';

export type SharedSpec =
  | { kind: 'peer'; namespace?: string; namespaceSelector?: LabelSelector; podSelector?: LabelSelector }
  | { kind: 'named'; port: string; protocol: Protocol };

export interface SharedEntry {
  spec: SharedSpec;
  names: { 4: string; 6: string };
  /** Policies using it. */
  refs: number;
  /** Whether its sets exist in the kernel. */
  live: boolean;
}

const IP_PROTO = { TCP: 6, UDP: 17, SCTP: 132 } as const;

export function peerSpec(peer: Extract<PolicyPeer, { kind: 'pods' }>, policyNamespace: string): SharedSpec {
  const s: SharedSpec = { kind: 'peer' };
  if (peer.namespaceSelector) s.namespaceSelector = peer.namespaceSelector;
  else s.namespace = policyNamespace;
  if (peer.podSelector) s.podSelector = peer.podSelector;
  return s;
}

export function sharedKey(spec: SharedSpec): string {
  return JSON.stringify(spec);
}

export function sharedSetDecls(e: SharedEntry): Array<{ name: string; type: string | string[] }> {
  if (e.spec.kind === 'peer')
    return [
      { name: e.names[4], type: 'ipv4_addr' },
      { name: e.names[6], type: 'ipv6_addr' },
    ];
  return [
    { name: e.names[4], type: ['ipv4_addr', 'inet_proto', 'inet_service'] },
    { name: e.names[6], type: ['ipv6_addr', 'inet_proto', 'inet_service'] },
  ];
}

const familyOf = (ip: string): 4 | 6 => (ipaddr.parse(ip).kind() === 'ipv4' ? 4 : 6);

/** The elements `pod` (with addresses `ips`) puts into one shared entry's sets. */
export function sharedElements(e: SharedEntry, pod: Pod, ips: readonly string[], world: PolicyWorld, add: (set: string, elem: NftExpr) => void): void {
  if (pod.hostNetwork) return;
  const spec = e.spec;
  if (spec.kind === 'peer') {
    const peer: Extract<PolicyPeer, { kind: 'pods' }> = { kind: 'pods' };
    if (spec.namespaceSelector) peer.namespaceSelector = spec.namespaceSelector;
    if (spec.podSelector) peer.podSelector = spec.podSelector;
    if (!podPeerMatches(peer, spec.namespace ?? '', pod, world)) return;
    for (const ip of ips) add(e.names[familyOf(ip)], ip);
    return;
  }
  for (const cp of pod.ports) {
    if (cp.name !== spec.port || cp.protocol !== spec.protocol) continue;
    for (const ip of ips) add(e.names[familyOf(ip)], concat(ip, IP_PROTO[spec.protocol], cp.containerPort));
  }
}
