/**
 * A process whose datapath thread is stuck in a system call: process.exit() alone hangs
 * (Node joins the thread, which never ends); with killAtExitWhenStranded the process ends.
 * Real child processes, each with a ThreadedDatapath whose scripted thread blocks in open(2)
 * on a FIFO, exiting from onExit as podwired does.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-stranded-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function child(
  fifo: string,
  withHook: boolean,
): { exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; kill: () => void; stderr: () => string } {
  const script = `
    const { ThreadedDatapath } = require(${JSON.stringify(path.join(__dirname, 'datapath', 'threaded-datapath.js'))});
    const { killAtExitWhenStranded } = require(${JSON.stringify(path.join(__dirname, 'stranded-thread-exit.js'))});
    (async () => {
      const dp = await ThreadedDatapath.start({
        ownerTag: 'x',
        threadFile: ${JSON.stringify(path.join(__dirname, 'datapath', 'scripted-datapath-thread.js'))},
        callDeadlineMs: 100,
        stuckGraceMs: 200,
        onExit: () => process.exit(1),
        onStranded: () => { if (${withHook}) killAtExitWhenStranded(() => dp.stranded()); },
      });
      dp.setUp({ netnsPath: ${JSON.stringify(fifo)}, podIfname: 'stuck', hostIfname: 'pwx', mtu: 1500, addresses: [] }).catch(() => {});
    })();`;
  const c = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  c.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return {
    exited: new Promise((resolve) => c.once('exit', (code, signal) => resolve({ code, signal }))),
    kill: () => c.kill('SIGKILL'),
    stderr: () => err,
  };
}

const within = <T>(p: Promise<T>, ms: number): Promise<T | 'still running'> =>
  Promise.race([p, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), ms))]);

test('exiting with a stuck datapath thread: hangs without the hook, ends by SIGKILL with it', { timeout: 20_000 }, async () => {
  const fifos = [path.join(dir, 'a'), path.join(dir, 'b')];
  for (const f of fifos) execFileSync('mkfifo', [f]);
  const bare = child(fifos[0] ?? '', false);
  const hooked = child(fifos[1] ?? '', true);
  try {
    const ended = await within(hooked.exited, 5_000);
    assert.deepEqual(ended, { code: null, signal: 'SIGKILL' }, hooked.stderr());
    assert.match(hooked.stderr(), /stuck thread that cannot end: killing the process/);
    assert.equal(await within(bare.exited, 1_000), 'still running', 'process.exit() alone waits for the stuck thread');
  } finally {
    bare.kill();
    hooked.kill();
    await bare.exited;
  }
});
