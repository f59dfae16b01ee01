/**
 * The datapath contract: what the verb handlers and reconcile ask of whatever wires pods
 * (the routed veth today; a bridge mode or a multi-interface layout could slot in behind the
 * same interface). Handlers orchestrate the lease store and the datapath; everything about
 * the kernel layout (names, gateways, routes, what CHECK verifies) is the datapath's.
 *
 * A new method is three edits: declared here, implemented by the datapath (or by the layer
 * owning the kernel objects it touches, see datapath-thread.ts), and in FakeDatapath. A
 * method answering a Promise crosses to podwired's datapath thread by name with no other
 * code (datapath-thread-protocol.ts derives the calls from this interface); a synchronous
 * one cannot (the event loop does not wait for the thread): ThreadedDatapath answers it
 * itself, and the compiler asks for it there.
 */
import type { AttachmentKey } from '@podwire/ipam-store';
import type { ResultInterface, ResultIp, ResultRoute } from '../cni/cni-result';
import type { IpamRoute } from '../cni/ipam-routes';

export interface PodAddress {
  /** Plain address, e.g. "10.22.0.7". */
  address: string;
  family: 4 | 6;
}

/** One pod interface to wire: an attachment key, where, and with which addresses. */
export interface PodNetworkSpec {
  /** CNI_NETNS. */
  netnsPath: string;
  /** CNI_IFNAME: the interface name inside the pod. */
  podIfname: string;
  /** The host end's name, as hostIfname() gave it for the attachment key. */
  hostIfname: string;
  mtu: number;
  addresses: PodAddress[];
  /** The pod end's MAC ("aa:bb:..."); the kernel picks one when absent. */
  podMac?: string;
  /**
   * The network's `ipam.routes`: exactly these routes on the pod interface, and no default
   * route. Absent: a default route per family through the gateway.
   */
  routes?: readonly IpamRoute[];
}

/** The parts of the CNI result the datapath decides: interfaces, IPs (indexes into interfaces) and routes. */
export interface WiredPod {
  interfaces: ResultInterface[];
  ips: ResultIp[];
  routes: ResultRoute[];
}

/** A host end this server created (it carries the server's owner tag). */
export interface OwnedHostLink {
  name: string;
  index: number;
}

/** A route of this server's on one of its host ends that no attachment accounts for. */
export interface StrayHostRoute {
  address: string;
  family: 4 | 6;
  hostIfname: string;
  hostIndex: number;
}

/**
 * The host's kernel state read once (one dump per table), answering reconcile's questions
 * with no further kernel request.
 */
export interface HostView {
  /**
   * The host's tables kept changing while they were read (every try of a dump interrupted, on
   * a host where something else creates and deletes links all the time) and the read was
   * taken as it was: what it shows existed then, but an object changed meanwhile may be
   * missing from it. Acting on what it shows stays safe (this server's own links and routes
   * do not change while it reconciles); a problem it reports may be the read's.
   */
  readonly interrupted: boolean;
  /** Host ends carrying this server's owner tag. */
  ownedLinks(): OwnedHostLink[];
  /** What is wrong on the host side of a ready attachment (empty: as ADD left it). */
  hostProblems(spec: PodNetworkSpec): string[];
  /** This server's pod routes on its host ends whose address the attachment of that end does not hold. */
  strayRoutes(ready: readonly PodNetworkSpec[]): StrayHostRoute[];
}

export interface Datapath {
  /** The host end's name for an attachment: deterministic, so DEL and GC find it from the key alone. */
  hostIfname(key: AttachmentKey): string;
  /** Wires the pod; on any failure undoes everything it did, then throws a CniError. */
  setUp(spec: PodNetworkSpec): Promise<WiredPod>;
  /**
   * Removes the host end; the kernel takes the pod end and every route through either end
   * with it. Idempotent: anything already gone is fine, and so is a pod netns that no longer
   * exists.
   */
  tearDown(hostIfname: string): Promise<void>;
  /**
   * DEL's and GC's teardown: when it returns the pod's host routes are gone, the host end is
   * down and renamed (so an ADD of the same key can create its own at once), and the pair is
   * being destroyed in the background, in batches (one RCU grace period per batch). Idempotent
   * as tearDown; `addresses` are the pod's (their host routes are removed explicitly).
   */
  detach(hostIfname: string, addresses: readonly PodAddress[]): Promise<void>;
  /** Veth pairs detached and not destroyed yet. */
  pendingDestructions(): number;
  /** Verifies the pod is wired as setUp left it (host and pod side); throws CniError(CheckFailed) naming what is wrong. */
  check(spec: PodNetworkSpec): Promise<void>;
  /** What is wrong inside the pod's netns (empty: as ADD left it). Throws when the netns cannot be entered. */
  podProblems(spec: PodNetworkSpec): Promise<string[]>;
  /** One read of the host's links, addresses and routes, for reconcile. */
  readHost(): Promise<HostView>;
  /** Removes stray routes (fine when already gone); returns the ones that could not be removed, with the reason. */
  removeStrayRoutes(routes: readonly StrayHostRoute[]): Promise<Array<{ route: StrayHostRoute; error: string }>>;
  close(): Promise<void>;
}
