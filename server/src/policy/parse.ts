/**
 * API objects (as the API server or a YAML file gives them) to the model, validated like the
 * API server would (the parts the enforcement relies on), with errors naming the object and
 * the field: `NetworkPolicy x/deny-all: spec.ingress[0].ports[1].endPort: ...`.
 */
import * as ipaddr from 'ipaddr.js';
import type {
  ContainerPort,
  IpBlock,
  LabelSelector,
  Namespace,
  NetworkPolicy,
  Pod,
  PolicyPeer,
  PolicyPort,
  PolicyRule,
  Protocol,
  SelectorRequirement,
} from './model';
import { PolicyError } from './policy-error';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function obj(v: unknown, where: string, field: string): Obj {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw new PolicyError(where, `${field} must be an object, got ${JSON.stringify(v)}`);
  return v;
}

function list(v: unknown, where: string, field: string): unknown[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new PolicyError(where, `${field} must be a list, got ${JSON.stringify(v)}`);
  return v;
}

function labels(v: unknown, where: string, field: string): Record<string, string> {
  const o = obj(v, where, field);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(o)) {
    if (typeof val !== 'string') throw new PolicyError(where, `${field}.${k} must be a string, got ${JSON.stringify(val)}`);
    out[k] = val;
  }
  return out;
}

function metadata(o: Obj, kind: string, namespaced: boolean): { name: string; namespace: string; where: string; meta: Obj } {
  const meta = obj(o.metadata, kind, 'metadata');
  const name = meta.name;
  if (typeof name !== 'string' || name === '') throw new PolicyError(kind, `metadata.name must be a non-empty string, got ${JSON.stringify(name)}`);
  let namespace = '';
  if (namespaced) {
    namespace = meta.namespace === undefined ? 'default' : (meta.namespace as string);
    if (typeof namespace !== 'string' || namespace === '')
      throw new PolicyError(`${kind} ${name}`, `metadata.namespace must be a non-empty string, got ${JSON.stringify(meta.namespace)}`);
  }
  return { name, namespace, where: namespaced ? `${kind} ${namespace}/${name}` : `${kind} ${name}`, meta };
}

export function parseLabelSelector(v: unknown, where: string, field: string): LabelSelector {
  const o = obj(v, where, field);
  const matchExpressions: SelectorRequirement[] = (list(o.matchExpressions, where, `${field}.matchExpressions`) ?? []).map((e, i) => {
    const f = `${field}.matchExpressions[${i}]`;
    const r = obj(e, where, f);
    if (typeof r.key !== 'string' || r.key === '') throw new PolicyError(where, `${f}.key must be a non-empty string`);
    const op = r.operator;
    if (op !== 'In' && op !== 'NotIn' && op !== 'Exists' && op !== 'DoesNotExist')
      throw new PolicyError(where, `${f}.operator must be In, NotIn, Exists or DoesNotExist, got ${JSON.stringify(op)}`);
    const values = list(r.values, where, `${f}.values`) ?? [];
    if (!values.every((x) => typeof x === 'string')) throw new PolicyError(where, `${f}.values must be strings`);
    if ((op === 'In' || op === 'NotIn') && values.length === 0) throw new PolicyError(where, `${f}.values must be non-empty for ${op}`);
    if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0) throw new PolicyError(where, `${f}.values must be empty for ${op}`);
    return { key: r.key, operator: op, values: values as string[] };
  });
  return { matchLabels: labels(o.matchLabels, where, `${field}.matchLabels`), matchExpressions };
}

function protocol(v: unknown, where: string, field: string): Protocol {
  if (v === undefined || v === null) return 'TCP';
  if (v === 'TCP' || v === 'UDP' || v === 'SCTP') return v;
  throw new PolicyError(where, `${field} must be TCP, UDP or SCTP, got ${JSON.stringify(v)}`);
}

function portNumber(v: unknown, where: string, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535)
    throw new PolicyError(where, `${field} must be a port number 1-65535, got ${JSON.stringify(v)}`);
  return v;
}

/** IANA_SVC_NAME, as Kubernetes validates port names: 1-15 of [a-z0-9-], a letter, no leading/trailing/double '-'. */
export function isPortName(s: string): boolean {
  return s.length >= 1 && s.length <= 15 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s) && /[a-z]/.test(s) && !s.includes('--');
}

function canonicalCidr(v: unknown, where: string, field: string): { text: string; addr: ipaddr.IPv4 | ipaddr.IPv6; len: number } {
  if (typeof v !== 'string') throw new PolicyError(where, `${field} must be a CIDR, got ${JSON.stringify(v)}`);
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = ipaddr.parseCIDR(v);
  } catch {
    throw new PolicyError(where, `${field}: ${JSON.stringify(v)} is not a CIDR`);
  }
  let [addr, len] = parsed;
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) throw new PolicyError(where, `${field}: IPv4-mapped IPv6 ${v} is not accepted`);
  const network = addr.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(v) : ipaddr.IPv6.networkAddressFromCIDR(v);
  addr = network;
  return { text: `${addr.toString()}/${len}`, addr, len };
}

