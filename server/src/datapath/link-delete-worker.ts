/**
 * Runs in a worker thread: deletes host links with a netlink socket of its own. The kernel
 * performs a link delete inside the sendmsg(2) call, RCU grace period included (20–35 ms
 * here), and npm netlink sends on the calling thread; doing it here keeps podwired's event
 * loop, and every other CNI call, running meanwhile.
 */
import { parentPort } from 'node:worker_threads';
import { createRtNetlink } from 'netlink';
import { deleteLinksAsGroup } from './link-group-delete';

export interface DeleteRequest {
  id: number;
  group: number;
  indexes: number[];
}

const port = parentPort;
if (port) {
  // Created when the worker starts: the thread inherits the host netns of the main thread.
  const sock = createRtNetlink();
  port.on('message', (req: DeleteRequest) => {
    deleteLinksAsGroup(sock, req.group, req.indexes).then(
      (outcomes) => port.postMessage({ id: req.id, outcomes }),
      (err: unknown) => port.postMessage({ id: req.id, outcomes: req.indexes.map((index) => ({ index, error: String(err) })) }),
    );
  });
  port.on('close', () => sock.socket.close());
}
