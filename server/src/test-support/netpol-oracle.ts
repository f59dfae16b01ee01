/**
 * The truth-table oracle: an evaluator of NetworkPolicy written for the tests, separately from
 * the policy module (no shared code: its own selector matching, CIDR arithmetic and port
 * resolution, straight from the API reference), so a test comparing the two, or comparing
 * this with observed traffic, can catch a misreading in either. Reads the raw API objects
 * (as a YAML file holds them), not the parsed model. IPv4 only.
 */

type Obj = Record<string, any>;

export interface OracleWorld {
  namespaces: Obj[];
  pods: Obj[];
  policies: Obj[];
}

export interface Probe {
  /** `ns/name` of a pod, or an IPv4 address outside every pod. */
  from: string;
  /** `ns/name` of the destination pod. */
  to: string;
  port: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
}

function labelsMatch(sel: Obj | undefined | null, labels: Obj): boolean {
  // A null/absent selector in a peer is handled by the caller; here {} selects all.
  const s = sel ?? {};
  for (const k of Object.keys(s.matchLabels ?? {})) if (labels[k] !== s.matchLabels[k]) return false;
  for (const e of s.matchExpressions ?? []) {
    const present = e.key in labels;
    if (e.operator === 'In' && !(present && e.values.includes(labels[e.key]))) return false;
    if (e.operator === 'NotIn' && present && e.values.includes(labels[e.key])) return false;
    if (e.operator === 'Exists' && !present) return false;
    if (e.operator === 'DoesNotExist' && present) return false;
  }
  return true;
}

function v4(ip: string): number {
  const p = ip.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

function inCidr(ip: string, cidr: string): boolean {
  if (ip.includes(':') || cidr.includes(':')) return false;
  const [net, bits] = cidr.split('/');
  const n = Number(bits);
  const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
  return (v4(ip) & mask) >>> 0 === (v4(net!) & mask) >>> 0;
}

function nsLabels(w: OracleWorld, ns: string): Obj {
  const o = w.namespaces.find((n) => n.metadata.name === ns);
  return { ...(o?.metadata.labels ?? {}), 'kubernetes.io/metadata.name': ns };
}

const nsOf = (o: Obj) => o.metadata.namespace ?? 'default';
const keyOf = (o: Obj) => `${nsOf(o)}/${o.metadata.name}`;
const ipOf = (pod: Obj): string => pod.status?.podIPs?.[0]?.ip ?? pod.status?.podIP;

function types(p: Obj): string[] {
  if (p.spec.policyTypes?.length) return p.spec.policyTypes;
  return (p.spec.egress ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

/** Does peer list `peers` (from/to) of a policy in `polNs` admit `other` (a pod object or an address)? */
function peersAdmit(w: OracleWorld, peers: Obj[] | undefined, polNs: string, other: { pod?: Obj; ip: string }): boolean {
  if (!peers || peers.length === 0) return true;
  return peers.some((peer) => {
    if (peer.ipBlock) return inCidr(other.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c: string) => inCidr(other.ip, c));
    if (!other.pod) return false;
    const ns = nsOf(other.pod);
    const nsOk = peer.namespaceSelector ? labelsMatch(peer.namespaceSelector, nsLabels(w, ns)) : ns === polNs;
    const podOk = peer.podSelector ? labelsMatch(peer.podSelector, other.pod.metadata.labels ?? {}) : true;
    return nsOk && podOk;
  });
}

function portsAdmit(ports: Obj[] | undefined, port: number, proto: string, dst: Obj | undefined): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((pp) => {
    if ((pp.protocol ?? 'TCP') !== proto) return false;
    if (pp.port === undefined) return true;
    if (typeof pp.port === 'number') return port >= pp.port && port <= (pp.endPort ?? pp.port);
    for (const c of dst?.spec?.containers ?? []) {
      for (const cp of c.ports ?? []) if (cp.name === pp.port && (cp.protocol ?? 'TCP') === proto && cp.containerPort === port) return true;
    }
    return false;
  });
}

/** Is a new connection allowed (both the source's egress and the destination's ingress)? */
export function oracleAllows(w: OracleWorld, probe: Probe): boolean {
  const proto = probe.protocol ?? 'TCP';
  const srcPod = probe.from.includes('/') ? w.pods.find((p) => keyOf(p) === probe.from) : w.pods.find((p) => ipOf(p) === probe.from);
  const dstPod = w.pods.find((p) => keyOf(p) === probe.to);
  if (!dstPod) throw new Error(`oracle: no pod ${probe.to}`);
  const src = { pod: srcPod, ip: srcPod ? ipOf(srcPod) : probe.from };
  const dst = { pod: dstPod, ip: ipOf(dstPod) };

  const decide = (self: Obj | undefined, kind: 'Ingress' | 'Egress', other: { pod?: Obj; ip: string }): boolean => {
    if (!self) return true;
    const selecting = w.policies.filter(
      (p) => nsOf(p) === nsOf(self) && labelsMatch(p.spec.podSelector, self.metadata.labels ?? {}) && types(p).includes(kind),
    );
    if (selecting.length === 0) return true;
    return selecting.some((p) =>
      (kind === 'Ingress' ? (p.spec.ingress ?? []) : (p.spec.egress ?? [])).some(
        (r: Obj) => peersAdmit(w, kind === 'Ingress' ? r.from : r.to, nsOf(p), other) && portsAdmit(r.ports, probe.port, proto, dstPod),
      ),
    );
  };
  return decide(srcPod, 'Egress', dst) && decide(dstPod, 'Ingress', src);
}
