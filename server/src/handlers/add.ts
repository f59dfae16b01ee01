import { Lease } from '@podwire/ipam-store';
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
 * ADD: lease first (committed, with a `pending` attachment, before the kernel is touched), then
 * wire the pod, then mark the attachment `ready` with its result. Any failure after the lease
 * undoes the kernel work (the datapath rolls itself back) and releases the lease. An ADD whose
 * caller gave up meanwhile is rolled back too (the runtime saw it fail) and ends as AbandonedAdd.
 */
export const handleAdd: VerbHandler = async (deps, call, ctx) => {
  const { conf, inv, args } = call;
  const ranges = resolveRanges(conf, deps.node);
  deps.networks.record(conf.name, ranges);
  const key = attachmentKey(call);
  return deps.locks.run(lockName(key), async () => {
    const hostIfname = deps.datapath.hostIfname(key);
    let leases: Lease[];
    try {
      leases = deps.store.reserve(
        { ...key, netns: inv.netns, hostIfname, podNamespace: args.podNamespace, podName: args.podName, podUid: args.podUid, infraContainerId: args.infraContainerId },
        ranges,
        { requested: [...new Set([...args.ips, ...conf.runtimeConfig.ips])] },
      );
    } catch (err) {
      throw storeErrorToCni(err);
    }
    let wired: WiredPod;
    try {
      wired = await deps.datapath.setUp({ netnsPath: inv.netns, podIfname: inv.ifname, hostIfname, mtu: conf.mtu, addresses: podAddresses(leases), podMac: conf.runtimeConfig.mac, routes: conf.routes });
    } catch (err) {
      // setUp has already rolled back its own kernel work.
      deps.store.remove(key);
      throw toCniError(err, CniCode.DatapathFailure, 'failed to wire the pod network');
    }
    const result: CniResult = { cniVersion: LATEST_CNI_VERSION, ...wired, ...(conf.dns ? { dns: conf.dns } : {}) };
    try {
      deps.store.markReady(key, JSON.stringify(result));
    } catch (err) {
      await deps.datapath.tearDown(hostIfname).catch(() => undefined);
      deps.store.remove(key);
      throw storeErrorToCni(err);
    }
    if (ctx.abandoned()) {
      // The runtime saw this ADD fail; an attachment it does not know of must not stay.
      let rollbackError: string | undefined;
      try {
        await deps.datapath.tearDown(hostIfname);
        deps.store.remove(key);
      } catch (err) {
        rollbackError = err instanceof Error ? err.message : String(err);
      }
      throw new AbandonedAdd(rollbackError);
    }
    return JSON.stringify(resultForVersion(result, conf.cniVersion));
  });
};
