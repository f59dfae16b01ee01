import type { Allocation, Lease, NewAttachment } from '@podwire/ipam-store';
import { CniCode, CniError, toCniError } from '../cni/cni-error';
import { type CniResult, resultForVersion } from '../cni/cni-result';
import { LATEST_CNI_VERSION } from '../cni/cni-versions';
import type { PodAddress, WiredPod } from '../datapath/datapath';
import { reasonOf } from '../rtnl/rtnl-error';
import { AbandonedAdd } from './abandoned-add';
import { type HandlerDeps, type VerbHandler, attachmentKey, lockName } from './handler-deps';
import { portHolder } from './host-ports';
import type { PodRef } from './pod-policy-gate';
import { portErrorToCni } from './port-errors';
import { type PodPortMapping, portMappingsFor } from '../nft/port-mappings';
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
  /** Set once hostPort mappings may have been programmed for it: the holder to unmap. */
  mappedFor?: string;
  /** Set once the pod was admitted to NetworkPolicy: the pod to release. */
  policed?: PodRef;
}

/**
 * ADD's rollback, the one place for it (a failed wiring or mapping, an abandoned ADD, a failed
 * commit): unmaps the pod's hostPorts (no mapping may point at an address about to be handed
 * out again), tears the pod network down (idempotent: after setUp's own rollback it only
 * proves the pair gone), releases its NetworkPolicy state once the pair is gone, and only then
 * frees the addresses. If the unmap or the tear-down
 * fails, the addresses stay leased, to a `pending` attachment that DEL, GC and the next
 * start's reconcile remove (mappings and host end first). Returns what failed, with what
 * became of the addresses; undefined when everything was rolled back.
 */
async function rollBack(deps: HandlerDeps, add: AddInProgress): Promise<string | undefined> {
  const failures: string[] = [];
  if (add.mappedFor !== undefined) {
    const unmapFailure = await unmapQuietly(deps, add.mappedFor);
    if (unmapFailure !== undefined) failures.push(`unmapping its hostPorts failed: ${unmapFailure}`);
  }
  let tornDown = false;
  try {
    await deps.datapath.tearDown(add.attachment.hostIfname);
    tornDown = true;
  } catch (err) {
    failures.push(`tearing the pod network down failed: ${reasonOf(err)}`);
  }
  // NetworkPolicy state goes only once the pair is gone (a pair still wired stays policed; the
  // pending attachment's DEL or GC releases it), and before the addresses can be handed out again.
  if (add.policed !== undefined && tornDown) {
    try {
      deps.policy?.release(add.policed, add.attachment.hostIfname);
    } catch (err) {
      failures.push(`removing its NetworkPolicy state failed: ${reasonOf(err)}`);
    }
  }
  if (failures.length === 0) {
    add.allocation.release();
    return undefined;
  }
  const failure = failures.join('; ');
  try {
    add.allocation.keepPending();
    return `${failure}; its addresses stay leased to a pending attachment until DEL, GC or the next start removes it`;
  } catch (err) {
    add.allocation.release();
    return `${failure}; keeping its addresses leased failed too (${reasonOf(err)}): DEL the attachment before they are handed out again`;
  }
}

/** Unmaps a holder's hostPorts; returns why it failed, undefined when done. */
async function unmapQuietly(deps: HandlerDeps, holder: string): Promise<string | undefined> {
  try {
    await deps.ports?.unmap(holder);
    return undefined;
  } catch (err) {
    return reasonOf(err);
  }
}

/** `cause` with the rollback's failure, if any, added to its details. */
function withRollback(cause: CniError, failure: string | undefined): CniError {
  if (failure === undefined) return cause;
  return new CniError(cause.code, cause.message, `${cause.details === '' ? '' : `${cause.details}; `}${failure}`);
}

/**
 * ADD: choose the leases (held in the store's memory, nothing written), wire the pod, then
 * ONE commit: the attachment, `ready` with its result, and its leases. A crash before the
 * commit loses nothing the kernel backs: the host end this server created, owned by its alias
 * and accounted for by no ready attachment, is removed by the next start's reconcile (the
 * kernel is the journal). Any failure after the allocation goes through rollBack(): the pod
 * torn down, then the hold released, or kept as a pending attachment while the pair may
 * still be wired. hostPort mappings (runtimeConfig.portMappings) are programmed after the
 * wiring, before the commit, and the rollback removes them first; a hostPort another pod
 * holds fails the ADD (107, naming that pod). An ADD whose caller gave up meanwhile is rolled
 * back before the commit (the runtime saw it fail) and ends as AbandonedAdd.
 */
