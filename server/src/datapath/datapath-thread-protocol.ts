/**
 * What podwired's event loop and its datapath thread (datapath-thread.ts) say to each other:
 * one request per Datapath call, one reply each, plus unsolicited notes (counters, batch
 * sizes). Everything is plain data (structured clone); errors travel as WireError and come
 * back as the same types (CniError, RtnlError) so callers cannot tell a thread was in between.
 */
import { CniError, CniCodeValue } from '../cni/cni-error';
import { RtnlError } from '../rtnl/rtnl-error';
import type { KernelAddress, KernelLink, KernelRoute } from '../rtnl/kernel-objects';
import type { HostRouteChange } from './host-routes';
import type { RouteChangeOutcome } from './host-programmer';
import type { PodAddress, PodNetworkSpec, StrayHostRoute, WiredPod } from './datapath';

/** Given to the thread when it starts. */
export interface DatapathThreadData {
  ownerTag: string;
  /**
   * Read the host as soon as the thread is up, and answer the first readHost() with it:
   * podwired's start-up reconcile then does not wait for the dumps (taken while the event
   * loop is still loading its modules).
   */
  prefetchHostRead?: boolean;
}

/** The calls, by name, with their arguments and what they answer. */
export interface DatapathCalls {
  setUp: { args: [spec: PodNetworkSpec]; value: WiredPod };
  tearDown: { args: [hostIfname: string]; value: void };
  detach: { args: [hostIfname: string, addresses: readonly PodAddress[]]; value: void };
  check: { args: [spec: PodNetworkSpec]; value: void };
  podProblems: { args: [spec: PodNetworkSpec]; value: string[] };
  /** The host's tables as plain data: the event loop builds the HostView from them. */
  readHost: { args: []; value: HostTables };
  removeStrayRoutes: { args: [routes: readonly StrayHostRoute[]]; value: Array<{ route: StrayHostRoute; error: string }> };
  applyRouteChanges: { args: [changes: readonly HostRouteChange[]]; value: RouteChangeOutcome[] };
  close: { args: []; value: void };
}

export type CallName = keyof DatapathCalls;

/**
 * The host as reconcile and the peer route table read it: every link and address, and the
 * main table's routes (pod and peer routes live there; the local table's per-address and
 * multicast routes, several per veth, are left on the thread instead of being copied over).
 */
export interface HostTables {
  links: readonly KernelLink[];
  addresses: readonly KernelAddress[];
  routes: readonly KernelRoute[];
}

export interface CallMessage<N extends CallName = CallName> {
  id: number;
  call: N;
  args: DatapathCalls[N]['args'];
  /**
   * When the caller gives up (Date.now() ms): the thread answers CNI error 11 then if the
   * call is still running, and undoes what it completes after that (datapath-thread-runner.ts).
   */
  deadline: number;
}

/** Facts a notice carries (plain values, for the log). */
export type NoticeFields = Record<string, string | number | boolean>;

/** What the thread sends back: a reply to a call, or a note of its own. */
export type ThreadMessage =
  | { kind: 'ready' }
  | { kind: 'reply'; id: number; value?: unknown; error?: WireError }
  | { kind: 'counters'; pendingDestructions: number; netnsSockets: number }
  | { kind: 'batch'; batch: 'link-delete' | 'route'; size: number }
  /** Something podwired's log should say (a call done after its deadline, a worker restarted). */
  | { kind: 'notice'; message: string; fields: NoticeFields };

export type WireError =
  | { type: 'cni'; code: CniCodeValue; message: string; details: string }
  | { type: 'rtnl'; operation: string; errno: number; code: string; message: string }
  | { type: 'error'; message: string };

export function toWire(err: unknown): WireError {
  if (err instanceof CniError) return { type: 'cni', code: err.code, message: err.message, details: err.details };
  if (err instanceof RtnlError) return { type: 'rtnl', operation: err.operation, errno: err.errno, code: err.code, message: err.message };
  return { type: 'error', message: err instanceof Error ? err.message : String(err) };
}

export function fromWire(wire: WireError): Error {
  if (wire.type === 'cni') return new CniError(wire.code, wire.message, wire.details);
  if (wire.type === 'rtnl') {
    const err = new RtnlError(wire.operation, wire.errno, wire.code);
    err.message = wire.message;
    return err;
  }
  return new Error(wire.message);
}
