import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  addDelSumRatio,
  goneAfterDel,
  ifindexesOfIpJson,
  latencyFloor,
  parseProcStatCpuTicks,
  perCall,
  safeRatio,
  statCpuMs,
  verbCpuRow,
} from './cpu-floor-report';

const STAT = '4242 (node (my) x) S 1 4242 4242 0 -1 4194560 9000 0 0 0 1234 567 0 0 20 0 11 0 100 1000000 5000 18446744073709551615';

test('parses utime and stime after the last parenthesis of comm', () => {
  assert.deepEqual(parseProcStatCpuTicks(STAT), { utime: 1234, stime: 567 });
  assert.equal(statCpuMs(STAT, 100), 18010);
  assert.throws(() => parseProcStatCpuTicks('garbage'));
  assert.throws(() => parseProcStatCpuTicks('1 (x) S 1 2'));
});

test('per-call CPU and ratios', () => {
  assert.equal(perCall(100, 160, 30), 2);
  assert.ok(Number.isNaN(perCall(1, 2, 0)));
  assert.equal(safeRatio(3, 1.5), 2);
  assert.ok(Number.isNaN(safeRatio(1, 0)));
  assert.ok(Number.isNaN(safeRatio(undefined, 1)));
  assert.deepEqual(verbCpuRow('ADD', 1.5, 0.5), { verb: 'ADD', podwiredMsPerCall: 1.5, bareMsPerCall: 0.5, ratio: 3 });
  assert.equal(addDelSumRatio(1, 1, 0.5, 0.5), 2);
  assert.equal(latencyFloor(0.4, 0.6), 1);
});

test('gone after DEL: failed DELs skipped, never-gone counted, early gone is 0', () => {
  const r = goneAfterDel([10, 20, undefined, 40], [15, 10, 5, undefined]);
  assert.equal(r.neverGone, 1);
  assert.equal(r.gone.n, 2);
  assert.equal(r.gone.max, 5);
  assert.equal(r.gone.min, 0);
});

test('ifindexes from ip -j link', () => {
  assert.deepEqual([...ifindexesOfIpJson('[{"ifindex":3,"ifname":"a"},{"ifindex":7}]')], [3, 7]);
  assert.equal(ifindexesOfIpJson('').size, 0);
});
