/**
 * What a policy selects and what its rules admit, for one pod or address: the shared
 * predicates of the compiler (compile/) and of `why` (why.ts), so both read the model alike.
 */
import * as ipaddr from 'ipaddr.js';
import type { ContainerPort, IpBlock, LabelSelector, Labels, NetworkPolicy, Pod, PolicyPeer, PolicyPort, Protocol } from './model';
import type { PolicyWorld } from './policy-world';

export function selectorMatches(sel: LabelSelector, labels: Labels): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels)) if (labels[k] !== v) return false;
  for (const r of sel.matchExpressions) {
    const has = Object.hasOwn(labels, r.key);
    switch (r.operator) {
      case 'In':
        if (!has || !r.values.includes(labels[r.key]!)) return false;
        break;
      case 'NotIn':
        if (has && r.values.includes(labels[r.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

/** Whether `policy` applies to `pod` (same namespace, podSelector matches; hostNetwork pods never). */
export function policySelects(policy: NetworkPolicy, pod: Pod): boolean {
  return !pod.hostNetwork && pod.namespace === policy.namespace && selectorMatches(policy.podSelector, pod.labels);
}

/** Whether a selector peer of a policy in `policyNamespace` admits `pod`. */
export function podPeerMatches(peer: Extract<PolicyPeer, { kind: 'pods' }>, policyNamespace: string, pod: Pod, world: PolicyWorld): boolean {
  if (pod.hostNetwork) return false;
  if (peer.namespaceSelector) {
    if (!selectorMatches(peer.namespaceSelector, world.namespaceLabels(pod.namespace))) return false;
  } else if (pod.namespace !== policyNamespace) {
    return false;
  }
  return peer.podSelector ? selectorMatches(peer.podSelector, pod.labels) : true;
}

export function ipBlockMatches(block: IpBlock, ip: string): boolean {
  const a = ipaddr.parse(ip);
  const inside = (cidr: string) => {
    const [net, len] = ipaddr.parseCIDR(cidr);
    return net.kind() === a.kind() && a.match(net, len);
  };
  return inside(block.cidr) && !block.except.some(inside);
}

/**
 * The port numbers a policy port stands for on a destination with `ports` (its container
 * ports): [first, last] for a number or range, every port for no port, the container port of
 * that name and protocol for a name (none when the destination has no such port).
 */
export function resolvePort(pp: PolicyPort, destPorts: readonly ContainerPort[] | undefined): Array<[number, number]> {
  if (pp.port === undefined) return [[0, 65535]];
  if (typeof pp.port === 'number') return [[pp.port, pp.endPort ?? pp.port]];
  const named = (destPorts ?? []).filter((c) => c.name === pp.port && c.protocol === pp.protocol);
  return named.map((c) => [c.containerPort, c.containerPort]);
}

export function portMatches(
  ports: PolicyPort[] | undefined,
  proto: Protocol,
  port: number,
  destPorts: readonly ContainerPort[] | undefined,
): number | true | undefined {
  if (!ports) return true;
  const i = ports.findIndex((pp) => pp.protocol === proto && resolvePort(pp, destPorts).some(([a, b]) => port >= a && port <= b));
  return i < 0 ? undefined : i;
}
