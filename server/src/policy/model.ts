/**
 * networking.k8s.io/v1 NetworkPolicy and the objects it selects, as plain parsed values
 * (parse.ts makes them from API objects and validates them). Normalised so the evaluators need
 * no defaults: `protocol` always set, empty and absent peer/port lists both `undefined`
 * ("every source/destination", "every port"), policyTypes resolved.
 */

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface SelectorRequirement {
  key: string;
  operator: SelectorOperator;
  /** Non-empty for In/NotIn, empty for Exists/DoesNotExist. */
  values: string[];
}

/** A metav1.LabelSelector; both parts empty selects everything. */
export interface LabelSelector {
  matchLabels: Record<string, string>;
  matchExpressions: SelectorRequirement[];
}

export type Labels = Readonly<Record<string, string>>;

export interface Namespace {
  name: string;
  labels: Labels;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol: Protocol;
}

export interface Pod {
  namespace: string;
  name: string;
  labels: Labels;
  /** status.podIPs (canonical text); for a pod wired on this node, the addresses podwire leased. */
  podIPs: string[];
  /** Every container's ports (named ports are looked up here). */
  ports: ContainerPort[];
  /** hostNetwork pods have the node's addresses: no policy selects them or treats them as pods. */
  hostNetwork: boolean;
}

export interface IpBlock {
  /** Canonical CIDR. */
  cidr: string;
  /** Canonical CIDRs inside `cidr`. */
  except: string[];
}

/**
 * One peer: selectors (podSelector, namespaceSelector or both, ANDed) or an ipBlock.
 * podSelector alone: pods of the policy's namespace; namespaceSelector alone: every pod of
 * the matching namespaces.
 */
export type PolicyPeer = { kind: 'pods'; podSelector?: LabelSelector; namespaceSelector?: LabelSelector } | { kind: 'ipBlock'; ipBlock: IpBlock };

export interface PolicyPort {
  protocol: Protocol;
  /** Absent: every port of `protocol`. A string is a named container port. */
  port?: number | string;
  /** With a numeric port: the range port..endPort. */
  endPort?: number;
}

export interface PolicyRule {
  /** `from` (ingress) or `to` (egress); undefined when absent or empty: every peer. */
  peers: PolicyPeer[] | undefined;
  /** undefined when absent or empty: every port and protocol. */
  ports: PolicyPort[] | undefined;
}

export interface NetworkPolicy {
  namespace: string;
  name: string;
  podSelector: LabelSelector;
  /** The resolved policyTypes: Ingress / Egress isolation of the selected pods. */
  ingressIsolation: boolean;
  egressIsolation: boolean;
  /** `ingress: []` (or absent) with Ingress isolation denies every inbound connection. */
  ingress: PolicyRule[];
  egress: PolicyRule[];
}

export type Direction = 'ingress' | 'egress';

export function podKey(p: { namespace: string; name: string }): string {
  return `${p.namespace}/${p.name}`;
}

export const policyKey = podKey;