export const handleAdd: VerbHandler = async (deps, call, ctx) => {
  const { conf, inv, args } = call;
  const ranges = resolveRanges(conf, deps.node);
  const mtu = podMtu(conf, deps.encapsulationMtu);
  deps.networks.record(conf.name, ranges);
  const key = attachmentKey(call);
  const wantsPorts = conf.runtimeConfig.portMappings.length > 0;
  if (wantsPorts && !deps.ports)
    throw new CniError(
      CniCode.DatapathFailure,
      'hostPort mappings are not available on this node',
      'this podwire has no nftables layer (runtimeConfig.portMappings cannot be programmed)',
    );
  return deps.locks.run(lockName(key), async () => {
    const hostIfname = deps.datapath.hostIfname(key);
    const attachment: NewAttachment = {
      ...key,
      netns: inv.netns,
      hostIfname,
      podNamespace: args.podNamespace,
      podName: args.podName,
      podUid: args.podUid,
      infraContainerId: args.infraContainerId,
    };
    let add: AddInProgress;
    try {
      add = { attachment, allocation: deps.store.allocate(attachment, ranges, { requested: [...new Set([...args.ips, ...conf.runtimeConfig.ips])] }) };
    } catch (err) {
      throw storeErrorToCni(err);
    }
    let mappings: PodPortMapping[] = [];
    if (wantsPorts) {
      try {
        mappings = portMappingsFor(
          conf.runtimeConfig.portMappings,
          add.allocation.leases.map((l) => l.address),
        );
      } catch (err) {
        add.allocation.release();
        throw portErrorToCni(err, deps.store);
      }
    }
    // NetworkPolicy before the pod's interface exists: its isolation and what its policies
    // allow hold from its first packet. Labels not to be had: 11, nothing wired.
    if (deps.policy && args.podNamespace !== undefined && args.podName !== undefined) {
      const pod: PodRef = { namespace: args.podNamespace, name: args.podName };
      try {
        await deps.policy.admit(pod, { sandbox: key.containerId, ifname: hostIfname, ips: add.allocation.leases.map((l) => l.address) });
      } catch (err) {
        // admit() changed nothing when it threw before its transaction; release() is a no-op then.
        add.policed = pod;
        throw withRollback(toCniError(err, CniCode.DatapathFailure, 'NetworkPolicy could not be programmed for the pod'), await rollBack(deps, add));
      }
      add.policed = pod;
    }
    let wired: WiredPod;
    try {
      wired = await deps.datapath.setUp({
        netnsPath: inv.netns,
        podIfname: inv.ifname,
        hostIfname,
        mtu,
        addresses: podAddresses(add.allocation.leases),
        podMac: conf.runtimeConfig.mac,
        routes: conf.routes,
      });
    } catch (err) {
      const cause = toCniError(err, CniCode.DatapathFailure, 'failed to wire the pod network');
      throw withRollback(cause, await rollBack(deps, add));
    }
    if (mappings.length > 0 && deps.ports) {
      const holder = portHolder(key);
      add.mappedFor = holder;
      try {
        deps.ports.map(holder, mappings, hostIfname);
      } catch (err) {
        throw withRollback(portErrorToCni(err, deps.store), await rollBack(deps, add));
      }
    }
    if (ctx.abandoned()) {
      // The runtime saw this ADD fail; an attachment it does not know of must not stay.
      throw new AbandonedAdd(await rollBack(deps, add));
    }
    const result: CniResult = {
      cniVersion: LATEST_CNI_VERSION,
      ...wired,
      ...(conf.dns ? { dns: conf.dns } : {}),
      ...(mappings.length > 0 ? { portMappings: mappings } : {}),
    };
    try {
      // Synchronous from the abandoned() check on: no caller can give up in between. The
      // stored result carries the mappings; the printed one (resultForVersion) does not.
      add.allocation.commit(JSON.stringify(result));
    } catch (err) {
      throw withRollback(storeErrorToCni(err), await rollBack(deps, add));
    }
    return JSON.stringify(resultForVersion(result, conf.cniVersion));
  });
};
