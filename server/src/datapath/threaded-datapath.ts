import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AttachmentKey } from '@podwire/ipam-store';
import { CniCode, CniError } from '../cni/cni-error';
import { WorkerNotEnded, endWorker } from '../end-worker';
import type { BatchObserver } from './batching-host-programmer';
import type { Datapath, HostView } from './datapath';
import type {
  CallImplementations,
  CallMessage,
  CallName,
  DatapathCalls,
  DatapathThreadData,
  HostTables,
  NoticeFields,
  ThreadMessage,
  ThreadNotes,
} from './datapath-thread-protocol';
import { fromWire } from './datapath-thread-protocol';
import { type LinkOwner, hostVethName, linkOwner } from './link-identity';

export interface ThreadedDatapathOptions {
  ownerTag: string;
  /** The thread reads the host at once and answers the first readHost() with that (DatapathThreadData). */
  prefetchHostRead?: boolean;
  /** Told every batch the thread's host programmer sends (metrics). */
  onBatch?: BatchObserver;
  /**
   * The thread died (a crash in it, not close()) or is stuck (it did not answer a call by
   * its deadline and a grace period): nothing can be wired any more.
   */
  onExit?: (reason: string) => void;
  /**
   * The thread is stuck and may never end (stranded() from now on): told once, so whoever
   * exits the process can make sure the exit does not wait for it (stranded-thread-exit.ts).
   */
  onStranded?: () => void;
  /** Told what the thread's log lines say (a call finished after its deadline, a worker restarted). */
  onNotice?: (message: string, fields: NoticeFields) => void;
  /** Every call's deadline, from when it is sent (DATAPATH_CALL_DEADLINE_MS; close: CLOSE_DEADLINE_MS). */
  callDeadlineMs?: number;
  /** How long past a call's deadline the thread may stay silent before it counts as stuck (STUCK_GRACE_MS). */
  stuckGraceMs?: number;
  /** Tests: another script serving the same protocol (datapath-thread-runner.ts) instead of datapath-thread.js. */
  threadFile?: string;
}

/**
 * A datapath call's deadline. Below the shim's call timeout (120 s by default), so the
 * runtime gets a CNI error, not a timeout; above what a healthy call can take (waiting for a
 * detached pair, 3 s; a link delete through the delete worker, bounded at 30 s).
 */
export const DATAPATH_CALL_DEADLINE_MS = 60_000;
/** Closing the thread's datapath: the reaper's drain (2 s) and the delete worker's end (2 s + 2 s). */
export const CLOSE_DEADLINE_MS = 10_000;
/**
 * Past a call's deadline the thread answers it by itself (CNI error 11). No answer even this
 * much later means its event loop is blocked (a system call that does not return): stuck.
 */
export const STUCK_GRACE_MS = 10_000;

/**
 * The thread's heap: its objects are short-lived (requests, replies, one host snapshot at
 * start-up). 16 MB of young generation keeps the start-up snapshot fast (4 MB cost ~70 ms
 * more on a host of 4,000 links: scavenges of objects that survive until they are sent);
 * the old generation leaves room for a snapshot of a host with tens of thousands of routes.
 * Beyond it the thread dies and podwired exits (onExit).
 */
const DATAPATH_THREAD_LIMITS = { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 256 };

