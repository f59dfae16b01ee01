import type { Allocation, Lease } from '@podwire/ipam-store';
import { CniCode, toCniError } from '../cni/cni-error';
import { CniResult, resultForVersion } from '../cni/cni-result';
import { LATEST_CNI_VERSION } from '../cni/cni-versions';
import { PodAddress, WiredPod } from '../datapath/datapath';
import { AbandonedAdd } from './abandoned-add';
import { VerbHandler, attachmentKey, lockName } from './handler-deps';
import { resolveRanges } from './network-ranges';
import { storeErrorToCni } from './store-errors';

export function podAddresses(leases: readonly Lease[]): PodAddress[] {
  return leases.map((l) => ({ address: l.address, family: l.family }));
}

/**
 * ADD: choose the leases (held in the store's memory, nothing written), wire the pod, then
 * ONE commit: the attachment, `ready` with its result, and its leases. A crash before the
 * commit loses nothing the kernel backs: the host end this server created, owned by its alias
 * and accounted for by no ready attachment, is removed by the next start's reconcile (the
 * kernel is the journal). Any failure after the allocation undoes the kernel work (the
 * datapath rolls itself back) and releases the hold. An ADD whose caller gave up meanwhile is
 * torn down before the commit (the runtime saw it fail) and ends as AbandonedAdd.
 */
export const handleAdd: VerbHandler = async (deps, call, ctx) => {
  const { conf, inv, args } = call;
  const ranges = resolveRanges(conf, deps.node);
  deps.networks.record(conf.name, ranges);
  const key = attachmentKey(call);
  return deps.locks.run(lockName(key), async () => {
    const hostIfname = deps.datapath.hostIfname(key);
    let allocation: Allocation;
    try {
      allocation = deps.store.allocate(
        { ...key, netns: inv.netns, hostIfname, podNamespace: args.podNamespace, podName: args.podName, podUid: args.podUid, infraContainerId: args.infraContainerId },
        ranges,
        { requested: [...new Set([...args.ips, ...conf.runtimeConfig.ips])] },
      );
    } catch (err) {
      throw storeErrorToCni(err);
    }
    let wired: WiredPod;
    try {
      wired = await deps.datapath.setUp({ netnsPath: inv.netns, podIfname: inv.ifname, hostIfname, mtu: conf.mtu, addresses: podAddresses(allocation.leases), podMac: conf.runtimeConfig.mac, routes: conf.routes });
    } catch (err) {
      // setUp has already rolled back its own kernel work.
      allocation.release();
      throw toCniError(err, CniCode.DatapathFailure, 'failed to wire the pod network');
    }
    if (ctx.abandoned()) {
      // The runtime saw this ADD fail; an attachment it does not know of must not stay.
      let rollbackError: string | undefined;
      try {
        await deps.datapath.tearDown(hostIfname);
      } catch (err) {
        rollbackError = err instanceof Error ? err.message : String(err);
      }
      allocation.release();
      throw new AbandonedAdd(rollbackError);
    }
    const result: CniResult = { cniVersion: LATEST_CNI_VERSION, ...wired, ...(conf.dns ? { dns: conf.dns } : {}) };
    try {
      // Synchronous from the abandoned() check on: no caller can give up in between.
      allocation.commit(JSON.stringify(result));
    } catch (err) {
      await deps.datapath.tearDown(hostIfname).catch(() => undefined);
      throw storeErrorToCni(err);
    }
    return JSON.stringify(resultForVersion(result, conf.cniVersion));
  });
};
