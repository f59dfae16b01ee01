import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomMac } from './random-mac';

test('random MACs are unicast, locally administered, well formed and differ', () => {
  const macs = Array.from({ length: 200 }, randomMac);
  for (const mac of macs) {
    assert.match(mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    const first = parseInt(mac.slice(0, 2), 16);
    assert.equal(first & 1, 0, `${mac} is unicast`);
    assert.equal(first & 2, 2, `${mac} is locally administered`);
  }
  assert.equal(new Set(macs).size, macs.length);
});
