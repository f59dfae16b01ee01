import type { IpamStore } from '@podwire/ipam-store';
import type { StoredLocalPod } from './node-policy';

/**
 * The pods wired here, from the lease store: every ready attachment that names its Pod
 * (K8S_POD_NAMESPACE and K8S_POD_NAME from its ADD's CNI_ARGS, stored on the attachment row),
 * with its host veth and leased addresses. A pod with several attachments is registered on
 * its newest, as an ADD registers the latest (policy/README.md, limits).
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
  const newest = new Map<string, { createdAt: number; local: StoredLocalPod }>();
  for (const a of store.listAttachments({ state: 'ready' })) {
    if (a.podNamespace === undefined || a.podName === undefined) continue;
    const pod = `${a.podNamespace}/${a.podName}`;
    const held = newest.get(pod);
    if (held && held.createdAt >= a.createdAt) continue;
    newest.set(pod, {
      createdAt: a.createdAt,
      local: { pod: { namespace: a.podNamespace, name: a.podName }, ifname: a.hostIfname, ips: leases.get(keyOf(a)) ?? [] },
    });
  }
  return [...newest.values()].map((n) => n.local);
}
