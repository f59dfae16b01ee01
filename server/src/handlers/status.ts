import { CniCode, CniError } from '../cni/cni-error';
import { requireVersionAtLeast } from '../cni/cni-versions';
import { VerbHandler } from './handler-deps';
import { resolveRanges } from './network-ranges';

/**
 * STATUS (CNI 1.1.0): succeeds when an ADD could be served now; code 50 when it could not
 * because the store is unusable or a range set has no free address left.
 */
export const handleStatus: VerbHandler = async (deps, _inv, conf) => {
  requireVersionAtLeast(conf.cniVersion, '1.1.0', 'STATUS');
  // STATUS without ranges anywhere (none in the config, no node pod CIDRs) has nothing to check.
  const ranges = conf.rangeSets.length === 0 && (deps.node?.podCidrs().length ?? 0) === 0 ? [] : resolveRanges(conf, deps.node);
  deps.networks.record(conf.name, ranges);
  let usage;
  try {
    usage = deps.store.usage(conf.name, ranges);
  } catch (err) {
    throw new CniError(CniCode.NotReadyForAdd, 'the lease store is not usable', err instanceof Error ? err.message : String(err));
  }
  const full = usage.filter((u) => u.used >= u.size);
  if (full.length > 0) {
    throw new CniError(
      CniCode.NotReadyForAdd,
      'no free address left',
      full.map((u) => `${u.set}: ${u.used} of ${u.size} addresses in use`).join('; '),
    );
  }
  return '';
};
