/**
 * Runs in a worker thread: deletes host links with a netlink socket of its own. The kernel
 * performs a link delete inside the sendmsg(2) call, RCU grace period included (README
 * "Measured"), and the send runs on the calling thread; doing it here keeps podwired's event
 * loop, and every other CNI call, running meanwhile.
 */
import { parentPort } from 'node:worker_threads';
import { deleteLinksAsGroup, linkDeleteOps } from './link-group-delete';
import { RtnlSocket } from './rtnl-socket';

export interface DeleteRequest {
  id: number;
  group: number;
  indexes: number[];
}

/** Sent by the owner to stop the worker: it closes its socket and port, and exits by itself. */
export interface CloseRequest {
  close: true;
}

const port = parentPort;
if (port) {
  // Created when the worker starts: the thread inherits the host netns of the main thread.
  // Closed when the owner (WorkerLinkDeleter.close) asks, or with the port.
  const sock = RtnlSocket.open('host link-delete worker');
  const ops = linkDeleteOps(sock);
  port.on('message', (req: DeleteRequest | CloseRequest) => {
    if ('close' in req) {
      // Closing the socket here, before the thread ends, matters: a worker terminated with
      // the native socket still open aborted the whole process (Napi::Error at teardown).
      sock.close();
      port.close();
      return;
    }
    deleteLinksAsGroup(ops, req.group, req.indexes).then(
      (outcomes) => port.postMessage({ id: req.id, outcomes }),
      (err: unknown) => port.postMessage({ id: req.id, outcomes: req.indexes.map((index) => ({ index, error: String(err) })) }),
    );
  });
  port.on('close', () => sock.close());
  // However the thread ends (an uncaught error, process.exit), the socket is closed first:
  // a thread ending with the native socket open crashed the whole process (SIGSEGV).
  process.on('exit', () => sock.close());
}
