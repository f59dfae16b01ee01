import { CniCode, CniError } from '../cni/cni-error';
import { requireVersionAtLeast } from '../cni/cni-versions';
import { podAddresses } from './add';
import { type VerbHandler, lockName } from './handler-deps';
import { portHolder } from './host-ports';

interface ValidAttachment {
  containerID: string;
  ifname: string;
}

function validAttachments(raw: unknown): ValidAttachment[] {
  if (raw === undefined) return [];
  const bad = () =>
    new CniError(CniCode.InvalidNetworkConfig, 'invalid "cni.dev/valid-attachments"', 'expected a list of {"containerID": string, "ifname": string}');
  if (!Array.isArray(raw)) throw bad();
  return raw.map((v) => {
    if (typeof v !== 'object' || v === null) throw bad();
    const { containerID, ifname } = v as Record<string, unknown>;
    if (typeof containerID !== 'string' || typeof ifname !== 'string') throw bad();
    return { containerID, ifname };
  });
}

/**
 * GC (CNI 1.1.0): removes every attachment of this network that is not in
 * `cni.dev/valid-attachments` (NetworkPolicy state, hostPort mappings, links, routes, leases). Carries on past failures and reports
 * them all at the end.
 */
export const handleGc: VerbHandler = async (deps, { conf }) => {
  requireVersionAtLeast(conf.cniVersion, '1.1.0', 'GC');
  const valid = new Set(validAttachments(conf.raw['cni.dev/valid-attachments']).map((a) => `${a.containerID}\0${a.ifname}`));
  const failures: string[] = [];
  for (const att of deps.store.listAttachments({ network: conf.name })) {
    if (valid.has(`${att.containerId}\0${att.ifname}`)) continue;
    const key = { network: att.network, containerId: att.containerId, ifname: att.ifname };
    try {
      await deps.locks.run(lockName(key), async () => {
        const record = deps.store.get(key);
        if (!record) return;
        const { podNamespace, podName } = record.attachment;
        await deps.ports?.unmap(portHolder(key));
        await deps.datapath.detach(record.attachment.hostIfname, podAddresses(record.leases));
        // As DEL: policy state goes once the pod is detached, before its lease.
        if (deps.policy && podNamespace !== undefined && podName !== undefined)
          deps.policy.release({ namespace: podNamespace, name: podName }, record.attachment.hostIfname);
        deps.store.remove(key);
      });
    } catch (err) {
      failures.push(`${att.containerId}/${att.ifname}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (failures.length > 0) {
    throw new CniError(CniCode.IoFailure, `GC could not remove ${failures.length} attachment(s)`, failures.join('; '));
  }
  return '';
};
