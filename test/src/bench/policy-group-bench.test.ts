/** The pure parts of the NetworkPolicy bench rows (issue 22): ratios per round, medians and ranges, the targets, the tables. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { featureTargets } from './node-feature-groups';
import { type PolicyBenchResult, type PolicyRoundFigures, formatSpread, policySpreads, policyTargets, renderPolicy, withRatios } from './policy-group-bench';

const round = (addNo: number, addWith: number, policyMs: number, labelMs: number, churnNo = 200, churnWith = 180): PolicyRoundFigures =>
  withRatios({
    seqAddP50NoPolicy: addNo,
    seqAddP50Policy: addWith,
    serverAddP50NoPolicy: addNo / 2,
    serverAddP50Policy: addWith / 2,
    churnAddPerSecondNoPolicy: churnNo,
    churnAddPerSecondPolicy: churnWith,
    churnDelPerSecondNoPolicy: churnNo,
    churnDelPerSecondPolicy: NaN,
    policyChangeInForceMs: policyMs,
    policyChangeWallMs: policyMs + 10,
    labelChangeInForceMs: labelMs,
    labelChangeWallMs: labelMs + 5,
  });

const result = (rounds: PolicyRoundFigures[]): PolicyBenchResult => ({
  source: 'kubernetes',
  seqPods: 100,
  churnPods: 160,
  worldPods: 1000,
  policies: 200,
  rounds: rounds.length,
  perRound: rounds,
  figures: policySpreads(rounds),
});

test('ratios are with ÷ without within a round; a missing side gives no ratio', () => {
  const r = round(10, 11, 50, 2);
  assert.ok(Math.abs(r.seqAddRatio - 1.1) < 1e-9);
  assert.ok(Math.abs(r.serverAddRatio - 1.1) < 1e-9);
  assert.equal(r.churnAddRatio, 0.9);
  assert.ok(Number.isNaN(r.churnDelRatio));
});

test('spreads: median and range over the rounds, a figure no round has is NaN', () => {
  const f = policySpreads([round(10, 12, 60, 3), round(10, 11, 40, 1), round(8, 12, 90, 2)]);
  assert.deepEqual(f.policyChangeInForceMs, { median: 60, min: 40, max: 90 });
  assert.deepEqual(f.labelChangeInForceMs, { median: 2, min: 1, max: 3 });
  assert.equal(f.seqAddRatio.median, 1.2, 'the median of the paired ratios (1.2, 1.1, 1.5), not a ratio of medians');
  assert.equal(f.seqAddRatio.max, 1.5);
  assert.ok(Number.isNaN(f.churnDelRatio.median));
  assert.equal(formatSpread(f.policyChangeInForceMs, ' ms', 3), '60.0 ms (40.0–90.0)');
  assert.equal(formatSpread(f.policyChangeInForceMs, ' ms', 1), '60.0 ms', 'one round has no range');
  assert.equal(formatSpread(f.churnDelRatio, '×'), '-');
});

test('targets: ADD ratio ≤ 1.2×, policy change ≤ 100 ms, label change ≤ 10 ms, judged on the medians', () => {
  const met = policyTargets(result([round(10, 11, 60, 3), round(10, 11.5, 80, 4), round(10, 14, 120, 12)]));
  assert.deepEqual(
    met.map((t) => t.met),
    [true, true, true],
  );
  assert.equal(met[0]?.measured, '1.15×');
  assert.equal(met[1]?.measured, '80.0 ms');
  assert.equal(met[1]?.margin, '20.0%');
  const missed = policyTargets(result([round(10, 13, 101, 10.5)]));
  assert.deepEqual(
    missed.map((t) => t.met),
    [false, false, false],
  );
  assert.equal(missed[0]?.margin, '-8%');
  const none = policyTargets(result([]));
  assert.deepEqual(
    none.map((t) => [t.met, t.measured, t.margin]),
    [
      [false, '-×', '-'],
      [false, '- ms', '-'],
      [false, '- ms', '-'],
    ],
    'no rounds: nothing is met',
  );
  assert.equal(featureTargets({ policy: result([round(10, 11, 60, 3)]) }).length, 3, 'the group adds its targets to the bench');
});

test('the table has both ADD rows (runtime-seen and podwired own), the churn rows and both changes', () => {
  const text = renderPolicy(result([round(10, 11, 60, 3), round(12, 12, 70, 4)]));
  assert.match(text, /runtime-seen \(100 pods\)\s+11\.0 \(10\.0–12\.0\)\s+11\.5 \(11\.0–12\.0\)\s+1\.05× \(1\.00–1\.10\)/);
  assert.match(text, /podwired's own/);
  assert.match(text, /churn@8 ADD pods\/s \(160 pods\)/);
  assert.match(text, /policy change .*\s65\.0 \(60\.0–70\.0\)\s+75\.0 \(70\.0–80\.0\)/);
  assert.match(text, /label change \(one pod among 1000\)/);
});
