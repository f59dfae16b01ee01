import type { AttachmentKey } from '@podwire/ipam-store';
import type { HeldPortMapping, PodPortMapping } from '../nft';

/**
 * hostPort mappings as the verb handlers use them: injected (podwired's is egress/egress.ts,
 * over its nftables table; handlers.test.ts uses a fake), so handlers stay testable without
 * the kernel. A holder is one attachment (portHolder()).
 */
export interface HostPorts {
  /**
   * Maps `mappings` for `holder` in one transaction, before ADD returns; IPv4 mappings also
   * make the pod's host interface `hostIfname` route 127.0.0.1 (route_localnet). Throws
   * PortMappingConflict (another holder has a key; nothing changed), InvalidPortMapping,
   * NftError, or HostPortsUnavailable when nftables could not be opened at start.
   */
  map(holder: string, mappings: readonly PodPortMapping[], hostIfname: string): void;
  /** Unmaps every mapping of `holder` and clears the UDP conntrack entries toward it. Returns what went. */
  unmap(holder: string): Promise<HeldPortMapping[]>;
  /** What of `expected` is not programmed for `holder` in the kernel ([] when all is). */
  missing(holder: string, expected: readonly PodPortMapping[]): string[];
}

/** nftables is not usable in this podwired (libnftables missing, the kernel refused the table). */
export class HostPortsUnavailable extends Error {
  constructor(readonly reason: string) {
    super(`hostPort mappings are not available on this node: ${reason}`);
    this.name = 'HostPortsUnavailable';
  }
}

/** The holder of an attachment's mappings: "network/containerID/ifname" (none of them holds a "/"). */
export function portHolder(key: AttachmentKey): string {
  return `${key.network}/${key.containerId}/${key.ifname}`;
}

/** The attachment a portHolder() names; undefined for any other text. */
export function holderKey(holder: string): AttachmentKey | undefined {
  const parts = holder.split('/');
  if (parts.length !== 3 || parts.some((p) => p === '')) return undefined;
  const [network, containerId, ifname] = parts as [string, string, string];
  return { network, containerId, ifname };
}
