import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routesOfStoredResult } from './result-routes';

test("a stored result's routes are what the checks without a config expect; unreadable means the defaults", () => {
  const stored = JSON.stringify({ cniVersion: '1.1.0', routes: [{ dst: '10.214.2.0/24', gw: '169.254.1.1' }, { dst: '::/0', gw: 'fe80::1' }] });
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
