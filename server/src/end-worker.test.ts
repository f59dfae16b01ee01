/**
 * endWorker's bounds with real worker threads: one that ends when asked, one that ignores
 * the ask (terminated), and one blocked in a system call (a FIFO's open(2)), which nothing
 * can end: endWorker gives up with WorkerNotEnded instead of waiting forever.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { WorkerNotEnded, endWorker } from './end-worker';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-end-worker-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const WAITS = { askMs: 500, exitMs: 300, terminateMs: 500 };
const exitOf = (w: Worker): Promise<number> => new Promise((resolve) => w.once('exit', resolve));

test('a worker that ends when asked ends without being terminated', async () => {
  const w = new Worker(
    `const { parentPort } = require('node:worker_threads'); parentPort.once('message', () => process.exit(7)); parentPort.postMessage('listening');`,
    { eval: true },
  );
  const code = exitOf(w);
  await once(w, 'message');
  await endWorker(w, () => w.postMessage('stop'), WAITS);
  assert.equal(await code, 7);
});

test('a worker that ignores the ask is terminated; a failing ask is rethrown once it has ended', async () => {
  const w = new Worker(`setInterval(() => {}, 1000)`, { eval: true });
  const code = exitOf(w);
  await once(w, 'online');
  await assert.rejects(
    endWorker(w, () => Promise.reject(new Error('no answer')), WAITS),
    /no answer/,
  );
  await code; // terminated
});

test('a worker blocked in a system call: endWorker gives up within its bounds (WorkerNotEnded)', { timeout: 10_000 }, async () => {
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const w = new Worker(`require('node:fs').openSync(${JSON.stringify(fifo)}, 'r')`, { eval: true });
  const exited = exitOf(w);
  // Give the thread time to reach open(2).
  await new Promise((resolve) => setTimeout(resolve, 300));
  const t0 = performance.now();
  try {
    await assert.rejects(
      endWorker(w, () => undefined, WAITS),
      (err: unknown) => err instanceof WorkerNotEnded,
    );
    const ms = performance.now() - t0;
    assert.ok(ms < WAITS.exitMs + WAITS.terminateMs + 500, `gave up after ${Math.round(ms)} ms`);
  } finally {
    // Let the open return, so the terminated thread ends and the test process can exit.
    fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    await exited;
  }
});
