import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findStartupLogs, flattenFields, inIpv4Subnet, parsePodCounts, restartTarget, restartVerdict, spreadIndices } from './restart-report';

// The restart benchmark's pure helpers (no root, no kernel).

test('parsePodCounts takes a comma list of positive integers and rejects anything else', () => {
  assert.deepEqual(parsePodCounts('1000,5000'), [1000, 5000]);
  assert.deepEqual(parsePodCounts(' 100 '), [100]);
  for (const bad of ['', '1000,', '0', '-5', '1e3', '12.5', 'abc', '60001', '1000,,5000']) {
    assert.throws(() => parsePodCounts(bad), /pod count/, bad);
  }
});

test('spreadIndices: k distinct ascending indices, first and last included, all when k >= n', () => {
  const s = spreadIndices(5000, 100);
  assert.equal(s.length, 100);
  assert.equal(s[0], 0);
  assert.equal(s.at(-1), 4999);
  assert.deepEqual(
    s,
    [...new Set(s)].sort((a, b) => a - b),
  );
  // Evenly spread: no gap more than twice the mean.
  const gaps = s.slice(1).map((v, i) => v - (s[i] ?? 0));
  assert.ok(Math.max(...gaps) <= 2 * (4999 / 99));
  assert.deepEqual(spreadIndices(3, 50), [0, 1, 2]);
  assert.deepEqual(spreadIndices(10, 1), [0]);
  assert.deepEqual(spreadIndices(0, 5), []);
  assert.equal(spreadIndices(51, 50).length, 50);
});

test('inIpv4Subnet matches by prefix and ignores an address /len', () => {
  assert.equal(inIpv4Subnet('10.249.3.7', '10.249.0.0/16'), true);
  assert.equal(inIpv4Subnet('10.249.255.255/32', '10.249.0.0/16'), true);
  assert.equal(inIpv4Subnet('10.250.0.1', '10.249.0.0/16'), false);
  assert.equal(inIpv4Subnet('10.249.0.130', '10.249.0.128/25'), true);
  assert.equal(inIpv4Subnet('10.249.0.127', '10.249.0.128/25'), false);
  assert.equal(inIpv4Subnet('1.2.3.4', '0.0.0.0/0'), true);
  assert.equal(inIpv4Subnet('default', '10.249.0.0/16'), false);
  assert.equal(inIpv4Subnet('fe80::1', '10.249.0.0/16'), false);
  assert.equal(inIpv4Subnet('10.249.0.1', '10.249.0.0/33'), false);
});

test('findStartupLogs picks the "podwired serving" line and a later verification summary, tolerates their absence', () => {
  const serving = { level: 30, time: 5, msg: 'podwired serving', reconcile: { hostOk: 1000 }, phases: { toServingMs: 420.5 } };
  const verif = { level: 30, time: 9, msg: 'podwired: verification of ready pods done', verification: { total: 1000, verified: 1000 } };
  const recs = [
    { level: 30, msg: 'podwired listening; reconciling before serving' },
    { level: 40, msg: 'reconcile: verify failed for one pod' },
    serving,
    { level: 20, msg: 'ADD', verb: 'ADD' },
    verif,
  ];
  assert.deepEqual(findStartupLogs(recs), { serving, verification: verif });
  assert.deepEqual(findStartupLogs([serving]), { serving });
  assert.deepEqual(findStartupLogs([{ msg: 'podwired listening' }, { nomsg: 1 }]), {});
  // "starts with": a longer message still counts.
  assert.equal(findStartupLogs([{ msg: 'podwired serving (reconciled)' }]).serving?.msg, 'podwired serving (reconciled)');
});

test('flattenFields flattens numbers and booleans, leaves pino base fields out', () => {
  const line = {
    level: 30,
    time: 1,
    pid: 7,
    service: 'podwired',
    msg: 'podwired serving',
    rolledBack: 0,
    reconcile: { hostOk: 1000, failed: 0 },
    phases: { snapshotMs: 12.345 },
    verification: { state: 'running', problems: [] },
    ok: true,
  };
  assert.equal(
    flattenFields(line),
    'rolledBack=0 reconcile.hostOk=1000 reconcile.failed=0 phases.snapshotMs=12.3 verification.state=running verification.problems=[0] ok=true',
  );
  assert.equal(flattenFields({ a: 1, b: 2, c: 3 }, 2), 'a=1 b=2');
});

test('restartTarget: <= 1 s up to 1,000 pods, <= 3 s above', () => {
  assert.deepEqual(restartTarget(100), { targetPods: 1000, limitMs: 1000 });
  assert.deepEqual(restartTarget(1000), { targetPods: 1000, limitMs: 1000 });
  assert.deepEqual(restartTarget(5000), { targetPods: 5000, limitMs: 3000 });
});

test('restartVerdict: FAILED on any failure, MISSED on timeout, too slow or too few pods, else MET', () => {
  const base = { pods: 1000, timeoutMs: 180_000, failures: [] as string[] };
  assert.equal(restartVerdict({ ...base, spawnToAddMs: 800 }).verdict, 'MET');
  assert.equal(restartVerdict({ ...base, spawnToAddMs: 800 }).met, true);
  const slow = restartVerdict({ ...base, spawnToAddMs: 70_000 });
  assert.equal(slow.verdict, 'MISSED');
  assert.match(slow.margin, /69\.0 s over \(70\.0x the limit\)/);
  const timeout = restartVerdict({ ...base, spawnToAddMs: undefined });
  assert.equal(timeout.verdict, 'MISSED');
  assert.match(timeout.margin, /no ADD within the 180\.0 s bound/);
  const failed = restartVerdict({ ...base, spawnToAddMs: 500, failures: ['CHECK: 2/100 failed', 'x'] });
  assert.equal(failed.verdict, 'FAILED');
  assert.equal(failed.met, false);
  assert.match(failed.margin, /CHECK: 2\/100 failed \(\+1 more\)/);
  const small = restartVerdict({ ...base, pods: 100, spawnToAddMs: 300 });
  assert.equal(small.verdict, 'MISSED');
  assert.match(small.margin, /at 100 pods, not 1,000/);
  assert.equal(restartVerdict({ ...base, pods: 5000, spawnToAddMs: 2900 }).verdict, 'MET');
  assert.equal(restartVerdict({ ...base, pods: 5000, spawnToAddMs: 3100 }).verdict, 'MISSED');
});
