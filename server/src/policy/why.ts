/**
 * `podwirectl policy why SRC DST PORT/PROTO`: whether a new connection is allowed, and which
 * policies and rules decide it, from the model the compiler programs. A connection is allowed
 * when the source's egress allows it (or the source is not an egress-isolated pod) and the
 * destination's ingress allows it (or the destination is not an ingress-isolated pod).
 */
import { type Direction, type NetworkPolicy, type Pod, type Protocol, podKey, policyKey } from './model';
import { address } from './parse';
import type { PolicyWorld } from './policy-world';
import { ipBlockMatches, podPeerMatches, policySelects, portMatches } from './selection';

/**
 * An endpoint: a pod of the world (`ns/name`) or an address (a pod's address is that pod).
 * A pod named by key matches an ipBlock when any of its addresses is inside it.
 */
export type Endpoint = { pod: string } | { ip: string };

export interface RuleMatch {
  policy: string;
  /** Index into the policy's ingress or egress list. */
  rule: number;
  /** The peer (index into from/to) that admitted the other end; 'any' when the rule has none. */
  peer: number | 'any';
  /** The port entry that admitted the port; 'any' when the rule has none. */
  port: number | 'any';
}

export interface DirectionVerdict {
  direction: Direction;
  /** The pod whose policies were consulted (undefined: not a pod, nothing to isolate). */
  pod?: string;
  /** Policies selecting that pod with this policy type. Empty: not isolated, allowed. */
  isolatedBy: string[];
  /** The rules allowing the connection (every one, in policy order). */
  allowedBy: RuleMatch[];
  allowed: boolean;
}

export interface WhyAnswer {
  allowed: boolean;
  egress: DirectionVerdict;
  ingress: DirectionVerdict;
  /** One line per direction, for a terminal. */
  text: string;
}

export interface WhyQuery {
  src: Endpoint;
  dst: Endpoint;
  port: number;
  protocol: Protocol;
}

function resolve(world: PolicyWorld, e: Endpoint): { pod?: Pod; ips: string[] } {
  if ('pod' in e) {
    const pod = world.pods.get(e.pod);
    if (!pod) throw new RangeError(`no pod ${e.pod} in the policy model`);
    return { pod, ips: pod.podIPs };
  }
  const pod = world.podByIP(e.ip);
  return pod ? { pod, ips: [e.ip] } : { ips: [e.ip] };
}

function sortedPolicies(world: PolicyWorld): NetworkPolicy[] {
  return [...world.policies.values()].sort((a, b) => (policyKey(a) < policyKey(b) ? -1 : 1));
}

function direction(
  world: PolicyWorld,
  dir: Direction,
  self: { pod?: Pod },
  other: { pod?: Pod; ips: string[] },
  dest: Pod | undefined,
  q: WhyQuery,
): DirectionVerdict {
  const v: DirectionVerdict = { direction: dir, isolatedBy: [], allowedBy: [], allowed: true };
  if (!self.pod || self.pod.hostNetwork) return v;
  v.pod = podKey(self.pod);
  for (const pol of sortedPolicies(world)) {
    if (!(dir === 'ingress' ? pol.ingressIsolation : pol.egressIsolation) || !policySelects(pol, self.pod)) continue;
    v.isolatedBy.push(policyKey(pol));
    for (const [ri, rule] of (dir === 'ingress' ? pol.ingress : pol.egress).entries()) {
      let peer: number | 'any' | undefined;
      if (!rule.peers) peer = 'any';
      else {
        const i = rule.peers.findIndex((p) =>
          p.kind === 'pods'
            ? other.pod !== undefined && podPeerMatches(p, pol.namespace, other.pod, world)
            : other.ips.some((ip) => ipBlockMatches(p.ipBlock, ip)),
        );
        if (i >= 0) peer = i;
      }
      if (peer === undefined) continue;
      const port = portMatches(rule.ports, q.protocol, q.port, dest?.ports);
      if (port === undefined) continue;
      v.allowedBy.push({ policy: policyKey(pol), rule: ri, peer, port: port === true ? 'any' : port });
    }
  }
  v.allowed = v.isolatedBy.length === 0 || v.allowedBy.length > 0;
  return v;
}

function line(v: DirectionVerdict): string {
  if (!v.pod) return `${v.direction}: not a pod here, allowed`;
  if (v.isolatedBy.length === 0) return `${v.direction}: ${v.pod} is not isolated for ${v.direction}, allowed`;
  if (!v.allowed) return `${v.direction}: DENIED: ${v.pod} is isolated by ${v.isolatedBy.join(', ')} and no rule allows it`;
  const by = v.allowedBy.map((m) => `${m.policy} ${v.direction}[${m.rule}] (peer ${m.peer}, port ${m.port})`);
  return `${v.direction}: allowed by ${by.join('; ')}`;
}

export function why(world: PolicyWorld, q: WhyQuery): WhyAnswer {
  const src = resolve(world, q.src);
  const dst = resolve(world, q.dst);
  const egress = direction(world, 'egress', src, dst, dst.pod, q);
  const ingress = direction(world, 'ingress', dst, src, dst.pod, q);
  const allowed = egress.allowed && ingress.allowed;
  return { allowed, egress, ingress, text: `${allowed ? 'ALLOWED' : 'DENIED'}\n${line(egress)}\n${line(ingress)}` };
}

/**
 * `podwirectl policy why SRC DST PORT/PROTO` arguments: SRC and DST are `namespace/name` or an
 * address; PORT/PROTO like 80/TCP (protocol case-insensitive, TCP when left out).
 */
export function parseWhyArgs(args: readonly string[]): WhyQuery {
  if (args.length !== 3) throw new RangeError('usage: policy why SRC DST PORT[/PROTO] (SRC, DST: namespace/name or an address)');
  const endpoint = (s: string): Endpoint => {
    if (s.includes('/') && !s.includes(':') && !/^\d+\.\d+\.\d+\.\d+$/.test(s)) return { pod: s };
    try {
      return { ip: address(s, 'policy why', 'address') };
    } catch {
      throw new RangeError(`${JSON.stringify(s)} is neither namespace/name nor an address`);
    }
  };
  const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/i.exec(args[2]!);
  const port = m ? Number(m[1]) : Number.NaN;
  if (!m || port < 1 || port > 65535) throw new RangeError(`${JSON.stringify(args[2])}: PORT/PROTO expected, like 80/TCP`);
  return { src: endpoint(args[0]!), dst: endpoint(args[1]!), port, protocol: (m[2] ?? 'TCP').toUpperCase() as Protocol };
}
