/**
 * What a pod wired here puts into the policy sets: its host veth (and its own addresses) in
 * the base sets, in the isolation sets and in the target set of every policy selecting it,
 * and the named ports its policies resolve on it. (Every pod's addresses in the shared peer
 * and named-port sets: shared-sets.ts.) A pod owns all of its elements (interfaces and
 * addresses are unique), so a change of one pod is the difference between its old and new
 * elements and touches no other pod's.
 */
import * as ipaddr from 'ipaddr.js';
import { type NftExpr, concat } from '../../nft/nft-json';
import type { Pod } from '../model';
import { policySelects, resolvePort } from '../selection';
import { type CompiledPolicy, IP_PROTO } from './policy-program';
import { POLICY_SETS, policyNames } from './policy-layout';

/**
 * One podwire interface of a pod wired on this node: its host-side veth and the addresses
 * podwire leased it. A pod with several podwire attachments (Multus: eth0 and net1, or two
 * podwire networks) has one endpoint per attachment; every one is policed.
 */
export interface LocalEndpoint {
  ifname: string;
  ips: string[];
}

/** Every address of a pod's endpoints (what it is known by as a peer). */
export function endpointIps(endpoints: readonly LocalEndpoint[]): string[] {
  return endpoints.flatMap((e) => e.ips);
}

/** set name -> element key (JSON) -> element. */
export type ElementMap = Map<string, Map<string, NftExpr>>;

export function addElement(m: ElementMap, set: string, elem: NftExpr): void {
  let s = m.get(set);
  if (!s) {
    s = new Map();
    m.set(set, s);
  }
  s.set(JSON.stringify(elem), elem);
}

const familyOf = (ip: string): 4 | 6 => (ipaddr.parse(ip).kind() === 'ipv4' ? 4 : 6);

/** The base-set elements of a pod wired here (isolation from every policy). */
export function baseElements(pod: Pod, endpoints: readonly LocalEndpoint[], policies: Iterable<CompiledPolicy>, out: ElementMap): void {
  for (const local of endpoints) {
    addElement(out, POLICY_SETS.podIf, local.ifname);
    for (const ip of local.ips) addElement(out, POLICY_SETS.podAddr[familyOf(ip)], concat(local.ifname, ip));
  }
  for (const c of policies) {
    if (!policySelects(c.policy, pod)) continue;
    for (const local of endpoints) {
      if (c.policy.ingressIsolation) addElement(out, POLICY_SETS.ingressIsolated, local.ifname);
      if (c.policy.egressIsolation) addElement(out, POLICY_SETS.egressIsolated, local.ifname);
    }
  }
}

/**
 * The elements a pod wired here puts into the sets of one policy (its target sets and the
 * named ports resolved on it); peer addresses go to the shared sets (shared-sets.ts).
 */
export function policyElements(pod: Pod, endpoints: readonly LocalEndpoint[], c: CompiledPolicy, out: ElementMap): void {
  if (pod.hostNetwork || endpoints.length === 0) return;
  const names = policyNames(c.id);
  const p = c.policy;
  const selected = policySelects(p, pod);
  if (!selected) return;
  for (const dir of ['ingress', 'egress'] as const) {
    if (!(dir === 'ingress' ? p.ingressIsolation : p.egressIsolation)) continue;
    for (const local of endpoints) addElement(out, names.targets[dir], local.ifname);
    (dir === 'ingress' ? p.ingress : p.egress).forEach((rule, r) => {
      for (const pp of rule.ports ?? []) {
        if (typeof pp.port !== 'string') continue;
        for (const [port] of resolvePort(pp, pod.ports)) {
          if (dir !== 'ingress') continue;
          for (const local of endpoints) addElement(out, names.rule(dir, r).named, concat(local.ifname, IP_PROTO[pp.protocol], port));
        }
      }
    });
  }
}
