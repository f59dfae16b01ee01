import type { IpamStore } from '@podwire/ipam-store';
import type { StoredLocalPod } from './node-policy';

/**
 * The attachments wired here, from the lease store: every ready attachment that names its Pod
 * (K8S_POD_NAMESPACE and K8S_POD_NAME from its ADD's CNI_ARGS, stored on the attachment row),
 * with its sandbox, host veth and leased addresses. A pod with several attachments (Multus,
 * or an older sandbox not yet DELed) gives all of them, as NodePolicy.admit keeps them.
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
  return store
    .listAttachments({ state: 'ready' })
    .filter((a) => a.podNamespace !== undefined && a.podName !== undefined)
    .map((a) => ({
      pod: { namespace: a.podNamespace!, name: a.podName! },
      sandbox: a.containerId,
      ifname: a.hostIfname,
      ips: leases.get(keyOf(a)) ?? [],
    }));
}