interface Waiting {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

function stuckError(reason: string): CniError {
  return new CniError(CniCode.TryAgainLater, "podwired's datapath thread is stuck; podwired restarts", reason);
}

/**
 * The calls ThreadedDatapath passes to the thread as they are: every thread call (each async
 * Datapath method, and applyRouteChanges, the peer router's RouteChanger) but those it
 * answers itself. Merged into the class's type below; made at start from the names the
 * thread says it answers.
 */
type ForwardedCalls = CallImplementations<Exclude<CallName, LocalCallName>>;
/** Thread calls ThreadedDatapath answers with a method of its own. */
type LocalCallName = 'readHost' | 'close';

/**
 * The Datapath podwired's handlers use: the routed veth datapath running on its own thread
 * (datapath-thread.ts), so the kernel work of concurrent calls overlaps with the event
 * loop's gRPC and store work, on both cores. Each call is one message there and one back;
 * errors come back as the CniError or RtnlError they were. Calls are forwarded by name: a
 * new async Datapath method needs no code here (see datapath-thread-protocol.ts). The
 * counters the event loop reads synchronously (pending destructions, open netns sockets) are
 * mirrored from the thread's notes. Peer routes go through the same thread's programmer
 * (applyRouteChanges).
 *
 * Every call has a deadline: the thread answers CNI error 11 by then and undoes what the call
 * completes later (datapath-thread-runner.ts). A thread that does not even do that within
 * STUCK_GRACE_MS more is stuck: its callers fail and onExit is told (podwired exits, and
 * its next start reconciles). close() is bounded; a thread it cannot end is stranded().
 */
class ThreadedDatapathCore {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private readonly owner: LinkOwner;
  private nextId = 1;
  private pending = 0;
  private netnsSockets = 0;
  private gone: string | undefined;
  private closing = false;
  private exited = false;
  /** Why the thread counts as stuck (it stays so: a stuck thread is never trusted again). */
  private stuck: string | undefined;
  private readonly deadlineMs: number;
  private readonly graceMs: number;

  private constructor(private readonly opts: ThreadedDatapathOptions) {
    this.owner = linkOwner(opts.ownerTag);
    this.deadlineMs = opts.callDeadlineMs ?? DATAPATH_CALL_DEADLINE_MS;
    this.graceMs = opts.stuckGraceMs ?? STUCK_GRACE_MS;
    const data: DatapathThreadData = { ownerTag: opts.ownerTag, ...(opts.prefetchHostRead ? { prefetchHostRead: true } : {}) };
    this.worker = new Worker(opts.threadFile ?? path.join(__dirname, 'datapath-thread.js'), { workerData: data, resourceLimits: DATAPATH_THREAD_LIMITS });
    this.worker.on('message', (msg: ThreadMessage) => {
      if (msg.kind === 'reply') {
        // The notes first: a caller reading the counters or metrics after its reply sees them.
        if (msg.notes) this.note(msg.notes);
        const w = this.waiting.get(msg.id);
        this.waiting.delete(msg.id);
        if (msg.error) w?.reject(fromWire(msg.error));
        else w?.resolve(msg.value);
      } else if (msg.kind === 'notes') {
        this.note(msg.notes);
      } else if (msg.kind === 'notice') {
        opts.onNotice?.(msg.message, msg.fields);
      }
    });
    this.worker.on('error', (err) => this.fail(`the datapath thread failed: ${err.message}`));
    this.worker.on('exit', (code) => {
      this.exited = true;
      const reason = `the datapath thread exited with code ${code}`;
      const unexpected = !this.closing && this.stuck === undefined;
      this.fail(reason);
      if (unexpected) opts.onExit?.(reason);
    });
  }

  /** Starts the thread; resolves once its sockets are open (rejects when they cannot be). */
  static start(opts: ThreadedDatapathOptions): Promise<ThreadedDatapath> {
    const dp = new ThreadedDatapathCore(opts);
    return new Promise((resolve, reject) => {
      const onMessage = (msg: ThreadMessage): void => {
        if (msg.kind !== 'ready') return;
        dp.forward(msg.calls);
        dp.worker.off('message', onMessage);
        dp.worker.off('exit', onExit);
        // forward() has just made a method for every forwarded call.
        resolve(dp as ThreadedDatapath);
      };
      const onExit = (): void => reject(new Error(dp.gone ?? 'the datapath thread exited while starting'));
      dp.worker.on('message', onMessage);
      dp.worker.once('exit', onExit);
    });
  }

  /** The thread's notes: the counters it mirrors, the batches its programmer sent. */
  private note(notes: ThreadNotes): void {
    if (notes.counters) {
      this.pending = notes.counters.pendingDestructions;
      this.netnsSockets = notes.counters.netnsSockets;
    }
    for (const b of notes.batches ?? []) this.opts.onBatch?.(b.batch, b.size);
  }

  /** Open netlink sockets inside pod netns (the thread's cache), as last reported. */
  netnsSocketCacheSize(): number {
    return this.netnsSockets;
  }

  pendingDestructions(): number {
    return this.pending;
  }

  hostIfname(key: AttachmentKey): string {
    return hostVethName(key.network, key.containerId, key.ifname);
  }

  async readHost(): Promise<HostView> {
    return this.hostViewOf(await this.readHostTables());
  }

