import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PendingDestructions } from './pending-destructions';

/** A destroy that records its rounds and settles each pair when told. */
function recorder() {
  const rounds: number[][] = [];
  const settle = new Map<number, () => void>();
  const destroy = (indexes: readonly number[]) => {
    rounds.push([...indexes]);
    return indexes.map((i) => new Promise<void>((r) => settle.set(i, r)));
  };
  return { rounds, settle, destroy };
}

test('pairs detached close together go in one round; rounds are at most one per interval', async () => {
  const r = recorder();
  const p = new PendingDestructions(r.destroy, { intervalMs: 50 });
  p.reap(3);
  p.reap(4);
  assert.equal(p.size, 2);
  await new Promise((res) => setTimeout(res, 10));
  assert.deepEqual(r.rounds, [[3, 4]], 'the first round goes out at once, with both');
  p.reap(5);
  await new Promise((res) => setTimeout(res, 10));
  assert.deepEqual(r.rounds, [[3, 4]], 'the next waits for the interval');
  await new Promise((res) => setTimeout(res, 60));
  assert.deepEqual(r.rounds, [[3, 4], [5]]);
  for (const s of r.settle.values()) s();
  await new Promise((res) => setTimeout(res, 0));
  assert.equal(p.size, 0);
  assert.ok(p.involves(4), 'lately destroyed pairs are remembered');
  assert.ok(!p.involves(9));
});

test('wait resolves when the pair is destroyed, or false after the timeout; flush sends at once; drain waits', async () => {
  const r = recorder();
  const p = new PendingDestructions(r.destroy, { intervalMs: 10_000 });
  p.reap(7);
  await new Promise((res) => setTimeout(res, 5));
  p.reap(8);
  assert.equal(await p.wait(8, 20), false, 'not destroyed: the round waits for the interval');
  p.flush();
  assert.deepEqual(r.rounds, [[7], [8]]);
  const waiting = p.wait(8, 1_000);
  r.settle.get(8)?.();
  assert.equal(await waiting, true);
  const drained = p.drain(1_000);
  r.settle.get(7)?.();
  await drained;
  assert.equal(p.size, 0);
});

test('a failed destroy is tried again in the next rounds: the pair stays pending (an ADD waiting for it keeps waiting) until it is destroyed', async () => {
  const rounds: number[][] = [];
  let failing = 2;
  const p = new PendingDestructions(
    (indexes) => {
      rounds.push([...indexes]);
      return indexes.map(() => (failing-- > 0 ? Promise.reject(new Error('EBUSY')) : Promise.resolve()));
    },
    { intervalMs: 5 },
  );
  p.reap(11);
  const waited = p.wait(11, 1_000);
  await new Promise((res) => setTimeout(res, 8));
  assert.equal(p.size, 1, 'still pending after a failed round');
  assert.equal(await waited, true);
  assert.deepEqual(rounds, [[11], [11], [11]], 'two failed rounds, then destroyed');
  assert.equal(p.size, 0);
});

test('a pair whose destruction keeps failing is given up after `tries` rounds (the next start removes the orphan)', async () => {
  let rounds = 0;
  const p = new PendingDestructions(
    (indexes) => {
      rounds++;
      return indexes.map(() => Promise.reject(new Error('EBUSY')));
    },
    { intervalMs: 0, tries: 3 },
  );
  let givenUp = 0;
  p.reap(12, () => givenUp++);
  await p.drain(1_000);
  assert.equal(p.size, 0);
  assert.equal(rounds, 3);
  assert.equal(givenUp, 1, 'the caller is told');
});
