import { podAddresses } from './add';
import { type VerbHandler, attachmentKey, lockName } from './handler-deps';
import { portHolder } from './host-ports';
import { portErrorToCni } from './port-errors';
import { storeErrorToCni } from './store-errors';

/**
 * DEL: best effort and idempotent, as the spec demands. Unmaps the pod's hostPorts (and
 * clears the UDP conntrack entries toward it: a client still sending must not be DNATed to
 * the old address), detaches the pod (host routes gone, host end down and renamed; the pair
 * is destroyed in the background within a second), removes its NetworkPolicy state (its
 * address leaves every peer set before it can be handed out again) and then the lease; succeeds when any of them, the netns, or the whole attachment is already
 * gone, and when CNI_NETNS is empty. An ADD of the same key may follow at once.
 */
export const handleDel: VerbHandler = async (deps, call) => {
  const key = attachmentKey(call);
  return deps.locks.run(lockName(key), async () => {
    const record = deps.store.get(key);
    const hostIfname = record?.attachment.hostIfname ?? deps.datapath.hostIfname(key);
    try {
      await deps.ports?.unmap(portHolder(key));
    } catch (err) {
      throw portErrorToCni(err, deps.store);
    }
    await deps.datapath.detach(hostIfname, podAddresses(record?.leases ?? []));
    // Policy state goes once the pod is detached (a pod still wired stays policed), before its
    // lease is removed (its address leaves every peer set before it can be handed out again).
    const podNamespace = record?.attachment.podNamespace ?? call.args.podNamespace;
    const podName = record?.attachment.podName ?? call.args.podName;
    if (deps.policy && podNamespace !== undefined && podName !== undefined) deps.policy.release({ namespace: podNamespace, name: podName }, hostIfname);
    try {
      deps.store.remove(key);
    } catch (err) {
      throw storeErrorToCni(err);
    }
    return '';
  });
};
