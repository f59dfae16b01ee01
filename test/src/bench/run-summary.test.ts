import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type BenchJson, README_FIGURES, formatRow, median, summarizeRuns } from './run-summary';

const run = (bridgeAdd: number, podwireAdd: number, cpuRatio?: number): BenchJson => ({
  configs: [
    { label: 'bridge+host-local', sequential: { add: { latency: { p50: bridgeAdd } } }, churn: [{ concurrency: 8, addPerSecond: 100, delPerSecond: 100 }] },
    { label: 'podwire', sequential: { add: { latency: { p50: podwireAdd } } }, churn: [{ concurrency: 8, addPerSecond: 250, delPerSecond: 300 }] },
  ],
  ...(cpuRatio === undefined ? {} : { cpuFloor: { addDelSumRatio: cpuRatio } }),
});

test('median of odd and even counts, none for no values', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([]), undefined);
});

test('each figure is the median and range over the runs that have it', () => {
  const rows = summarizeRuns([run(20, 5, 3), run(24, 6), run(18, 6, 4)], README_FIGURES);
  const ratio = rows.find((r) => r.label === 'sequential ADD: podwire vs bridge');
  assert.deepEqual(ratio?.values, [4, 4, 3]);
  assert.equal(ratio && formatRow(ratio), '4.00× (3.00–4.00)');
  const churn = rows.find((r) => r.label === 'churn@8 DEL: podwire vs bridge');
  assert.equal(churn && formatRow(churn), '3.00× (3.00–3.00)');
  const cpu = rows.find((r) => r.label === 'podwired CPU per ADD+DEL vs bare grpc-js');
  assert.deepEqual(cpu?.values, [3, 4], 'the run without cpu-floor rows is left out');
  const cri = rows.find((r) => r.label.startsWith('CRI RunPodSandbox'));
  assert.equal(cri && formatRow(cri), '-');
});
