import type { IpamStore } from '@podwire/ipam-store';
import type { StoredLocalPod } from './node-policy';

/**
 * The attachments wired here, from the lease store: every ready attachment that names its Pod
 * (K8S_POD_NAMESPACE and K8S_POD_NAME from its ADD's CNI_ARGS, stored on the attachment row),
 * with its sandbox, host veth and leased addresses. A pod with several attachments (Multus)
 * gives all those of its newest sandbox (the one with the latest attachment): an older
 * sandbox's were replaced by the new one's ADD, as NodePolicy.admit does.
 */
export function storedLocalPods(store: IpamStore): StoredLocalPod[] {
  const leases = new Map<string, string[]>();
  const keyOf = (a: { network: string; containerId: string; ifname: string }) => `${a.network}\0${a.containerId}\0${a.ifname}`;
  for (const l of store.listLeases()) {
    const k = keyOf(l);
    const list = leases.get(k) ?? [];
    list.push(l.address);
    leases.set(k, list);
  }
  const ready = store.listAttachments({ state: 'ready' }).filter((a) => a.podNamespace !== undefined && a.podName !== undefined);
  const newest = new Map<string, { createdAt: number; sandbox: string }>();
  for (const a of ready) {
    const pod = `${a.podNamespace}/${a.podName}`;
    const held = newest.get(pod);
    if (!held || a.createdAt > held.createdAt) newest.set(pod, { createdAt: a.createdAt, sandbox: a.containerId });
  }
  return ready
    .filter((a) => newest.get(`${a.podNamespace}/${a.podName}`)?.sandbox === a.containerId)
    .map((a) => ({
      pod: { namespace: a.podNamespace!, name: a.podName! },
      sandbox: a.containerId,
      ifname: a.hostIfname,
      ips: leases.get(keyOf(a)) ?? [],
    }));
}
