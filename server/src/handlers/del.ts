import { VerbHandler, attachmentKey, lockName } from './handler-deps';
import { storeErrorToCni } from './store-errors';

/**
 * DEL: best effort and idempotent, as the spec demands. Removes the host end of the veth (the
 * pod end goes with it), the host routes and the lease; succeeds when any of them, the netns,
 * or the whole attachment is already gone, and when CNI_NETNS is empty.
 */
export const handleDel: VerbHandler = async (deps, call) => {
  const key = attachmentKey(call);
  return deps.locks.run(lockName(key), async () => {
    const record = deps.store.get(key);
    await deps.datapath.tearDown(record?.attachment.hostIfname ?? deps.datapath.hostIfname(key));
    try {
      deps.store.remove(key);
    } catch (err) {
      throw storeErrorToCni(err);
    }
    return '';
  });
};
