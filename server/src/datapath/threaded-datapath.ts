import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AttachmentKey } from '@podwire/ipam-store';
import { endWorker } from '../end-worker';
import type { BatchObserver } from './batching-host-programmer';
import type { Datapath, HostView, PodAddress, PodNetworkSpec, StrayHostRoute, WiredPod } from './datapath';
import type { CallMessage, CallName, DatapathCalls, DatapathThreadData, HostTables, ThreadMessage } from './datapath-thread-protocol';
import { fromWire } from './datapath-thread-protocol';
import type { RouteChangeOutcome } from './host-programmer';
import type { HostRouteChange } from './host-routes';
import { hostVethName, ownerAlias } from './link-identity';

export interface ThreadedDatapathOptions {
  ownerTag: string;
  /** The thread reads the host at once and answers the first readHost() with that (DatapathThreadData). */
  prefetchHostRead?: boolean;
  /** Told every batch the thread's host programmer sends (metrics). */
  onBatch?: BatchObserver;
  /** The thread died (a crash in it, not close()): nothing can be wired any more. */
  onExit?: (reason: string) => void;
}

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

/**
 * The Datapath podwired's handlers use: the routed veth datapath running on its own thread
 * (datapath-thread.ts), so the kernel work of concurrent calls overlaps with the event
 * loop's gRPC and store work, on both cores. Each call is one message there and one back;
 * errors come back as the CniError or RtnlError they were. The counters the event loop
 * reads synchronously (pending destructions, open netns sockets) are mirrored from the
 * thread's notes. Peer routes go through the same thread's programmer (applyRouteChanges).
 */
export class ThreadedDatapath implements Datapath {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private readonly alias: string;
  private nextId = 1;
  private pending = 0;
  private netnsSockets = 0;
  private gone: string | undefined;
  private closing = false;

  private constructor(opts: ThreadedDatapathOptions) {
    this.alias = ownerAlias(opts.ownerTag);
    const data: DatapathThreadData = { ownerTag: opts.ownerTag, ...(opts.prefetchHostRead ? { prefetchHostRead: true } : {}) };
    this.worker = new Worker(path.join(__dirname, 'datapath-thread.js'), { workerData: data, resourceLimits: DATAPATH_THREAD_LIMITS });
    this.worker.on('message', (msg: ThreadMessage) => {
      if (msg.kind === 'reply') {
        const w = this.waiting.get(msg.id);
        this.waiting.delete(msg.id);
        if (msg.error) w?.reject(fromWire(msg.error));
        else w?.resolve(msg.value);
      } else if (msg.kind === 'counters') {
        this.pending = msg.pendingDestructions;
        this.netnsSockets = msg.netnsSockets;
      } else if (msg.kind === 'batch') {
        opts.onBatch?.(msg.batch, msg.size);
      }
    });
    this.worker.on('error', (err) => this.fail(`the datapath thread failed: ${err.message}`));
    this.worker.on('exit', (code) => {
      const reason = `the datapath thread exited with code ${code}`;
      const unexpected = !this.closing;
      this.fail(reason);
      if (unexpected) opts.onExit?.(reason);
    });
  }

  /** Starts the thread; resolves once its sockets are open (rejects when they cannot be). */
  static start(opts: ThreadedDatapathOptions): Promise<ThreadedDatapath> {
    const dp = new ThreadedDatapath(opts);
    return new Promise((resolve, reject) => {
      const onMessage = (msg: ThreadMessage): void => {
        if (msg.kind !== 'ready') return;
        dp.worker.off('message', onMessage);
        dp.worker.off('exit', onExit);
        resolve(dp);
      };
      const onExit = (): void => reject(new Error(dp.gone ?? 'the datapath thread exited while starting'));
      dp.worker.on('message', onMessage);
      dp.worker.once('exit', onExit);
    });
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

  setUp(spec: PodNetworkSpec): Promise<WiredPod> {
    return this.call('setUp', spec);
  }

  tearDown(hostIfname: string): Promise<void> {
    return this.call('tearDown', hostIfname);
  }

  detach(hostIfname: string, addresses: readonly PodAddress[]): Promise<void> {
    return this.call('detach', hostIfname, addresses);
  }

  check(spec: PodNetworkSpec): Promise<void> {
    return this.call('check', spec);
  }

  podProblems(spec: PodNetworkSpec): Promise<string[]> {
    return this.call('podProblems', spec);
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
    return routedVethHostView(new NetnsSnapshot(t.links, t.addresses, t.routes, []), this.alias);
  }

  removeStrayRoutes(routes: readonly StrayHostRoute[]): Promise<Array<{ route: StrayHostRoute; error: string }>> {
    return this.call('removeStrayRoutes', routes);
  }

  /** Host route changes through the thread's batched programmer (the peer router's RouteChanger). */
  applyRouteChanges(changes: readonly HostRouteChange[]): Promise<RouteChangeOutcome[]> {
    return this.call('applyRouteChanges', changes);
  }

  /** Closes the datapath in its thread (reaper drained, workers and sockets closed), then ends the thread. Idempotent. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.gone) return;
    // The thread closes its datapath, programmer and sockets, answers, and ends by itself.
    await endWorker(this.worker, () => this.call('close'));
  }

  private call<N extends CallName>(name: N, ...args: DatapathCalls[N]['args']): Promise<DatapathCalls[N]['value']> {
    if (this.gone) return Promise.reject(new Error(this.gone));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      const msg: CallMessage<N> = { id, call: name, args };
      this.worker.postMessage(msg);
    });
  }

  private fail(reason: string): void {
    this.gone ??= reason;
    for (const w of this.waiting.values()) w.reject(new Error(reason));
    this.waiting.clear();
  }
}
