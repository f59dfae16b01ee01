/**
 * The names inside podwired's nftables table. One `inet` table per podwired (both families,
 * one transaction for everything), named after its owner tag so two podwired in one netns
 * (the tests run several) each own exactly one table and never name the other's.
 */

export const TABLE_FAMILY = 'inet';

/** podwired's table for owner tag `ownerTag` (early-start.ts ownerTagOf: 12 hex digits). */
export function tableNameOf(ownerTag: string): string {
  if (!/^[0-9a-z]{1,32}$/.test(ownerTag)) throw new RangeError(`nftables owner tag ${JSON.stringify(ownerTag)}: 1-32 lowercase letters or digits expected`);
  return `podwire-${ownerTag}`;
}

export type Family = 4 | 6;

/** Interval sets of the egress masquerade, one per family. */
export const MASQ_SETS = {
  /** Sources that are masqueraded: this node's pod CIDRs and podwire's network ranges here. */
  podSources: { 4: 'pod-sources-v4', 6: 'pod-sources-v6' },
  /** Destinations that keep the pod's address: every known pod CIDR (this node's and the peers'). */
  cluster: { 4: 'cluster-v4', 6: 'cluster-v6' },
  /** Destinations that keep the pod's address by configuration (masquerade.nonMasqueradeCIDRs). */
  nonMasquerade: { 4: 'nonmasq-v4', 6: 'nonmasq-v6' },
} as const;

export type MasqSetKind = keyof typeof MASQ_SETS;

/**
 * Port mapping maps, keyed by (l4proto . hostPort) for "any local address" or by
 * (l4proto . hostIP . hostPort) for a specific one, in pairs with the same key: `addr` gives
 * the pod address, `port` the containerPort. (One map to a concatenated pod address . port
 * would do, but libnftables 1.0.6, Debian 12's, segfaults parsing such a dnat in JSON:
 * `nft -j -f` reproduces it.)
 */
export const HOSTPORT_MAPS = {
  any: { 4: { addr: 'hostports-any-v4-addr', port: 'hostports-any-v4-port' }, 6: { addr: 'hostports-any-v6-addr', port: 'hostports-any-v6-port' } },
  ip: { 4: { addr: 'hostports-ip-v4-addr', port: 'hostports-ip-v4-port' }, 6: { addr: 'hostports-ip-v6-addr', port: 'hostports-ip-v6-port' } },
} as const;

/** (pod . pod) pairs of mapped pod addresses: a pod reaching its own hostPort is masqueraded. */
export const HAIRPIN_SETS = { 4: 'hairpin-v4', 6: 'hairpin-v6' } as const;

export const CHAINS = {
  /** nat prerouting: connections to a local address go through `hostports`. */
  prerouting: 'nat-prerouting',
  /** nat output: the same for connections the node itself opens (127.0.0.1 included). */
  output: 'nat-output',
  /** The DNAT lookups in the hostport maps (regular chain, jumped to). */
  hostports: 'hostports',
  /** nat postrouting: hairpin and localhost masquerade of mapped connections, egress masquerade. */
  postrouting: 'nat-postrouting',
  /** filter prerouting (raw): drops packets from outside to 127.0.0.0/8 (see localnet-guard in rules). */
  localnetGuard: 'localnet-guard',
} as const;

/** kube-proxy's masquerade mark: packets carrying it are masqueraded by kube-proxy, not here. */
export const KUBE_MASQ_MARK = 0x4000;
