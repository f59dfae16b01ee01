import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ThreadCpu, datapathThreadId, parseSchedstatNs, readThreads, splitThreads, sumDeltas, threadDeltas } from './thread-cpu';

const t = (tid: number, comm: string, cpuNs: number, utimeTicks = 0, stimeTicks = 0): ThreadCpu => ({ tid, comm, cpuNs, utimeTicks, stimeTicks });

test('schedstat: the first field is ns on a CPU', () => {
  assert.equal(parseSchedstatNs('123456789 2000 31\n'), 123456789);
  assert.throws(() => parseSchedstatNs('x y z'));
});

test('the datapath thread is the first thread after main with main\'s name (V8 and Node threads keep "node")', () => {
  const threads = [t(100, 'podwired', 0), t(101, 'node', 0), t(102, 'node', 0), t(107, 'podwired', 0), t(108, 'podwired', 0)];
  assert.equal(datapathThreadId(100, threads), 107);
  assert.equal(datapathThreadId(100, [t(100, 'podwired', 0), t(101, 'node', 0)]), undefined);
  assert.equal(datapathThreadId(99, threads), undefined);
});

test('deltas per thread, new threads from 0, and the split main / datapath / others', () => {
  const before = [t(100, 'podwired', 1e6, 1, 1), t(101, 'node', 2e6), t(107, 'podwired', 3e6, 10, 5)];
  const after = [t(100, 'podwired', 5e6, 2, 1), t(101, 'node', 2.5e6), t(107, 'podwired', 9e6, 13, 7), t(109, 'podwired', 1e6)];
  const d = threadDeltas(before, after, 100);
  assert.deepEqual(
    d.map((x) => [x.tid, x.cpuMs, x.userMs, x.sysMs]),
    [
      [100, 4, 10, 0],
      [101, 0.5, 0, 0],
      [107, 6, 30, 20],
      [109, 1, 0, 0],
    ],
  );
  const s = splitThreads(100, d, 107);
  assert.equal(s.mainMs, 4);
  assert.equal(s.datapathMs, 6);
  assert.equal(s.datapathUserMs, 30);
  assert.equal(s.otherMs, 1.5);
  assert.equal(s.datapathIsBusiest, true);
  assert.equal(splitThreads(100, d, 101).datapathIsBusiest, false);
});

test('segments summed per thread: a thread seen in one segment only counts there', () => {
  const a = [
    { tid: 1, comm: 'p', cpuMs: 10, userMs: 6, sysMs: 4 },
    { tid: 2, comm: 'p', cpuMs: 3, userMs: 2, sysMs: 1 },
  ];
  const b = [
    { tid: 1, comm: 'p', cpuMs: 5, userMs: 5, sysMs: 0 },
    { tid: 3, comm: 'node', cpuMs: 7, userMs: 7, sysMs: 0 },
  ];
  assert.deepEqual(sumDeltas([a, b]), [
    { tid: 1, comm: 'p', cpuMs: 15, userMs: 11, sysMs: 4 },
    { tid: 2, comm: 'p', cpuMs: 3, userMs: 2, sysMs: 1 },
    { tid: 3, comm: 'node', cpuMs: 7, userMs: 7, sysMs: 0 },
  ]);
  assert.equal(a[0]?.cpuMs, 10, 'the inputs are left as they were');
});

test("reads this process's own threads from /proc", () => {
  const mine = readThreads(process.pid);
  const main = mine.find((x) => x.tid === process.pid);
  assert.ok(main, 'the main thread is listed');
  assert.ok(main.cpuNs > 0);
});
