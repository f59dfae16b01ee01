import { CniCode, CniError } from '../cni/cni-error';
import { requireVersionAtLeast } from '../cni/cni-versions';
import { podAddresses } from './add';
import { type VerbHandler, attachmentKey, lockName } from './handler-deps';
import { podMtu } from '../peers/pod-mtu';
import { portHolder } from './host-ports';
import type { CniResult } from '../cni/cni-result';

/** Addresses a chained runtime's prevResult claims for the pod interface. */
function prevResultAddresses(prev: unknown): string[] | undefined {
  if (typeof prev !== 'object' || prev === null) return undefined;
  const ips = (prev as { ips?: unknown }).ips;
  if (!Array.isArray(ips)) return undefined;
  return ips
    .map((ip) => (typeof ip === 'object' && ip !== null ? (ip as { address?: unknown }).address : undefined))
    .filter((a): a is string => typeof a === 'string')
    .map((a) => a.split('/')[0] ?? a);
}

/**
 * CHECK: the attachment must be known and ready, the prevResult (when given) must name the
 * leased addresses, and the kernel state must be as ADD left it, hostPort mappings included.
 */
export const handleCheck: VerbHandler = async (deps, call) => {
  const { conf, inv } = call;
  requireVersionAtLeast(conf.cniVersion, '0.4.0', 'CHECK');
  const key = attachmentKey(call);
  return deps.locks.run(lockName(key), async () => {
    const record = deps.store.get(key);
    if (!record) {
      throw new CniError(
        CniCode.UnknownContainer,
        `no attachment for container ${key.containerId} interface ${key.ifname} on network ${key.network}`,
        'podwire holds no lease for it: was ADD run?',
      );
    }
    if (record.attachment.state !== 'ready') {
      throw new CniError(CniCode.CheckFailed, 'the attachment is not ready', 'its ADD did not complete');
    }
    const leased = podAddresses(record.leases);
    const claimed = prevResultAddresses(conf.raw.prevResult);
    if (claimed) {
      const missing = leased.filter((a) => !claimed.includes(a.address)).map((a) => a.address);
      const foreign = claimed.filter((a) => !leased.some((l) => l.address === a));
      if (missing.length > 0 || foreign.length > 0) {
        throw new CniError(
          CniCode.CheckFailed,
          'prevResult does not match the leased addresses',
          `leased: ${leased.map((a) => a.address).join(', ')}; prevResult: ${claimed.join(', ')}`,
        );
      }
    }
    await deps.datapath.check({
      netnsPath: inv.netns,
      podIfname: inv.ifname,
      hostIfname: record.attachment.hostIfname,
      mtu: podMtu(conf, deps.encapsulationMtu),
      addresses: leased,
      ...(conf.routes ? { routes: conf.routes } : {}),
    });
    const mapped = record.attachment.result ? ((JSON.parse(record.attachment.result) as CniResult).portMappings ?? []) : [];
    if (mapped.length > 0) {
      const missing = deps.ports ? deps.ports.missing(portHolder(key), mapped) : ['this podwire has no nftables layer'];
      if (missing.length > 0) throw new CniError(CniCode.CheckFailed, 'hostPort mappings are not as ADD left them', missing.join('; '));
    }
    const { podNamespace, podName } = record.attachment;
    if (deps.policy && podNamespace !== undefined && podName !== undefined) {
      const missing = deps.policy.missing({ namespace: podNamespace, name: podName }, record.attachment.hostIfname);
      if (missing.length > 0) throw new CniError(CniCode.CheckFailed, 'NetworkPolicy state is not as ADD left it', missing.join('; '));
    }
    return '';
  });
};
