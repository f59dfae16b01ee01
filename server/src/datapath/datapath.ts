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
   * Removes the host end (and with it the pod end) and the host routes. Idempotent:
   * anything already gone is fine, and so is a pod netns that no longer exists.
   */
  tearDown(hostIfname: string, addresses: PodAddress[]): Promise<void>;
  /** Verifies the pod is wired as setUp left it; throws CniError(CheckFailed) naming what is wrong. */
  check(spec: PodNetworkSpec): Promise<void>;
  close(): void;
}

/** The link-local gateway every pod routes through; the host end of its veth answers for it. */
export const POD_GATEWAY_V4 = '169.254.1.1';
