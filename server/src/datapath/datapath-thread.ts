/**
 * podwired's datapath thread: the routed veth datapath, its batched host programmer, its
 * reaper and every netlink socket they use live here, so the kernel's share of wiring and
 * tearing down pods (it runs inside sendmsg(2), on the sending thread) and the entering of
 * pod netns (setns(2) is per thread) never hold up the event loop that serves gRPC. The
 * event loop talks to it through ThreadedDatapath (threaded-datapath.ts); every Datapath call
 * is answered here by the datapath's method of that name (datapath-thread-runner.ts).
 *
 * Layers to come (nftables rules, a VXLAN device) slot in as the routed veth does: each a
 * class in its own file owning its kernel objects, working through sockets made here (and
 * closed by sockets.closeAll()), closed by `close` below in reverse order of creation. The
 * datapath served then composes them (setUp asks each layer in turn and undoes the earlier
 * ones when a later one fails); a method of one layer's own is a Datapath method like any
 * other, answered by name. What a late setUp leaves is undone through `undoLate` (each layer
 * undoing its part).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { WorkerLinkDeleter } from '../rtnl/link-deleter';
import { RT_TABLE_MAIN } from '../rtnl/kernel-objects';
import { RTNL_TIMEOUT_MS } from '../rtnl/rtnl-socket';
import { RtnlSockets } from '../rtnl/rtnl-sockets';
import { BatchingHostProgrammer } from './batching-host-programmer';
import type { BatchNote, DatapathThreadData, HostTables, ThreadMessage } from './datapath-thread-protocol';
import { serveDatapathCalls } from './datapath-thread-runner';
import { rtnlRouteSender } from './host-programmer';
import { undoLateSetUp } from './late-set-up';
import { NetnsOpener } from './netns';
import { RoutedVethDatapath } from './routed-veth';

/** When the link-delete worker boots if no delete asked for it before (see WorkerLinkDeleter's spawnAfterMs). */
const DELETE_WORKER_SPAWN_AFTER_MS = 5_000;

function run(port: NonNullable<typeof parentPort>, data: DatapathThreadData): void {
  const post = (msg: ThreadMessage): void => port.postMessage(msg);
  // Every socket of this thread is made here and closed by sockets.closeAll() (close below).
  // Home is this thread's own netns (the host's: a thread starts in its creator's), read
  // through /proc/thread-self: /proc/self names the main thread's, which is inside a pod
  // netns whenever the event loop's Debug inspector has just entered one.
  const home = '/proc/thread-self/ns/net';
  // Synchronous sockets: this thread's work is these exchanges, each answered inside its write.
  const sockets = new RtnlSockets(home, RTNL_TIMEOUT_MS, true);
  const host = sockets.openHost('datapath requests');
  // The host's dumps (reconcile, CHECK) through the event loop: a host with thousands of pods
  // is read part by part, ADDs answered in between, as before the sockets were synchronous.
  const dumps = sockets.openHost('datapath dumps', { eventLoop: true });
  // A link-delete worker that dies is restarted (and logged); one that keeps dying leaves this
  // thread unable to tear down or roll back anything: it ends, as a crashed thread does, and
  // podwired exits (ThreadedDatapath's onExit) to be restarted and reconciled.
  const deleter = new WorkerLinkDeleter({
    // Not booted while podwired starts (the host read, reconcile and serving come first)
    // unless reconcile has links to delete; a DEL in the first seconds waits for its boot.
    spawnAfterMs: DELETE_WORKER_SPAWN_AFTER_MS,
    onNotice: (message, fields) => post({ kind: 'notice', message, fields }),
    onGiveUp: (reason) => void endThread(reason),
  });
  // The batches sent go to the event loop with the next reply (serveDatapathCalls' notes).
  let batches: BatchNote[] = [];
  const programmer = new BatchingHostProgrammer(rtnlRouteSender(host), deleter, (batch, size) => batches.push({ batch, size }));
  const datapath = new RoutedVethDatapath({ host, dumps }, programmer, new NetnsOpener(sockets, home), data.ownerTag);
  const endThread = async (reason: string): Promise<void> => {
    post({ kind: 'notice', message: 'the datapath thread ends: it cannot delete host links any more', fields: { reason } });
    try {
      await datapath.close();
      await programmer.close();
    } catch {
      // ending anyway
    } finally {
      sockets.closeAll();
      process.exit(1);
    }
  };

  const readTables = async (): Promise<HostTables> => {
    const s = await datapath.snapshotHost();
    // (postMessage copies them; the snapshot's indexes stay behind)
    return { links: s.links, addresses: s.addresses, routes: s.routes.filter((r) => r.table === RT_TABLE_MAIN), interrupted: s.interrupted };
  };
  let prefetched = data.prefetchHostRead ? readTables() : undefined;
  prefetched?.catch(() => undefined); // its failure is the first readHost()'s

  // Every Datapath call is answered by the datapath's method of that name; the thread answers
  // readHost (plain tables), the peer router's route changes and close itself.
  serveDatapathCalls(port, {
    datapath,
    counters: () => ({ pendingDestructions: datapath.pendingDestructions(), netnsSockets: datapath.netnsSocketCacheSize() }),
    takeBatches: () => {
      const taken = batches;
      batches = [];
      return taken;
    },
    calls: {
      readHost: (): Promise<HostTables> => {
        const first = prefetched;
        prefetched = undefined;
        return first ?? readTables();
      },
      applyRouteChanges: (changes) => programmer.applyRouteChanges(changes),
      close: async () => {
        // Each owner closes what it made: the datapath (reaper drained, pod sockets), the
        // programmer (its link-delete worker), then every socket left.
        try {
          await datapath.close();
          await programmer.close();
        } finally {
          sockets.closeAll();
        }
      },
    },
    undoLate: {
      setUp: ([spec], wired) => undoLateSetUp(host, programmer, spec, wired),
    },
  });
}

if (parentPort) run(parentPort, workerData as DatapathThreadData);
