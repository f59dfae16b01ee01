import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import type { BatchObserver } from './datapath/batching-host-programmer';
import type { HostView } from './datapath/datapath';
import type { HostTables, NoticeFields } from './datapath/datapath-thread-protocol';
import { ThreadedDatapath } from './datapath/threaded-datapath';
import { StartupTimeline } from './startup/startup-timeline';
import { killAtExitWhenStranded } from './stranded-thread-exit';

/** What main.ts starts before it loads the rest of podwired, for serve() to pick up. */
export interface EarlyStart {
  /** Identifies this server's host veths (by state dir), so reconcile never touches another's. */
  ownerTag: string;
  /** The datapath thread, once its sockets are open. */
  datapath: Promise<ThreadedDatapath>;
  /**
   * Reconcile's first read of the host, which the thread takes as soon as it is up (while the
   * event loop still loads serve.ts). Nothing changes the host's pod links meanwhile: no CNI
   * call is served before reconcile has run.
   */
  hostRead: Promise<HostView>;
  /**
   * The same read's tables: the peer route table's first pass takes the peer routes from
   * them instead of dumping every host route again on the event loop.
   */
  hostTables: Promise<HostTables>;
  /**
   * Set by serve() once its logger and metrics exist. onExit: the thread is gone or stuck
   * (exit; a stuck thread makes the process kill itself at exit, see stranded-thread-exit.ts).
   * onNotice: what the thread has to say for the log (until serve() sets it: stderr).
   */
  hooks: { onBatch?: BatchObserver; onExit: (reason: string) => void; onNotice: (message: string, fields: NoticeFields) => void };
  /** The start's milestones (main.ts loaded, the thread up, the host read...), logged once serving. */
  timeline: StartupTimeline;
}

function ownerTagOf(stateDir: string): string {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  return createHash('sha256').update(fs.realpathSync(stateDir)).digest('hex').slice(0, 12);
}

/** Starts the datapath thread and the host read (their failures surface where serve() awaits them). */
export function startEarly(stateDir: string): EarlyStart {
  const timeline = new StartupTimeline();
  timeline.mark('early');
  const ownerTag = ownerTagOf(stateDir);
  const hooks: EarlyStart['hooks'] = {
    onExit: (reason) => {
      process.stderr.write(`podwired: the datapath thread is gone while starting: ${reason}\n`);
      process.exit(1);
    },
    onNotice: (message, fields) => process.stderr.write(`podwired: ${message} ${JSON.stringify(fields)}\n`),
  };
  const datapath = ThreadedDatapath.start({
    ownerTag,
    prefetchHostRead: true,
    onBatch: (kind, size) => hooks.onBatch?.(kind, size),
    onExit: (reason) => hooks.onExit(reason),
    onNotice: (message, fields) => hooks.onNotice(message, fields),
    // Registered only now, so it runs after the exit listeners registered before (the
    // logger's flush): the fatal line saying why podwired exits is written first.
    onStranded: () => killAtExitWhenStranded(() => started?.stranded() ?? true),
  });
  let started: ThreadedDatapath | undefined;
  void datapath.then(
    (d) => (started = d),
    () => undefined,
  );
  const hostTables = datapath.then((d) => d.readHostTables());
  const hostRead = Promise.all([datapath, hostTables]).then(([d, t]) => d.hostViewOf(t));
  // Reported where they are awaited, not as unhandled rejections meanwhile.
  timeline.whenSettled('datapathUp', datapath).catch(() => undefined);
  timeline.whenSettled('hostTablesRead', hostTables).catch(() => undefined);
  hostRead.catch(() => undefined);
  return { ownerTag, datapath, hostRead, hostTables, hooks, timeline };
}
