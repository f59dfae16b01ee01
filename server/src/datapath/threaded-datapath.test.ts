/**
 * ThreadedDatapath's deadlines with a real thread serving the datapath protocol through the
 * same runner as podwired's (scripted-datapath-thread.ts: a FakeDatapath whose setUp can be
 * slow, or block the thread in open(2) on a FIFO).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CniCode, CniError } from '../cni/cni-error';
import { WorkerNotEnded } from '../end-worker';
import type { PodNetworkSpec } from './datapath';
import type { NoticeFields } from './datapath-thread-protocol';
import { ThreadedDatapath, type ThreadedDatapathOptions } from './threaded-datapath';

const SCRIPTED = path.join(__dirname, 'scripted-datapath-thread.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-threaded-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function spec(podIfname: string, hostIfname: string, netnsPath = '/var/run/netns/x'): PodNetworkSpec {
  return { netnsPath, podIfname, hostIfname, mtu: 1500, addresses: [{ address: '10.9.0.2', family: 4 }] };
}

const isCode = (code: number) => (err: unknown) => err instanceof CniError && err.code === code;

async function eventually(what: string, ok: () => boolean, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function start(opts: Partial<ThreadedDatapathOptions>) {
  const notices: Array<{ message: string; fields: NoticeFields }> = [];
  const exits: string[] = [];
  const stranded: number[] = [];
  const dp = ThreadedDatapath.start({
    ownerTag: 'test',
    threadFile: SCRIPTED,
    onNotice: (message, fields) => notices.push({ message, fields }),
    onExit: (r) => exits.push(r),
    onStranded: () => stranded.push(Date.now()),
    ...opts,
  });
  return { dp, notices, exits, stranded };
}

test('a setUp past its deadline fails with CNI error 11 at the deadline while other calls proceed; finished later, it is undone', {
  timeout: 10_000,
}, async () => {
  const { dp: starting, notices, exits } = start({ callDeadlineMs: 300, stuckGraceMs: 3_000 });
  const dp = await starting;
  try {
    const slow = spec('slow-800', 'pwslow');
    const t0 = performance.now();
    const late = dp.setUp(slow);
    late.catch(() => undefined);
    const fast = spec('eth0', 'pwfast');
    await dp.setUp(fast);
    // Bounds with room for a machine busy with other test files: held up would be >= 800 ms.
    assert.ok(performance.now() - t0 < 600, 'the other setUp was not held up');
    await assert.rejects(late, isCode(CniCode.TryAgainLater));
    const ms = performance.now() - t0;
    assert.ok(ms >= 280 && ms < 1_500, `failed after ${Math.round(ms)} ms`);
    // The slow setUp completes on the thread afterwards, and is undone there.
    await eventually('a notice that the late setUp was undone', () => notices.some((n) => n.fields.call === 'setUp' && /undone/.test(n.message)));
    await assert.rejects(dp.check(slow), isCode(CniCode.CheckFailed), 'the late pod is gone');
    await dp.check(fast);
    assert.deepEqual(exits, [], 'a slow call is not a stuck thread');
  } finally {
    await dp.close();
  }
  assert.equal(dp.stranded(), false);
});

test('a thread stuck in a system call: callers fail with CNI error 11, onExit is told, close() is bounded, the thread is stranded', {
  timeout: 20_000,
}, async () => {
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const { dp: starting, exits, stranded } = start({ callDeadlineMs: 200, stuckGraceMs: 300 });
  const dp = await starting;
  try {
    const t0 = performance.now();
    const stuck = dp.setUp(spec('stuck', 'pwstuck', fifo));
    const other = dp.podProblems(spec('eth0', 'pwother'));
    other.catch(() => undefined);
    await assert.rejects(stuck, (err: unknown) => isCode(CniCode.TryAgainLater)(err) && /stuck/.test(String((err as CniError).message)));
    const ms = performance.now() - t0;
    assert.ok(ms >= 450 && ms < 5_000, `failed after ${Math.round(ms)} ms`);
    await assert.rejects(other, isCode(CniCode.TryAgainLater), 'a call queued behind it fails too');
    assert.equal(exits.length, 1, 'onExit told once');
    assert.match(exits[0] ?? '', /stuck/);
    await assert.rejects(dp.setUp(spec('eth1', 'pwlater')), isCode(CniCode.TryAgainLater), 'later calls fail at once');
    const tClose = performance.now();
    await assert.rejects(dp.close(), (err: unknown) => err instanceof WorkerNotEnded);
    assert.ok(performance.now() - tClose < 6_000, `close() took ${Math.round(performance.now() - tClose)} ms`);
    assert.equal(dp.stranded(), true);
    assert.equal(stranded.length, 1, 'onStranded told once');
  } finally {
    // Let the open return: the terminated thread ends, and the test process can exit.
    fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
  }
  await eventually('the thread ends once its system call returns', () => !dp.stranded());
});

test('calls cross by name: a datapath method no protocol list names is answered, errors keep their type', { timeout: 10_000 }, async () => {
  const { dp: starting } = start({});
  const dp = await starting;
  try {
    const withEcho = dp as unknown as { echo(value: string): Promise<string> };
    assert.equal(typeof withEcho.echo, 'function');
    assert.equal(await withEcho.echo('x'), 'echo x');
    await assert.rejects(dp.check(spec('eth0', 'pwnone')), isCode(CniCode.CheckFailed));
    assert.equal(typeof (dp as unknown as Record<string, unknown>).then, 'undefined', 'not a thenable');
  } finally {
    await dp.close();
  }
});
