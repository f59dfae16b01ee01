import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routesOfStoredResult, storedRoutesReader } from './result-routes';

test("a stored result's routes are what the checks without a config expect; unreadable means the defaults", () => {
  const stored = JSON.stringify({
    cniVersion: '1.1.0',
    routes: [
      { dst: '10.214.2.0/24', gw: '169.254.1.1' },
      { dst: '::/0', gw: 'fe80::1' },
    ],
  });
  assert.deepEqual(routesOfStoredResult(stored), [
    { family: 4, dst: '10.214.2.0', dstLen: 24, gw: '169.254.1.1' },
    { family: 6, dst: '::', dstLen: 0, gw: 'fe80::1' },
  ]);
  assert.equal(routesOfStoredResult(undefined), undefined);
  assert.equal(routesOfStoredResult(''), undefined);
  assert.equal(routesOfStoredResult('{'), undefined);
  assert.equal(routesOfStoredResult(JSON.stringify({ cniVersion: '1.1.0' })), undefined);
  assert.equal(routesOfStoredResult(JSON.stringify({ routes: [{ dst: 'nonsense' }] })), undefined);
});

test('storedRoutesReader parses each distinct route list once and answers like routesOfStoredResult', () => {
  const read = storedRoutesReader();
  const a = JSON.stringify({ ips: [{ address: '10.1.0.2/32' }], routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }] });
  const b = JSON.stringify({ ips: [{ address: '10.1.0.3/32' }], routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }] });
  const c = JSON.stringify({ routes: [{ dst: '10.0.0.0/8', gw: '169.254.1.1' }] });
  const first = read(a);
  assert.deepEqual(first, routesOfStoredResult(a));
  assert.equal(read(b), first, 'the same list, shared');
  assert.deepEqual(read(c), routesOfStoredResult(c));
  assert.notEqual(read(c), first);
  for (const unreadable of [undefined, '', '{', JSON.stringify({ routes: 'no' }), JSON.stringify({ routes: [{ dst: 'nonsense' }] })]) {
    assert.equal(read(unreadable), undefined, String(unreadable));
  }
});
