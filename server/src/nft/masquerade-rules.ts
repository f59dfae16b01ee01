import { type NftExpr, match, payload, setRef } from './nft-json';
import type { CidrList } from './cidr-sets';
import { type Family, MASQ_SETS } from './table-layout';

/** What the egress masquerade is built from (CIDR texts of both families, any order). */
export interface MasqueradeState {
  enabled: boolean;
  /** This node's pod CIDRs and the ranges of every network podwire serves here. */
  podSources: string[];
  /** Every known pod CIDR: this node's and every peer's (follows peers by element updates). */
  cluster: string[];
  /** masquerade.nonMasqueradeCIDRs. */
  nonMasquerade: string[];
}

/** The same, normalised per family (cidr-sets.ts): what the interval sets hold. */
export type MasqueradeSets = Record<keyof typeof MASQ_SETS, Record<Family, CidrList>>;

/**
 * The egress masquerade rule of one family: from a pod source, to a destination outside every
 * pod CIDR and outside nonMasqueradeCIDRs, masquerade with fully random source ports. Pod to
 * pod keeps its addresses (the destination is in `cluster`); node to pod is not from a pod
 * source; pod to node is delivered locally and never reaches postrouting.
 */
export function masqueradeRule(family: Family): NftExpr[] {
  const proto = family === 4 ? 'ip' : 'ip6';
  return [
    match(payload(proto, 'saddr'), '==', setRef(MASQ_SETS.podSources[family])),
    match(payload(proto, 'daddr'), '!=', setRef(MASQ_SETS.cluster[family])),
    match(payload(proto, 'daddr'), '!=', setRef(MASQ_SETS.nonMasquerade[family])),
    { masquerade: { flags: 'fully-random' } },
  ];
}