  /** The host's tables as the thread read them (the first call: the read it took at start). */
  readHostTables(): Promise<HostTables> {
    return this.call('readHost');
  }

  /** Reconcile's view of tables readHostTables() answered. */
  hostViewOf(t: HostTables): HostView {
    // Loaded here, not at the top: podwired starts this thread before it loads the rest of
    // itself (main.ts), and these pull in npm netlink.
    const { NetnsSnapshot } = require('../rtnl/snapshot.js') as typeof import('../rtnl/snapshot.js');
    const { routedVethHostView } = require('./routed-veth.js') as typeof import('./routed-veth.js');
    return routedVethHostView(new NetnsSnapshot(t.links, t.addresses, t.routes, [], t.interrupted), this.owner);
  }

  /**
   * Closes the datapath in its thread (reaper drained, workers and sockets closed), then ends
   * the thread; bounded (end-worker.ts), a stuck thread is terminated. Idempotent. Rejects
   * with WorkerNotEnded when the thread would not end: see stranded().
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.exited) return;
    // The thread closes its datapath, programmer and sockets, answers, and ends by itself.
    // A thread that is gone (stuck, failed) is only terminated.
    try {
      await endWorker(this.worker, this.gone ? () => undefined : () => this.call('close'));
    } catch (err) {
      if (err instanceof WorkerNotEnded) this.markStuck(`the datapath thread is stuck: ${err.why}`);
      throw err;
    }
  }

  /**
   * True when the thread is stuck and still running: process.exit() would wait for it
   * forever (Node joins every thread on exit, and a thread blocked in a system call never
   * ends), so whoever exits the process must not leave it to process.exit() (early-start.ts).
   */
  stranded(): boolean {
    return !this.exited && this.stuck !== undefined;
  }

  /** Makes a method for each call the thread answers that this class does not answer itself. */
  private forward(calls: readonly CallName[]): void {
    for (const name of calls) {
      if (name in this) continue;
      Object.defineProperty(this, name, { value: (...args: DatapathCalls[typeof name]['args']) => this.call(name, ...args) });
    }
  }

  private call<N extends CallName>(name: N, ...args: DatapathCalls[N]['args']): Promise<DatapathCalls[N]['value']> {
    if (this.gone) return Promise.reject(this.stuck ? stuckError(this.stuck) : new Error(this.gone));
    const deadlineMs = name === 'close' ? Math.min(CLOSE_DEADLINE_MS, this.deadlineMs) : this.deadlineMs;
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      // The thread answers by the deadline; silence this much later means it is stuck.
      const backstop = setTimeout(() => {
        if (!this.waiting.has(id)) return;
        this.declareStuck(`it gave no answer to ${name} within ${deadlineMs + this.graceMs} ms (its deadline was ${deadlineMs} ms)`);
      }, deadlineMs + this.graceMs);
      this.waiting.set(id, {
        resolve: (v) => {
          clearTimeout(backstop);
          resolve(v as DatapathCalls[N]['value']);
        },
        reject: (e) => {
          clearTimeout(backstop);
          reject(e);
        },
      });
      const msg: CallMessage<N> = { id, call: name, args, deadline: Date.now() + deadlineMs };
      this.worker.postMessage(msg);
    });
  }

  /** The thread's event loop no longer runs: fail every caller now, and have podwired exit (onExit). */
  private declareStuck(why: string): void {
    if (this.stuck !== undefined) return;
    const reason = `the datapath thread is stuck: ${why}`;
    this.markStuck(reason);
    this.fail(reason, stuckError(reason));
    if (!this.closing) this.opts.onExit?.(reason);
  }

  private markStuck(reason: string): void {
    if (this.stuck !== undefined) return;
    this.stuck = reason;
    this.opts.onStranded?.();
  }

  private fail(reason: string, err: Error = new Error(reason)): void {
    this.gone ??= reason;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}

/** Compiles only when T is a whole Datapath. */
type WholeDatapath<T extends Datapath> = T;
/** A started ThreadedDatapath: the class's own methods and a method for every forwarded call (made by forward() at start). */
export type ThreadedDatapath = WholeDatapath<ThreadedDatapathCore & ForwardedCalls>;
export const ThreadedDatapath = ThreadedDatapathCore;
