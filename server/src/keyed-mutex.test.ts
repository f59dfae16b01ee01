import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedMutex } from './keyed-mutex';

const tick = () => new Promise((r) => setImmediate(r));

/** A job that logs its start, yields once, and logs its end. */
const recorder = (log: string[]) => (name: string) => async () => {
  log.push(`${name} start`);
  await tick();
  log.push(`${name} end`);
};

test('calls for one key run one at a time, in order', async () => {
  const m = new KeyedMutex();
  const log: string[] = [];
  const job = recorder(log);
  await Promise.all([m.run('k', job('a')), m.run('k', job('b')), m.run('k', job('c'))]);
  assert.deepEqual(log, ['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
  assert.equal(m.size, 0);
});

test('different keys overlap', async () => {
  const m = new KeyedMutex();
  const log: string[] = [];
  const job = recorder(log);
  await Promise.all([m.run('x', job('x')), m.run('y', job('y'))]);
  assert.deepEqual(log.slice(0, 2), ['x start', 'y start']);
});

test('a failing call does not block the next one and its error reaches its caller', async () => {
  const m = new KeyedMutex();
  const failed = m.run('k', async () => {
    throw new Error('boom');
  });
  const next = m.run('k', async () => 42);
  await assert.rejects(failed, /boom/);
  assert.equal(await next, 42);
  assert.equal(m.size, 0);
});
