import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { type LinkDeleteOutcome, deleteLinksAsGroup, linkDeleteOps } from './link-group-delete';
import type { CloseRequest, DeleteRequest } from './link-delete-worker';
import { endWorker } from '../end-worker';
import type { RtnlSocket } from './rtnl-socket';

/** Deletes a batch of host links (see deleteLinksAsGroup), reporting each link's outcome. */
export interface LinkDeleter {
  deleteLinks(group: number, indexes: number[]): Promise<LinkDeleteOutcome[]>;
  close(): Promise<void>;
}

/** On the calling thread, with the given socket (tests use it inside a private netns). */
export class InThreadLinkDeleter implements LinkDeleter {
  constructor(private readonly sock: RtnlSocket) {}

  deleteLinks(group: number, indexes: number[]): Promise<LinkDeleteOutcome[]> {
    return deleteLinksAsGroup(linkDeleteOps(this.sock), group, indexes);
  }

  async close(): Promise<void> {}
}

/** A batch's deadline in the worker: its requests have 5 s each; a fallback deletes one by one. */
const DELETE_TIMEOUT_MS = 30_000;
/** A worker that dies this often within RESTART_WINDOW_MS is not restarted again (onGiveUp). */
export const MAX_RESTARTS = 3;
export const RESTART_WINDOW_MS = 60_000;

export interface WorkerLinkDeleterOptions {
  /** Told what the log should say: the worker died and was restarted, or given up on. */
  onNotice?: (message: string, fields: Record<string, string | number | boolean>) => void;
  /**
   * The worker keeps dying (MAX_RESTARTS within RESTART_WINDOW_MS): nothing can be deleted
   * any more, so every tear-down and rollback would fail. The owner should stop (podwired's
   * datapath thread exits, and with it podwired).
   */
  onGiveUp?: (reason: string) => void;
  /** Makes a worker (tests; default: link-delete-worker.js in the calling thread's netns). */
  spawn?: () => Worker;
  /**
   * Spawns the worker at the first delete or this many ms after construction, whichever comes
   * first, instead of at once: podwired's start does not pay for booting a thread it rarely
   * needs before serving (a Node thread and its modules, ~0.1-0.2 s of CPU), and a delete
   * later does not wait for the boot.
   */
  spawnAfterMs?: number;
}

interface InFlight {
  req: DeleteRequest;
  resolve: (o: LinkDeleteOutcome[]) => void;
  reject: (e: Error) => void;
  /** Sent again to a restarted worker already: a second death fails it. */
  resent: boolean;
}

function spawnDeleteWorker(): Worker {
  // A tiny heap: it only frames group deletes.
  return new Worker(path.join(__dirname, 'link-delete-worker.js'), { resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 32 } });
}

/**
 * In a worker thread with its own host netlink socket, off podwired's event loop. A worker
 * that dies (an uncaught error, out of memory) is noticed: logged (onNotice) and restarted,
 * and the deletes it had in hand are sent to the new one (once: deleting a link that is
 * already gone counts as deleted). One that keeps dying is given up on (onGiveUp).
 */
export class WorkerLinkDeleter implements LinkDeleter {
  /** Undefined until spawned (see spawnAfterMs). */
  private worker: Worker | undefined;
  private spawnTimer: NodeJS.Timeout | undefined;
  private nextId = 1;
  private closed = false;
  /** Why the deleter can delete nothing any more (given up on the worker). */
  private dead: string | undefined;
  private workerError: string | undefined;
  private readonly restarts: number[] = [];
  private readonly inFlight = new Map<number, InFlight>();
  private readonly spawn: () => Worker;

  constructor(private readonly opts: WorkerLinkDeleterOptions = {}) {
    this.spawn = opts.spawn ?? spawnDeleteWorker;
    if (!opts.spawnAfterMs) {
      this.worker = this.startWorker();
      return;
    }
    this.spawnTimer = setTimeout(() => this.workerNow(), opts.spawnAfterMs);
    this.spawnTimer.unref();
  }

  /** The worker, spawned now if it was not yet. */
  private workerNow(): Worker {
    if (this.worker) return this.worker;
    clearTimeout(this.spawnTimer);
    this.worker = this.startWorker();
    return this.worker;
  }

  private startWorker(): Worker {
    const worker = this.spawn();
    worker.unref();
    this.workerError = undefined;
    worker.on('message', (msg: { id: number; outcomes: LinkDeleteOutcome[] }) => {
      this.inFlight.get(msg.id)?.resolve(msg.outcomes);
      this.inFlight.delete(msg.id);
    });
    // An 'error' is followed by 'exit', where the worker is replaced.
    worker.on('error', (err) => {
      this.workerError = err.message;
    });
    worker.on('exit', (code) => this.workerExited(worker, code));
    return worker;
  }

  private workerExited(worker: Worker, code: number): void {
    if (worker !== this.worker) return;
    const reason = `the link delete worker exited with code ${code}${this.workerError ? ` (${this.workerError})` : ''}`;
    if (this.closed) {
      this.failAll(new Error(reason));
      return;
    }
    const now = Date.now();
    while (this.restarts.length > 0 && now - (this.restarts[0] ?? 0) > RESTART_WINDOW_MS) this.restarts.shift();
    if (this.restarts.length >= MAX_RESTARTS) {
      this.dead = `${reason}, its ${MAX_RESTARTS + 1}th death within ${RESTART_WINDOW_MS / 1000} s: not restarted`;
      this.failAll(new Error(this.dead));
      this.opts.onNotice?.('link delete worker died again; given up on it: no host link can be deleted', {
        reason,
        deaths: MAX_RESTARTS + 1,
        windowS: RESTART_WINDOW_MS / 1000,
      });
      this.opts.onGiveUp?.(this.dead);
      return;
    }
    this.restarts.push(now);
    const restarted = this.startWorker();
    this.worker = restarted;
    let resent = 0;
    for (const [id, f] of this.inFlight) {
      if (f.resent) {
        this.inFlight.delete(id);
        f.reject(new Error(`${reason}, twice with this delete in hand`));
        continue;
      }
      f.resent = true;
      resent++;
      restarted.postMessage(f.req);
    }
    this.opts.onNotice?.('link delete worker died; restarted', { reason, restartsInWindow: this.restarts.length, deletesResent: resent });
  }

  deleteLinks(group: number, indexes: number[]): Promise<LinkDeleteOutcome[]> {
    if (this.closed) return Promise.reject(new Error('the link delete worker is closed'));
    if (this.dead) return Promise.reject(new Error(this.dead));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      // Bounded: a group delete is one grace period; a worker that stops answering fails its callers.
      const timer = setTimeout(() => {
        if (this.inFlight.delete(id)) reject(new Error(`link delete worker gave no answer within ${DELETE_TIMEOUT_MS} ms`));
      }, DELETE_TIMEOUT_MS);
      const req: DeleteRequest = { id, group, indexes };
      this.inFlight.set(id, {
        req,
        resolve: (o) => {
          clearTimeout(timer);
          resolve(o);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
        resent: false,
      });
      this.workerNow().postMessage(req);
    });
  }

  /**
   * Stops the worker: it closes its socket and exits by itself (terminated only if it has not
   * within end-worker.ts's CLOSE_WAIT_MS); deletes still waiting fail. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.spawnTimer);
    const worker = this.worker;
    if (worker && !this.dead) await endWorker(worker, () => worker.postMessage({ close: true } satisfies CloseRequest));
    this.failAll(new Error('the link delete worker is closed'));
  }

  private failAll(err: Error): void {
    for (const f of this.inFlight.values()) f.reject(err);
    this.inFlight.clear();
  }
}
