/** What a datapath needs to wire one pod interface, and what it reports back. */

export interface PodAddress {
  /** Plain address, e.g. "10.22.0.7". */
  address: string;
  family: 4 | 6;
}

export interface PodNetworkSpec {
  /** CNI_NETNS. */
  netnsPath: string;
  /** CNI_IFNAME: the interface name inside the pod. */
  podIfname: string;
  /** The host end's name (derived from network, container id and ifname). */
  hostIfname: string;
  mtu: number;
  addresses: PodAddress[];
  /** The pod end's MAC ("aa:bb:..."); the kernel picks one when absent. */
  podMac?: string;
}

export interface WiredPod {
  hostIfname: string;
  hostIndex: number;
  hostMac: string;
  podIfname: string;
  podIndex: number;
  podMac: string;
}

export interface Datapath {
  /** Wires the pod; on any failure undoes everything it did, then throws a CniError. */
  setUp(spec: PodNetworkSpec): Promise<WiredPod>;
  /**
   * Removes the host end; the kernel takes the pod end and every route through either end
   * with it. Idempotent: anything already gone is fine, and so is a pod netns that no longer
   * exists.
   */
  tearDown(hostIfname: string): Promise<void>;
  /** Verifies the pod is wired as setUp left it; throws CniError(CheckFailed) naming what is wrong. */
  check(spec: PodNetworkSpec): Promise<void>;
  /** Host ends this server created (marked with its owner tag), for reconcile. */
  listOwnedHostLinks(): Promise<OwnedHostLink[]>;
  /** Removes podwire's host routes on `hostIfname` whose pod address is not in `keep`; returns them. */
  pruneHostRoutes(hostIfname: string, keep: PodAddress[]): Promise<string[]>;
  close(): void;
}

export interface OwnedHostLink {
  name: string;
  index: number;
}

/**
 * The link-local gateways every pod routes through, per family. The pod holds a permanent
 * neighbour entry mapping them to the MAC of the host end of its veth, so the host end
 * receives everything the pod sends to them without ARP or NDP.
 */
export const POD_GATEWAY = { 4: '169.254.1.1', 6: 'fe80::1' } as const;

/** Prefix length of a pod address: the pod owns exactly its one address per family. */
export const POD_PREFIX = { 4: 32, 6: 128 } as const;

/** The default route's destination per family, as CNI results spell it. */
export const DEFAULT_DST = { 4: '0.0.0.0/0', 6: '::/0' } as const;
