import type { Worker } from 'node:worker_threads';

/** How long a worker asked to stop gets to exit by itself before it is terminated. */
export const CLOSE_WAIT_MS = 2_000;
/** How long asking it to stop may take (the ask's own answer). */
export const ASK_WAIT_MS = 15_000;
/**
 * How long a terminated worker gets to end. A thread blocked in a system call (an open(2)
 * that never returns) cannot be terminated: Node runs no JavaScript there to interrupt.
 */
export const TERMINATE_WAIT_MS = 2_000;

export interface EndWorkerWaits {
  askMs: number;
  exitMs: number;
  terminateMs: number;
}

/** The worker would not end, not even terminated: it runs on until the process exits. */
export class WorkerNotEnded extends Error {
  constructor(readonly why: string) {
    super(`the worker did not end: ${why}`);
    this.name = 'WorkerNotEnded';
  }
}

/**
 * Resolves once `worker` has exited after `ask()` told it to stop (it closes what it holds
 * and its port), terminating it if it has not within `exitMs`. Terminating a worker that
 * still holds a native netlink socket aborted the process (Napi::Error at teardown), so the
 * ask comes first. Bounded: the ask gets `askMs`, a terminated worker `terminateMs`; past
 * those it rejects with WorkerNotEnded (the worker is stuck: process.exit() would wait for
 * it forever, see early-start.ts). A failing ask is rethrown once the worker has ended.
 */
export async function endWorker(
  worker: Worker,
  ask: () => unknown,
  waits: EndWorkerWaits = { askMs: ASK_WAIT_MS, exitMs: CLOSE_WAIT_MS, terminateMs: TERMINATE_WAIT_MS },
): Promise<void> {
  let exited = false;
  const exit = new Promise<'exited'>((resolve) =>
    worker.once('exit', () => {
      exited = true;
      resolve('exited');
    }),
  );
  const timers: NodeJS.Timeout[] = [];
  const after = (ms: number): Promise<'late'> => new Promise((resolve) => timers.push(setTimeout(() => resolve('late'), ms)));
  let askError: unknown;
  try {
    const asked = (async () => ask())().then(
      () => 'asked' as const,
      (err: unknown) => {
        askError = err;
        return 'failed' as const;
      },
    );
    const first = await Promise.race([asked, exit, after(waits.askMs)]);
    if (first === 'asked') await Promise.race([exit, after(waits.exitMs)]);
    if (!exited) {
      const terminated = worker.terminate().then(() => 'exited' as const);
      terminated.catch(() => undefined);
      if ((await Promise.race([terminated, exit, after(waits.terminateMs)])) === 'late' && !exited) {
        throw new WorkerNotEnded(
          first === 'late'
            ? `it did not answer the request to stop within ${waits.askMs} ms, and terminating it did not end it within ${waits.terminateMs} ms`
            : `terminating it did not end it within ${waits.terminateMs} ms`,
        );
      }
    }
    if (askError !== undefined) throw askError;
  } finally {
    for (const t of timers) clearTimeout(t);
  }
}
