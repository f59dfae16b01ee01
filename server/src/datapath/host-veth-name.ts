import { createHash } from 'node:crypto';

/** Prefix of every host-side veth podwire creates (reconcile and GC look for it). */
export const HOST_VETH_PREFIX = 'pw';

/**
 * The host end's name: "pw" + 12 hex digits of sha256(network, container id, ifname),
 * 14 characters (the kernel allows 15). Deterministic, so DEL and GC find the link from the
 * attachment key alone, even when the store lost track of it.
 */
export function hostVethName(network: string, containerId: string, ifname: string): string {
  const digest = createHash('sha256').update(`${network}\0${containerId}\0${ifname}`).digest('hex');
  return HOST_VETH_PREFIX + digest.slice(0, 12);
}
