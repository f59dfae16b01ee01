/**
 * The IpamStore interface and its record types.
 */
import type { IpFamily } from './ip-address';
import type { RangeSet } from './ip-range';

/** Identifies one attachment (one interface of one container on one network). */
export interface AttachmentKey {
  readonly network: string;
  readonly containerId: string;
  readonly ifname: string;
}

/**
 * `ready`: an ADD completed (the store writes nothing else). `pending`: written only by an
 * older podwired, whose ADD recorded the attachment before wiring the pod and marked it
 * ready after (two commits); a database from then may still hold such rows, which
 * podwired's start-up reconcile rolls back (server/src/startup/reconcile.ts).
 */
export type AttachmentState = 'pending' | 'ready';

/** What allocate() needs to record a new attachment. */
export interface NewAttachment extends AttachmentKey {
  readonly netns: string;
  readonly hostIfname: string;
  readonly podNamespace?: string;
  readonly podName?: string;
  readonly podUid?: string;
  readonly infraContainerId?: string;
  /** Milliseconds since the epoch; defaults to Date.now(). */
  readonly createdAt?: number;
}

export interface Attachment extends AttachmentKey {
  readonly netns: string;
  readonly hostIfname: string;
  readonly state: AttachmentState;
  /** CNI result JSON, written by commit() (absent on an old `pending` row). */
  readonly result?: string;
  readonly podNamespace?: string;
  readonly podName?: string;
  readonly podUid?: string;
  readonly infraContainerId?: string;
  readonly createdAt: number;
}

export interface Lease extends AttachmentKey {
  /** Canonical text: "10.22.1.7" or "fd00::5". */
  readonly address: string;
  readonly family: IpFamily;
  /** Prefix length of the subnet the address came from. */
  readonly prefixLength: number;
  /** Gateway of the range the address came from, if it has one. */
  readonly gateway?: string;
  /** Index of the range set (position in the configuration) the address came from. */
  readonly setIndex: number;
}

export interface AttachmentWithLeases {
  readonly attachment: Attachment;
  /** Ordered by setIndex. */
  readonly leases: Lease[];
}

export interface AllocateOptions {
  /** Plain IP addresses to hand out instead of allocating; at most one per range set. */
  readonly requested?: readonly string[];
}

/** Leases chosen by allocate(), held in memory until commit() or release(). */
export interface Allocation {
  readonly leases: readonly Lease[];
  /**
   * One transaction: the attachment (state `ready`, with `resultJson`) and its leases; the
   * hold ends. Throws IpamError 'exists' if another connection wrote the same key meanwhile,
   * 'requested-in-use' (a requested address) or 'conflict' (an address the store chose) if
   * it leased one of the addresses, in any network, naming the holder; 'closed' if the store
   * is closed. A commit that throws keeps the hold: release() it, or keepPending().
   */
  commit(resultJson: string): void;
  /**
   * One transaction: the attachment as `pending` (no result) with its leases; the hold ends.
   * For a caller that could not prove its kernel state gone (podwired's ADD whose tear-down
   * failed): the addresses stay leased until DEL, GC or the next start's reconcile removes
   * the attachment. Throws as commit() does.
   */
  keepPending(): void;
  /** Drop the hold without writing anything (idempotent; a no-op once written). */
  release(): void;
}

export interface AttachmentFilter {
  readonly network?: string;
  readonly state?: AttachmentState;
}

export interface RangeSetUsage {
  /** The set's canonical identity (RangeSet.id). */
  readonly set: string;
  /**
   * Addresses inside the set's ranges leased in ANY network, each counted once: addresses
   * are unique per node, so these are what the set can no longer hand out, and
   * `size - used` is what an ADD of any network over these ranges can still get (STATUS
   * and the pool metrics rely on that). Two networks over the same ranges report the same
   * count; summing `used` across networks double-counts them.
   */
  readonly used: number;
  /**
   * Allocatable addresses of the set, capped at Number.MAX_SAFE_INTEGER
   * (an IPv6 /64 has 2^64). RangeSet.size has the exact BigInt.
   */
  readonly size: number;
}

export interface IpamStore {
  /**
   * The store's one way to lease. Choose one address from each range set (a requested
   * address fills its set's slot, the others are allocated round-robin) and write nothing:
   * the addresses are held in this store's memory (no other allocate() of this store hands
   * them out) until the returned allocation is committed or released. commit() records the
   * attachment as `ready` with its result and its leases in ONE transaction. Made for a
   * caller whose other state is its own journal (podwired: a host veth it owns without a
   * ready attachment is removed at its next start), so a crash before commit() loses
   * nothing the kernel still backs.
   *
   * Addresses are unique on the node, across networks: an address leased or held for any
   * network is neither allocated nor granted on request. Leases are returned in set order.
   * Throws IpamError 'exists', 'requested-not-in-range', 'requested-in-use' (naming the
   * holder), 'exhausted' or 'invalid-argument'; nothing is held on error.
   */
  allocate(att: NewAttachment, sets: readonly RangeSet[], opts?: AllocateOptions): Allocation;
  /** Delete the attachment and its leases in one transaction; undefined if absent. */
  remove(key: AttachmentKey): AttachmentWithLeases | undefined;
  get(key: AttachmentKey): AttachmentWithLeases | undefined;
  listAttachments(filter?: AttachmentFilter): Attachment[];
  listLeases(network?: string): Lease[];
  /**
   * Usage of each set, node-wide (RangeSetUsage.used). `network` names the network whose
   * configuration the sets are; the counts do not depend on it.
   */
  usage(network: string, sets: readonly RangeSet[]): RangeSetUsage[];
  close(): void;
}
