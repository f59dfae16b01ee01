import type { Allocation, Lease, NewAttachment } from '@podwire/ipam-store';
import { CniCode, CniError, toCniError } from '../cni/cni-error';
import { CniResult, resultForVersion } from '../cni/cni-result';
import { LATEST_CNI_VERSION } from '../cni/cni-versions';
import { PodAddress, WiredPod } from '../datapath/datapath';
import { reasonOf } from '../rtnl/rtnl-error';
import { AbandonedAdd } from './abandoned-add';
import { HandlerDeps, VerbHandler, attachmentKey, lockName } from './handler-deps';
import { resolveRanges } from './network-ranges';
import { storeErrorToCni } from './store-errors';
import { podMtu } from '../peers/pod-mtu';

export function podAddresses(leases: readonly Lease[]): PodAddress[] {
  return leases.map((l) => ({ address: l.address, family: l.family }));
}

/** What ADD holds while it wires the pod: the attachment it will record and its leases, held in memory. */
interface AddInProgress {
  attachment: NewAttachment;
  allocation: Allocation;
}

/**
 * ADD's rollback, the one place for it (a failed wiring, an abandoned ADD, a failed commit):
 * tears the pod network down (idempotent: after setUp's own rollback it only proves the pair
 * gone), and only then frees the addresses. If the tear-down fails, the pair may still be
 * wired with them: they stay leased, to a `pending` attachment that DEL, GC and the next
 * start's reconcile remove (host end first). Returns why the tear-down failed, with what
 * became of the addresses; undefined when everything was rolled back.
 */
async function rollBack(deps: HandlerDeps, add: AddInProgress): Promise<string | undefined> {
  let failure: string;
  try {
    await deps.datapath.tearDown(add.attachment.hostIfname);
    add.allocation.release();
    return undefined;
  } catch (err) {
    failure = reasonOf(err);
  }
  try {
    add.allocation.keepPending();
    return `${failure}; its addresses stay leased to a pending attachment until DEL, GC or the next start removes it`;
  } catch (err) {
    add.allocation.release();
    return `${failure}; keeping its addresses leased failed too (${reasonOf(err)}): DEL the attachment before they are handed out again`;
  }
}

/** `cause` with the rollback's failure, if any, added to its details. */
function withRollback(cause: CniError, failure: string | undefined): CniError {
  if (failure === undefined) return cause;
  return new CniError(cause.code, cause.message, `${cause.details === '' ? '' : `${cause.details}; `}tearing the pod network down failed: ${failure}`);
}

/**
 * ADD: choose the leases (held in the store's memory, nothing written), wire the pod, then
 * ONE commit: the attachment, `ready` with its result, and its leases. A crash before the
 * commit loses nothing the kernel backs: the host end this server created, owned by its alias
 * and accounted for by no ready attachment, is removed by the next start's reconcile (the
 * kernel is the journal). Any failure after the allocation goes through rollBack(): the pod
 * torn down, then the hold released, or kept as a pending attachment while the pair may
 * still be wired. An ADD whose caller gave up meanwhile is rolled back before the commit (the
 * runtime saw it fail) and ends as AbandonedAdd.
 */
export const handleAdd: VerbHandler = async (deps, call, ctx) => {
  const { conf, inv, args } = call;
  const ranges = resolveRanges(conf, deps.node);
  const mtu = podMtu(conf, deps.encapsulationMtu);
  deps.networks.record(conf.name, ranges);
  const key = attachmentKey(call);
  return deps.locks.run(lockName(key), async () => {
    const hostIfname = deps.datapath.hostIfname(key);
    const attachment: NewAttachment = { ...key, netns: inv.netns, hostIfname, podNamespace: args.podNamespace, podName: args.podName, podUid: args.podUid, infraContainerId: args.infraContainerId };
    let add: AddInProgress;
    try {
      add = { attachment, allocation: deps.store.allocate(attachment, ranges, { requested: [...new Set([...args.ips, ...conf.runtimeConfig.ips])] }) };
    } catch (err) {
      throw storeErrorToCni(err);
    }
    let wired: WiredPod;
    try {
      wired = await deps.datapath.setUp({ netnsPath: inv.netns, podIfname: inv.ifname, hostIfname, mtu, addresses: podAddresses(add.allocation.leases), podMac: conf.runtimeConfig.mac, routes: conf.routes });
    } catch (err) {
      const cause = toCniError(err, CniCode.DatapathFailure, 'failed to wire the pod network');
      throw withRollback(cause, await rollBack(deps, add));
    }
    if (ctx.abandoned()) {
      // The runtime saw this ADD fail; an attachment it does not know of must not stay.
      throw new AbandonedAdd(await rollBack(deps, add));
    }
    const result: CniResult = { cniVersion: LATEST_CNI_VERSION, ...wired, ...(conf.dns ? { dns: conf.dns } : {}) };
    try {
      // Synchronous from the abandoned() check on: no caller can give up in between.
      add.allocation.commit(JSON.stringify(result));
    } catch (err) {
      throw withRollback(storeErrorToCni(err), await rollBack(deps, add));
    }
    return JSON.stringify(resultForVersion(result, conf.cniVersion));
  });
};
