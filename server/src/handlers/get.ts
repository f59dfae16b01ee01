import { CniCode, CniError } from '../cni/cni-error';
import { type CniResult, resultForVersion } from '../cni/cni-result';
import { type VerbHandler, attachmentKey } from './handler-deps';

/**
 * GET (not a spec verb): the stored ADD result, in the caller's cniVersion, with podwire's
 * `portMappings` (what ADD mapped, each with the pod address it goes to) when it mapped any.
 */
export const handleGet: VerbHandler = async (deps, call) => {
  const key = attachmentKey(call);
  const record = deps.store.get(key);
  if (record?.attachment.state !== 'ready' || !record.attachment.result) {
    throw new CniError(
      CniCode.UnknownContainer,
      `no attachment for container ${key.containerId} interface ${key.ifname} on network ${key.network}`,
      record ? 'its ADD has not completed' : 'podwire holds no result for it',
    );
  }
  const stored = JSON.parse(record.attachment.result) as CniResult;
  const out = resultForVersion(stored, call.conf.cniVersion);
  return JSON.stringify(stored.portMappings && stored.portMappings.length > 0 ? { ...out, portMappings: stored.portMappings } : out);
};
