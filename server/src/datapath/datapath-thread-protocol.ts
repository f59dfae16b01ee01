/**
 * What podwired's event loop and its datapath thread (datapath-thread.ts) say to each other:
 * one request per Datapath call, one reply each carrying the thread's notes (counters, batch
 * sizes) since its last message, notes alone when idle and no reply carried them, and
 * notices for the log. Everything is plain data (structured clone); errors travel as WireError
 * and come back as the same types (CniError, RtnlError) so callers cannot tell a thread was in
 * between.
 *
 * The calls are derived from the Datapath interface: every method answering a Promise is a
 * call of the same name, arguments and answer (DatapathCalls), so a new Datapath method
 * crosses the thread with no edit here (nor in threaded-datapath.ts or the thread runner).
 * Only calls that cross as something else, or are no Datapath method, are listed
 * (ThreadOwnCalls). Synchronous methods do not cross: the event loop cannot wait for them
 * (ThreadedDatapath answers them itself, or mirrors the thread's counters).
 */
import { CniError, type CniCodeValue } from '../cni/cni-error';
import { RtnlError } from '../rtnl/rtnl-error';
import type { KernelAddress, KernelLink, KernelRoute } from '../rtnl/kernel-objects';
import type { HostRouteChange } from './host-routes';
import type { RouteChangeOutcome } from './host-programmer';
import type { Datapath } from './datapath';

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

/** The names of T's methods that answer a Promise. */
export type AsyncMethodName<T> = { [K in keyof T]-?: T[K] extends (...args: never[]) => Promise<unknown> ? K : never }[keyof T];

/** Each method of T that answers a Promise, as a call: its arguments and what it answers. */
export type CallsOf<T> = { [K in AsyncMethodName<T>]: T[K] extends (...args: infer A) => Promise<infer V> ? { args: A; value: V } : never };

/**
 * Calls the thread answers as something else than the Datapath method of that name, or that
 * are no Datapath method: readHost crosses as plain tables (a HostView holds functions,
 * which do not cross; the event loop builds it), and the peer router's route changes go to
 * the thread's host programmer.
 */
export interface ThreadOwnCalls {
  readHost: { args: []; value: HostTables };
  applyRouteChanges: { args: [changes: readonly HostRouteChange[]]; value: RouteChangeOutcome[] };
}

/** The calls, by name, with their arguments and what they answer. */
export type DatapathCalls = {
  [N in AsyncMethodName<Datapath> | keyof ThreadOwnCalls]: N extends keyof ThreadOwnCalls
    ? ThreadOwnCalls[N]
    : N extends keyof CallsOf<Datapath>
      ? CallsOf<Datapath>[N]
      : never;
};

export type CallName = keyof DatapathCalls;

/** The Datapath calls the thread answers with its datapath's method of the same name. */
export type ForwardedCallName = Exclude<CallName, keyof ThreadOwnCalls>;

/** Functions answering the calls `N`. */
export type CallImplementations<N extends CallName = CallName> = { [K in N]: (...args: DatapathCalls[K]['args']) => Promise<DatapathCalls[K]['value']> };

/**
 * The host as reconcile and the peer route table read it: every link and address, and the
 * main table's routes (pod and peer routes live there; the local table's per-address and
 * multicast routes, several per veth, are left on the thread instead of being copied over).
 */
export interface HostTables {
  links: readonly KernelLink[];
  addresses: readonly KernelAddress[];
  routes: readonly KernelRoute[];
  /** Taken although every try of a dump was interrupted (HostView.interrupted). */
  interrupted: boolean;
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

/** The counters the event loop mirrors (it reads them synchronously). */
export interface ThreadCounters {
  pendingDestructions: number;
  netnsSockets: number;
}

/** A batch the thread's host programmer sent (for the batch-size metrics). */
export interface BatchNote {
  batch: 'link-delete' | 'route';
  size: number;
}

/**
 * The thread's notes since its last message: the counters when they changed, the batches
 * sent. They ride on the next reply, applied before the reply settles (a caller reading the
 * counters or metrics after its call sees them), so a call costs one postMessage, each of
 * which wakes the event loop; they go alone (kind 'notes') on the runner's interval when no
 * call is waiting for its reply (the reaper's batches, counters changing between calls). A
 * counter that changes and changes back within one call (a pod netns socket open during it)
 * is not reported.
 */
export interface ThreadNotes {
  counters?: ThreadCounters;
  batches?: BatchNote[];
}

/** What the thread sends back: a reply to a call, notes of its own, or a notice. */
export type ThreadMessage =
  /** Up, answering these calls (the thread's own and its datapath's methods). */
  | { kind: 'ready'; calls: CallName[] }
  | { kind: 'reply'; id: number; value?: unknown; error?: WireError; notes?: ThreadNotes }
  | { kind: 'notes'; notes: ThreadNotes }
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