function ipBlock(v: unknown, where: string, field: string): IpBlock {
  const o = obj(v, where, field);
  const cidr = canonicalCidr(o.cidr, where, `${field}.cidr`);
  const except = (list(o.except, where, `${field}.except`) ?? []).map((e, i) => {
    const x = canonicalCidr(e, where, `${field}.except[${i}]`);
    if (x.addr.kind() !== cidr.addr.kind() || x.len <= cidr.len || !x.addr.match(cidr.addr, cidr.len)) {
      throw new PolicyError(where, `${field}.except[${i}] ${x.text} must be strictly inside ${cidr.text}`);
    }
    return x.text;
  });
  return { cidr: cidr.text, except };
}

function peer(v: unknown, where: string, field: string): PolicyPeer {
  const o = obj(v, where, field);
  if (o.ipBlock !== undefined && o.ipBlock !== null) {
    if (o.podSelector != null || o.namespaceSelector != null)
      throw new PolicyError(where, `${field}: ipBlock cannot be combined with podSelector or namespaceSelector`);
    return { kind: 'ipBlock', ipBlock: ipBlock(o.ipBlock, where, `${field}.ipBlock`) };
  }
  if (o.podSelector == null && o.namespaceSelector == null) throw new PolicyError(where, `${field} must set podSelector, namespaceSelector or ipBlock`);
  const p: PolicyPeer = { kind: 'pods' };
  if (o.podSelector != null) p.podSelector = parseLabelSelector(o.podSelector, where, `${field}.podSelector`);
  if (o.namespaceSelector != null) p.namespaceSelector = parseLabelSelector(o.namespaceSelector, where, `${field}.namespaceSelector`);
  return p;
}

function policyPort(v: unknown, where: string, field: string): PolicyPort {
  const o = obj(v, where, field);
  const out: PolicyPort = { protocol: protocol(o.protocol, where, `${field}.protocol`) };
  if (typeof o.port === 'string' && /^[0-9]+$/.test(o.port)) o.port = Number(o.port);
  if (o.port !== undefined && o.port !== null) {
    if (typeof o.port === 'string') {
      if (!isPortName(o.port)) throw new PolicyError(where, `${field}.port ${JSON.stringify(o.port)} is not a valid port name`);
      out.port = o.port;
    } else {
      out.port = portNumber(o.port, where, `${field}.port`);
    }
  }
  if (o.endPort !== undefined && o.endPort !== null) {
    if (typeof out.port !== 'number') throw new PolicyError(where, `${field}.endPort needs a numeric port`);
    const end = portNumber(o.endPort, where, `${field}.endPort`);
    if (end < out.port) throw new PolicyError(where, `${field}.endPort ${end} must be >= port ${out.port}`);
    out.endPort = end;
  }
  return out;
}

function rules(v: unknown, where: string, field: string, peersField: 'from' | 'to'): PolicyRule[] {
  return (list(v, where, field) ?? []).map((r, i) => {
    const f = `${field}[${i}]`;
    const o = obj(r, where, f);
    const peers = (list(o[peersField], where, `${f}.${peersField}`) ?? []).map((p, j) => peer(p, where, `${f}.${peersField}[${j}]`));
    const ports = (list(o.ports, where, `${f}.ports`) ?? []).map((p, j) => policyPort(p, where, `${f}.ports[${j}]`));
    return { peers: peers.length ? peers : undefined, ports: ports.length ? ports : undefined };
  });
}

export function parseNamespace(v: unknown): Namespace {
  const o = obj(v, 'Namespace', 'the object');
  const m = metadata(o, 'Namespace', false);
  const l = labels(m.meta.labels, m.where, 'metadata.labels');
  // The API server sets this label on every namespace (1.21+); selectors on it must work in a file too.
  return { name: m.name, labels: { ...l, 'kubernetes.io/metadata.name': m.name } };
}

export function parsePod(v: unknown): Pod {
  const o = obj(v, 'Pod', 'the object');
  const m = metadata(o, 'Pod', true);
  const spec = obj(o.spec, m.where, 'spec');
  const status = obj(o.status, m.where, 'status');
  const ips = new Set<string>();
  for (const [i, e] of (list(status.podIPs, m.where, 'status.podIPs') ?? []).entries())
    ips.add(address(obj(e, m.where, `status.podIPs[${i}]`).ip, m.where, `status.podIPs[${i}].ip`));
  if (ips.size === 0 && status.podIP != null && status.podIP !== '') ips.add(address(status.podIP, m.where, 'status.podIP'));
  const ports: ContainerPort[] = [];
  for (const [i, c] of (list(spec.containers, m.where, 'spec.containers') ?? []).entries()) {
    for (const [j, p] of (list(obj(c, m.where, `spec.containers[${i}]`).ports, m.where, `spec.containers[${i}].ports`) ?? []).entries()) {
      const f = `spec.containers[${i}].ports[${j}]`;
      const po = obj(p, m.where, f);
      const cp: ContainerPort = {
        containerPort: portNumber(po.containerPort, m.where, `${f}.containerPort`),
        protocol: protocol(po.protocol, m.where, `${f}.protocol`),
      };
      if (po.name != null && po.name !== '') {
        if (typeof po.name !== 'string' || !isPortName(po.name))
          throw new PolicyError(m.where, `${f}.name ${JSON.stringify(po.name)} is not a valid port name`);
        cp.name = po.name;
      }
      ports.push(cp);
    }
  }
  return {
    namespace: m.namespace,
    name: m.name,
    labels: labels(m.meta.labels, m.where, 'metadata.labels'),
    podIPs: [...ips],
    ports,
    hostNetwork: spec.hostNetwork === true,
  };
}

