import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { LinkDeleteOutcome, deleteLinksAsGroup, linkDeleteOps } from './link-group-delete';
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

/** In a worker thread with its own host netlink socket, off podwired's event loop. */
export class WorkerLinkDeleter implements LinkDeleter {
  private readonly worker: Worker;
  private nextId = 1;
  private closed = false;
  private readonly waiting = new Map<number, { resolve: (o: LinkDeleteOutcome[]) => void; reject: (e: Error) => void }>();

  constructor() {
    // A tiny heap: it only frames group deletes.
    this.worker = new Worker(path.join(__dirname, 'link-delete-worker.js'), { resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 32 } });
    this.worker.unref();
    this.worker.on('message', (msg: { id: number; outcomes: LinkDeleteOutcome[] }) => {
      this.waiting.get(msg.id)?.resolve(msg.outcomes);
      this.waiting.delete(msg.id);
    });
    this.worker.on('error', (err) => this.failAll(err));
    // A worker that is gone can answer nothing more: every later delete fails at once
    // (rather than waiting forever with its caller's lock held).
    this.worker.on('exit', (code) => {
      this.exited = `link delete worker exited with ${code}`;
      this.failAll(new Error(this.exited));
    });
  }

  private exited: string | undefined;

  deleteLinks(group: number, indexes: number[]): Promise<LinkDeleteOutcome[]> {
    if (this.closed) return Promise.reject(new Error('the link delete worker is closed'));
    if (this.exited) return Promise.reject(new Error(this.exited));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      // Bounded: a group delete is one grace period; a worker that stops answering fails its callers.
      const timer = setTimeout(() => {
        if (this.waiting.delete(id)) reject(new Error(`link delete worker gave no answer within ${DELETE_TIMEOUT_MS} ms`));
      }, DELETE_TIMEOUT_MS);
      this.waiting.set(id, {
        resolve: (o) => (clearTimeout(timer), resolve(o)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      const req: DeleteRequest = { id, group, indexes };
      this.worker.postMessage(req);
    });
  }

  /**
   * Stops the worker: it closes its socket and exits by itself (terminated only if it has not
   * within end-worker.ts's CLOSE_WAIT_MS); deletes still waiting fail. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.exited) await endWorker(this.worker, () => this.worker.postMessage({ close: true } satisfies CloseRequest));
  }

  private failAll(err: Error): void {
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}
