import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type BenchJson, FEATURE_FIGURES, POLICY_FIGURES, README_FIGURES, type SummaryRow, formatRow, median, summarizeRuns } from './run-summary';

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

test('the issue 20/21 figures read the new groups, and stay empty for runs without them', () => {
  const withGroups: BenchJson = {
    hostPorts: {
      chains: [
        { key: 'plain', p50: 5 },
        { key: 'native', p50: 5.5 },
      ],
      ratios: { bridgePortmapOverNative: 12, nativeOverPlain: 1.1, podwirePortmapOverNative: 11 },
    },
    peerRoutes: { passes: [{ pass: 'program 500 peers', ms: 80 }] },
    peerRoutesVxlan: { passes: [{ pass: 'program 500 peers', ms: 200 }] },
    crossNode: { ratios: { rrP50: 1.5, rrP99: 2, throughput: 0.8 } },
  };
  const rows = summarizeRuns(
    [
      withGroups,
      { ...withGroups, hostPorts: { ...withGroups.hostPorts, ratios: { bridgePortmapOverNative: 14, nativeOverPlain: 1, podwirePortmapOverNative: 10 } } },
      run(20, 5),
    ],
    FEATURE_FIGURES,
  );
  const get = (label: string) => rows.find((r) => r.label.startsWith(label));
  assert.equal(formatRow(get('hostPort: bridge+portmap') as SummaryRow), '13.0× (12.0–14.0)');
  assert.equal(formatRow(get('hostPort ADD p50, podwire native') as SummaryRow), '5.50 ms (5.50–5.50)');
  assert.equal(formatRow(get('program 500 peers: VXLAN') as SummaryRow), '2.50× (2.50–2.50)');
  assert.equal(get('cross-node throughput')?.values.length, 2, 'the run without the groups is left out');
  assert.equal(formatRow(get('sequential ADD p50, masquerade on') as SummaryRow), '-');
});

test("the issue 22 figures read each run's medians over its rounds, and skip runs without the policy rows", () => {
  const pol = (ratio: number, policyMs: number | null): BenchJson => ({
    policy: { figures: { seqAddRatio: { median: ratio }, policyChangeInForceMs: { median: policyMs }, labelChangeInForceMs: { median: 2 } } },
  });
  const rows = summarizeRuns([pol(1.1, 50), pol(1.3, null), pol(1.2, 70), run(20, 5)], POLICY_FIGURES);
  const get = (label: string) => rows.find((r) => r.label.startsWith(label)) as SummaryRow;
  assert.equal(formatRow(get('ADD p50: with policies ÷ without')), '1.20× (1.10–1.30)');
  assert.deepEqual(get('policy change in force').values, [50, 70], 'a figure written as null (not finite) is left out');
  assert.equal(formatRow(get('label change of 1 pod')), '2.00 ms (2.00–2.00)');
  assert.equal(formatRow(get('churn@8 ADD pods/s, no policy')), '-');
});
