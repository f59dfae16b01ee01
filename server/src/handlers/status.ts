import type { RangeSetUsage } from '@podwire/ipam-store';
import { CniCode, CniError } from '../cni/cni-error';
import { requireVersionAtLeast } from '../cni/cni-versions';
import type { VerbHandler } from './handler-deps';
import { resolveRanges } from './network-ranges';

/**
 * STATUS (CNI 1.1.0): succeeds when an ADD could be served now; code 50 when it could not
 * because there is nothing to allocate from yet (no ranges in the configuration and no pod
 * CIDR for this node, e.g. before the Kubernetes peer source has learnt them), the store is
 * unusable or a range set has no free address left.
 */
export const handleStatus: VerbHandler = async (deps, { conf }) => {
  requireVersionAtLeast(conf.cniVersion, '1.1.0', 'STATUS');
  if (conf.rangeSets.length === 0 && (deps.node?.podCidrs().length ?? 0) === 0) {
    // ADD answers code 7 here (a configuration it cannot allocate from); to the runtime
    // asking whether ADD can be served, the answer is "not yet".
    const node = deps.node ? `node ${deps.node.nodeName} has no pod CIDR yet` : 'podwired has no pod CIDR for this node';
    throw new CniError(
      CniCode.NotReadyForAdd,
      'not ready for ADD: the network configuration has no address ranges and this node has no pod CIDR',
      `${node}: give podwired "node": {"podCIDRs": [...]}, wait for the kubernetes peer source to learn spec.podCIDRs of the Node, or set "ipam": {"ranges": [...]} in network ${conf.name}`,
    );
  }
  const ranges = resolveRanges(conf, deps.node);
  deps.networks.record(conf.name, ranges);
  let usage: RangeSetUsage[];
  try {
    usage = deps.store.usage(conf.name, ranges);
  } catch (err) {
    throw new CniError(CniCode.NotReadyForAdd, 'the lease store is not usable', err instanceof Error ? err.message : String(err));
  }
  const full = usage.filter((u) => u.used >= u.size);
  if (full.length > 0) {
    throw new CniError(CniCode.NotReadyForAdd, 'no free address left', full.map((u) => `${u.set}: ${u.used} of ${u.size} addresses in use`).join('; '));
  }
  return '';
};
