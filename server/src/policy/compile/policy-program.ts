/**
 * One NetworkPolicy as nftables objects of its own: per direction it isolates, a target set
 * (the host veths of the pods it selects here), a chain of allow rules, and per rule the sets
 * its peers and named ports are looked up in. What a pod contributes to those sets is in
 * pod-elements.ts; the rules themselves name no pod, so they change only with the policy.
 */
import { normaliseCidrs } from '../../nft/cidr-sets';
import { type NftExpr, concat, match, meta, payload, prefix, setRef } from '../../nft/nft-json';
import { type Direction, type NetworkPolicy, type PolicyPort, type PolicyRule, policyKey } from '../model';
import { subtractCidrs } from './cidr-subtract';
import { type SharedSpec, peerSpec } from './shared-sets';
import { POLICY_CHAINS, policyNames } from './policy-layout';

export const IP_PROTO = { TCP: 6, UDP: 17, SCTP: 132 } as const;

export interface SetDecl {
  name: string;
  type: string | string[];
  flags?: string[];
  /** Elements fixed by the policy itself (none so far); pods add theirs. */
  elements: NftExpr[];
}

/** Names the shared sets of a spec (the compiler's registry; allocating a name on first use). */
export type SharedNamer = (spec: SharedSpec) => { key: string; names: { 4: string; 6: string } };

export interface CompiledPolicy {
  /** Keys of the shared sets its rules look up (one entry per use). */
  shared: string[];
  key: string;
  id: string;
  policy: NetworkPolicy;
  sets: SetDecl[];
  chains: Array<{ name: string; rules: NftExpr[][] }>;
  /** The pol-ingress / pol-egress rule sending a selected pod's packets to this policy's chain. */
  dispatch: Array<{ chain: string; rule: NftExpr[] }>;
}

const IP = { 4: 'ip', 6: 'ip6' } as const;

/** One way a rule can match: its expressions, and the address family they imply (if any). */
interface Alternative {
  family?: 4 | 6;
  exprs: NftExpr[];
}

function portAlternatives(
  dir: Direction,
  ports: PolicyPort[] | undefined,
  names: ReturnType<ReturnType<typeof policyNames>['rule']>,
  shared: SharedNamer,
  used: string[],
): Alternative[] {
  if (!ports) return [{ exprs: [] }];
  const alts: Alternative[] = [];
  for (const pp of ports) {
    if (typeof pp.port === 'string') continue;
    const proto = match(meta('l4proto'), '==', IP_PROTO[pp.protocol]);
    if (pp.port === undefined) alts.push({ exprs: [proto] });
    else
      alts.push({
        exprs: [proto, match(payload('th', 'dport'), '==', pp.endPort !== undefined && pp.endPort !== pp.port ? { range: [pp.port, pp.endPort] } : pp.port)],
      });
  }
  if (ports.some((pp) => typeof pp.port === 'string')) {
    // Named ports are resolved on the destination pod: for ingress the pod behind oifname,
    // for egress the pod owning the destination address.
    if (dir === 'ingress') alts.push({ exprs: [match(concat(meta('oifname'), meta('l4proto'), payload('th', 'dport')), '==', setRef(names.named))] });
    else {
      for (const pp of ports) {
        if (typeof pp.port !== 'string') continue;
        const s = shared({ kind: 'named', port: pp.port, protocol: pp.protocol });
        used.push(s.key);
        for (const f of [4, 6] as const)
          alts.push({ family: f, exprs: [match(concat(payload(IP[f], 'daddr'), meta('l4proto'), payload('th', 'dport')), '==', setRef(s.names[f]))] });
      }
    }
  }
  return alts;
}

