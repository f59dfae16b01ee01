import { Lease } from '@podwire/ipam-store';
import { parseCniArgs } from '../cni/cni-args';
import { CniCode, toCniError } from '../cni/cni-error';
import { CniResult, resultForVersion } from '../cni/cni-result';
import { LATEST_CNI_VERSION } from '../cni/cni-versions';
import { NetConf } from '../cni/net-conf';
import { DEFAULT_DST, PodAddress, POD_GATEWAY, POD_PREFIX, WiredPod } from '../datapath/datapath';
import { hostVethName } from '../datapath/host-veth-name';
import { VerbHandler, attachmentKey, lockName } from './handler-deps';
import { resolveRanges } from './network-ranges';
import { storeErrorToCni } from './store-errors';

export function podAddresses(leases: Lease[]): PodAddress[] {
  return leases.map((l) => ({ address: l.address, family: l.family }));
}

/** The result of an ADD, in the newest shape (stored as is; converted per caller version). */
function buildResult(conf: NetConf, netnsPath: string, wired: WiredPod, leases: Lease[]): CniResult {
  const result: CniResult = {
    cniVersion: LATEST_CNI_VERSION,
    interfaces: [
      { name: wired.hostIfname, mac: wired.hostMac, mtu: conf.mtu },
      { name: wired.podIfname, mac: wired.podMac, mtu: conf.mtu, sandbox: netnsPath },
    ],
    ips: leases.map((l) => ({ address: `${l.address}/${POD_PREFIX[l.family]}`, gateway: POD_GATEWAY[l.family], interface: 1 })),
    routes: [...new Set(leases.map((l) => l.family))].sort().map((f) => ({ dst: DEFAULT_DST[f], gw: POD_GATEWAY[f] })),
  };
  if (conf.dns) result.dns = conf.dns;
  return result;
}

/**
 * ADD: lease first (committed, with a `pending` attachment, before the kernel is touched), then
 * wire the pod, then mark the attachment `ready` with its result. Any failure after the lease
 * undoes the kernel work (the datapath rolls itself back) and releases the lease.
 */
export const handleAdd: VerbHandler = async (deps, inv, conf) => {
  const ranges = resolveRanges(conf, deps.node);
  deps.networks.record(conf.name, ranges);
  const args = parseCniArgs(inv.args);
  const key = attachmentKey(conf, inv);
  return deps.locks.run(lockName(key), async () => {
    const hostIfname = hostVethName(key.network, key.containerId, key.ifname);
    let leases: Lease[];
    try {
      leases = deps.store.reserve(
        {
          ...key,
          netns: inv.netns,
          hostIfname,
          podNamespace: args.podNamespace,
          podName: args.podName,
          podUid: args.podUid,
          infraContainerId: args.infraContainerId,
        },
        ranges,
        { requested: [...new Set([...args.ips, ...conf.runtimeConfig.ips])] },
      );
    } catch (err) {
      throw storeErrorToCni(err);
    }
    const addresses = podAddresses(leases);
    let wired: WiredPod;
    try {
      wired = await deps.datapath.setUp({
        netnsPath: inv.netns,
        podIfname: inv.ifname,
        hostIfname,
        mtu: conf.mtu,
        addresses,
        podMac: conf.runtimeConfig.mac,
      });
    } catch (err) {
      // setUp has already rolled back its own kernel work.
      deps.store.remove(key);
      throw toCniError(err, CniCode.DatapathFailure, 'failed to wire the pod network');
    }
    const result = buildResult(conf, inv.netns, wired, leases);
    try {
      deps.store.markReady(key, JSON.stringify(result));
    } catch (err) {
      await deps.datapath.tearDown(hostIfname).catch(() => undefined);
      deps.store.remove(key);
      throw storeErrorToCni(err);
    }
    return JSON.stringify(resultForVersion(result, conf.cniVersion));
  });
};
