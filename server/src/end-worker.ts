import type { Worker } from 'node:worker_threads';

/** How long a worker asked to stop gets to exit by itself before it is terminated. */
export const CLOSE_WAIT_MS = 2_000;

/**
 * Resolves once `worker` has exited after `ask()` told it to stop (it closes what it holds
 * and its port), terminating it if it has not within CLOSE_WAIT_MS. Terminating a worker
 * that still holds a native netlink socket aborted the process (Napi::Error at teardown).
 */
export async function endWorker(worker: Worker, ask: () => Promise<unknown> | void): Promise<void> {
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let timer: NodeJS.Timeout | undefined;
  try {
    await ask();
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), CLOSE_WAIT_MS)));
    if ((await Promise.race([exited, late])) === 'late') await worker.terminate();
  } catch (err) {
    await worker.terminate();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
