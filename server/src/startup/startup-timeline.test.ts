import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StartupTimeline } from './startup-timeline';

test('marks are kept in the order of their times, rounded to 0.1 ms, and settled promises mark once', async () => {
  let now = 10.04;
  const t = new StartupTimeline(() => now);
  t.mark('a');
  let settle: () => void = () => undefined;
  const p = t.whenSettled('b', new Promise<void>((r) => (settle = r)));
  now = 30.26;
  t.mark('c');
  now = 20.55;
  settle();
  await p;
  const failed = t.whenSettled('d', Promise.reject(new Error('x')));
  await assert.rejects(failed);
  assert.deepEqual(Object.entries(t.toJSON()), [
    ['a', 10],
    ['b', 20.6],
    ['d', 20.6],
    ['c', 30.3],
  ]);
});
