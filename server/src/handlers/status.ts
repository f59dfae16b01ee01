import { CniCode, CniError } from '../cni/cni-error';
import { requireVersionAtLeast } from '../cni/cni-versions';
import { VerbHandler } from './handler-deps';

/**
 * STATUS (CNI 1.1.0): succeeds when an ADD could be served now; code 50 when it could not
 * because the store is unusable or a range set has no free address left.
 */
export const handleStatus: VerbHandler = async (deps, _inv, conf) => {
  requireVersionAtLeast(conf.cniVersion, '1.1.0', 'STATUS');
  deps.networks.record(conf.name, conf.rangeSets);
  let usage;
  try {
    usage = deps.store.usage(conf.name, conf.rangeSets);
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