function ruleObjects(
  dir: Direction,
  r: number,
  rule: PolicyRule,
  names: ReturnType<typeof policyNames>,
  policyNamespace: string,
  shared: SharedNamer,
  used: string[],
): { sets: SetDecl[]; rules: NftExpr[][] } {
  const n = names.rule(dir, r);
  const field = dir === 'ingress' ? 'saddr' : 'daddr';
  const sets: SetDecl[] = [];
  const peerAlts: Alternative[] = [];
  if (!rule.peers) peerAlts.push({ exprs: [] });
  else {
    const seen = new Set<string>();
    for (const p of rule.peers) {
      if (p.kind !== 'pods') continue;
      const s = shared(peerSpec(p, policyNamespace));
      if (seen.has(s.key)) continue;
      seen.add(s.key);
      used.push(s.key);
      for (const f of [4, 6] as const) peerAlts.push({ family: f, exprs: [match(payload(IP[f], field), '==', setRef(s.names[f]))] });
    }
    const pieces: string[] = [];
    for (const p of rule.peers) if (p.kind === 'ipBlock') pieces.push(...subtractCidrs(p.ipBlock.cidr, p.ipBlock.except));
    if (rule.peers.some((p) => p.kind === 'ipBlock')) {
      // One prefix match per piece of (cidr minus except), no set: libnftables 1.0.6 reads the
      // elements of every interval set of the table (anonymous ones too) into its cache before
      // each transaction, so 200 ipBlock sets made every ADD's one-element transaction ~6 ms
      // instead of ~0.7 ms (measured: 400 sets, 200 of them interval).
      const byFamily = normaliseCidrs(pieces);
      for (const f of [4, 6] as const) {
        for (const c of byFamily[f]) {
          const [addr, len] = c.split('/') as [string, string];
          // A /0 is every address of the family: nfproto says which.
          const exprs =
            Number(len) === 0 ? [match(meta('nfproto'), '==', f === 4 ? 'ipv4' : 'ipv6')] : [match(payload(IP[f], field), '==', prefix(addr, Number(len)))];
          peerAlts.push({ family: f, exprs });
        }
      }
    }
  }
  if (rule.ports?.some((pp) => typeof pp.port === 'string')) {
    if (dir === 'ingress') sets.push({ name: n.named, type: ['ifname', 'inet_proto', 'inet_service'], elements: [] });
  }
  const verdict: NftExpr = dir === 'ingress' ? { accept: null } : { goto: { target: POLICY_CHAINS.ingressGate } };
  const rules: NftExpr[][] = [];
  for (const peer of peerAlts) {
    for (const port of portAlternatives(dir, rule.ports, n, shared, used)) {
      // An IPv4 peer with an IPv6 named-port lookup can match no packet (and nft refuses it).
      if (peer.family && port.family && peer.family !== port.family) continue;
      rules.push([...peer.exprs, ...port.exprs, verdict]);
    }
  }
  return { sets, rules };
}

export function compilePolicy(policy: NetworkPolicy, id: string, shared: SharedNamer): CompiledPolicy {
  const names = policyNames(id);
  const out: CompiledPolicy = { shared: [], key: policyKey(policy), id, policy, sets: [], chains: [], dispatch: [] };
  for (const dir of ['ingress', 'egress'] as const) {
    if (!(dir === 'ingress' ? policy.ingressIsolation : policy.egressIsolation)) continue;
    out.sets.push({ name: names.targets[dir], type: 'ifname', elements: [] });
    const rules: NftExpr[][] = [];
    (dir === 'ingress' ? policy.ingress : policy.egress).forEach((rule, r) => {
      const o = ruleObjects(dir, r, rule, names, policy.namespace, shared, out.shared);
      out.sets.push(...o.sets);
      rules.push(...o.rules);
    });
    out.chains.push({ name: names.chain[dir], rules });
    out.dispatch.push({
      chain: dir === 'ingress' ? POLICY_CHAINS.ingress : POLICY_CHAINS.egress,
      rule: [match(meta(dir === 'ingress' ? 'oifname' : 'iifname'), '==', setRef(names.targets[dir])), { jump: { target: names.chain[dir] } }],
    });
  }
  return out;
}