export function address(v: unknown, where: string, field: string): string {
  if (typeof v !== 'string' || !ipaddr.isValid(v)) throw new PolicyError(where, `${field} must be an IP address, got ${JSON.stringify(v)}`);
  const a = ipaddr.parse(v);
  return a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress() ? (a as ipaddr.IPv6).toIPv4Address().toString() : a.toString();
}

export function parseNetworkPolicy(v: unknown): NetworkPolicy {
  const o = obj(v, 'NetworkPolicy', 'the object');
  const m = metadata(o, 'NetworkPolicy', true);
  const spec = obj(o.spec, m.where, 'spec');
  const ingress = rules(spec.ingress, m.where, 'spec.ingress', 'from');
  const egress = rules(spec.egress, m.where, 'spec.egress', 'to');
  const types = list(spec.policyTypes, m.where, 'spec.policyTypes');
  let ingressIsolation = true;
  let egressIsolation = egress.length > 0;
  if (types && types.length > 0) {
    for (const t of types)
      if (t !== 'Ingress' && t !== 'Egress') throw new PolicyError(m.where, `spec.policyTypes: ${JSON.stringify(t)} is neither Ingress nor Egress`);
    ingressIsolation = types.includes('Ingress');
    egressIsolation = types.includes('Egress');
  }
  return {
    namespace: m.namespace,
    name: m.name,
    podSelector: parseLabelSelector(spec.podSelector, m.where, 'spec.podSelector'),
    ingressIsolation,
    egressIsolation,
    ingress,
    egress,
  };
}

/**
 * A NetworkPolicy the API server accepted but whose rules podwire cannot read (a form this
 * parser does not know): failing open (leaving it out) would un-isolate every pod it selects,
 * so when its metadata and podSelector read, it is kept with no rules at all, isolating the
 * pods it selects in the directions its policyTypes name (when unreadable too: Ingress, and
 * Egress when it has egress rules) and allowing them nothing there. `problem` says why, for
 * the log; undefined when the policy read whole. Throws only when even the podSelector does
 * not read (nothing can be selected then).
 */
export function parseNetworkPolicyFailClosed(v: unknown): { policy: NetworkPolicy; problem?: string } {
  try {
    return { policy: parseNetworkPolicy(v) };
  } catch (err) {
    const o = obj(v, 'NetworkPolicy', 'the object');
    const m = metadata(o, 'NetworkPolicy', true);
    const spec = obj(o.spec, m.where, 'spec');
    const podSelector = parseLabelSelector(spec.podSelector, m.where, 'spec.podSelector');
    const types =
      Array.isArray(spec.policyTypes) && spec.policyTypes.every((t) => t === 'Ingress' || t === 'Egress') ? (spec.policyTypes as string[]) : undefined;
    const ingressIsolation = types && types.length > 0 ? types.includes('Ingress') : true;
    const egressIsolation = types && types.length > 0 ? types.includes('Egress') : spec.egress !== undefined;
    const directions = [ingressIsolation ? 'ingress' : '', egressIsolation ? 'egress' : ''].filter(Boolean).join(' and ');
    return {
      policy: { namespace: m.namespace, name: m.name, podSelector, ingressIsolation, egressIsolation, ingress: [], egress: [] },
      problem: `${(err as Error).message}; kept with no rules: the pods it selects allow no ${directions} until it reads`,
    };
  }
}

export type ParsedObject = { kind: 'Namespace'; value: Namespace } | { kind: 'Pod'; value: Pod } | { kind: 'NetworkPolicy'; value: NetworkPolicy };

/** One object by its `kind`; undefined for kinds the policy model does not use. */
export function parseObject(v: unknown, where: string): ParsedObject | undefined {
  if (!isObj(v)) throw new PolicyError(where, `not an object: ${JSON.stringify(v)}`);
  switch (v.kind) {
    case 'Namespace':
      return { kind: 'Namespace', value: parseNamespace(v) };
    case 'Pod':
      return { kind: 'Pod', value: parsePod(v) };
    case 'NetworkPolicy':
      return { kind: 'NetworkPolicy', value: parseNetworkPolicy(v) };
    default:
      return undefined;
  }
}
