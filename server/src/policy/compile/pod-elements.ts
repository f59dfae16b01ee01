/**
 * What one pod puts into the policy sets: a pod wired here its host veth (and its own
 * addresses) in the base sets, in the isolation sets and in the target set of every policy
 * selecting it, and the named ports its policies resolve on it; any pod its addresses in the
 * peer sets of every rule admitting it and the named ports of egress rules, by address. A pod
 * owns all of its elements (interfaces and addresses are unique), so a change of one pod is the
 * difference between its old and new elements and touches no other pod's.
 */
import * as ipaddr from 'ipaddr.js';
import { NftExpr, concat } from '../../nft/nft-json';
import { Pod } from '../model';
import { PolicyWorld } from '../policy-world';
import { podPeerMatches, policySelects, resolvePort } from '../selection';
import { CompiledPolicy, IP_PROTO } from './policy-program';
import { POLICY_SETS, policyNames } from './policy-layout';

/** A pod wired on this node: its host-side veth and the addresses podwire leased it. */
export interface LocalEndpoint {
  ifname: string;
  ips: string[];
}

/** set name -> element key (JSON) -> element. */
export type ElementMap = Map<string, Map<string, NftExpr>>;

export function addElement(m: ElementMap, set: string, elem: NftExpr): void {
  let s = m.get(set);
  if (!s) m.set(set, (s = new Map()));
  s.set(JSON.stringify(elem), elem);
}

const familyOf = (ip: string): 4 | 6 => (ipaddr.parse(ip).kind() === 'ipv4' ? 4 : 6);

/** The base-set elements of a pod wired here (isolation from every policy). */
export function baseElements(pod: Pod, local: LocalEndpoint, policies: Iterable<CompiledPolicy>, out: ElementMap): void {
  addElement(out, POLICY_SETS.podIf, local.ifname);
  for (const ip of local.ips) addElement(out, POLICY_SETS.podAddr[familyOf(ip)], concat(local.ifname, ip));
  for (const c of policies) {
    if (!policySelects(c.policy, pod)) continue;
    if (c.policy.ingressIsolation) addElement(out, POLICY_SETS.ingressIsolated, local.ifname);
    if (c.policy.egressIsolation) addElement(out, POLICY_SETS.egressIsolated, local.ifname);
  }
}

/** The elements `pod` (with `local` when wired here) puts into the sets of one policy. */
export function policyElements(pod: Pod, local: LocalEndpoint | undefined, c: CompiledPolicy, world: PolicyWorld, out: ElementMap): void {
  if (pod.hostNetwork) return;
  const names = policyNames(c.id);
  const p = c.policy;
  const ips = local ? local.ips : pod.podIPs;
  const selected = local !== undefined && policySelects(p, pod);
  for (const dir of ['ingress', 'egress'] as const) {
    if (!(dir === 'ingress' ? p.ingressIsolation : p.egressIsolation)) continue;
    if (selected) addElement(out, names.targets[dir], local.ifname);
    (dir === 'ingress' ? p.ingress : p.egress).forEach((rule, r) => {
      const n = names.rule(dir, r);
      if (rule.peers?.some((peer) => peer.kind === 'pods' && podPeerMatches(peer, p.namespace, pod, world))) {
        for (const ip of ips) addElement(out, n.pods[familyOf(ip)], ip);
      }
      for (const pp of rule.ports ?? []) {
        if (typeof pp.port !== 'string') continue;
        for (const [port] of resolvePort(pp, pod.ports)) {
          if (dir === 'ingress' && selected) addElement(out, n.named, concat(local.ifname, IP_PROTO[pp.protocol], port));
          if (dir === 'egress') for (const ip of ips) addElement(out, n.namedAddr[familyOf(ip)], concat(ip, IP_PROTO[pp.protocol], port));
        }
      }
    });
  }
}
