/**
 * The names of the policy objects inside podwired's table (beside the masquerade and hostport
 * ones of server/src/nft/table-layout.ts, none shared).
 *
 * Packets between pods cross the node's forward hook: a pod's packets come in on its host
 * veth (iifname), packets for it leave on it (oifname). The chains:
 *
 *   pol-forward (filter forward, priority 0, policy accept)
 *     ct state established,related accept        replies and related ICMP of allowed flows
 *     iifname @pod-if, source not the pod's own   drop (an address the pod was not given)
 *     iifname @egress-isolated jump pol-egress-gate
 *     goto pol-ingress-gate
 *   pol-egress-gate:  jump pol-egress; drop
 *   pol-egress:       iifname @np-<id>-eg-t jump np-<id>-eg   (one per policy with Egress)
 *   np-<id>-eg:       <peer> <port> goto pol-ingress-gate      (allowed out: now the destination's ingress)
 *   pol-ingress-gate: oifname != @ingress-isolated accept; jump pol-ingress; drop
 *   pol-ingress:      oifname @np-<id>-in-t jump np-<id>-in   (one per policy with Ingress)
 *   np-<id>-in:       <peer> <port> accept
 *
 * The node's own packets to its pods take the output hook, never forward: the node (kubelet
 * probes) always reaches its pods. Neighbour discovery is between a pod and its host veth
 * (input/output), also never forwarded. A pod's membership is elements of the sets (its
 * interface in the target and isolation sets, its addresses in the peer sets), so an ADD,
 * DEL or relabel is element updates; a policy's chains and sets are its own, so a policy
 * change touches only them and the two dispatch chains.
 */

export const POLICY_CHAINS = {
  forward: 'pol-forward',
  egressGate: 'pol-egress-gate',
  egress: 'pol-egress',
  ingressGate: 'pol-ingress-gate',
  ingress: 'pol-ingress',
} as const;

export const POLICY_SETS = {
  /** Host veths of the pods wired here (ifname). */
  podIf: 'pod-if',
  /** (ifname . address) of every pod wired here: its own source addresses. */
  podAddr: { 4: 'pod-addr-v4', 6: 'pod-addr-v6' },
  /** Host veths of pods selected by at least one policy with Ingress / Egress. */
  ingressIsolated: 'ingress-isolated',
  egressIsolated: 'egress-isolated',
} as const;

/** One policy's object names, from its compiler-assigned id (p1, p2, ...). */
export function policyNames(id: string) {
  const base = `np-${id}`;
  return {
    chain: { ingress: `${base}-in`, egress: `${base}-eg` },
    targets: { ingress: `${base}-in-t`, egress: `${base}-eg-t` },
    /** Rule `r` of a direction: pod addresses, named-port elements (ipBlocks are prefix matches in the rules: no set). */
    rule(dir: 'ingress' | 'egress', r: number) {
      const p = `${base}-${dir === 'ingress' ? 'i' : 'e'}${r}`;
      return { pods: { 4: `${p}-a4`, 6: `${p}-a6` }, named: `${p}-n`, namedAddr: { 4: `${p}-n4`, 6: `${p}-n6` } };
    },
  };
}
