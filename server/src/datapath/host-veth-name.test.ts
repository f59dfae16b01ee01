import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostVethName } from './host-veth-name';

test('host veth names are deterministic, at most 15 chars, and differ per key part', () => {
  const n = hostVethName('net', 'ctr', 'eth0');
  assert.match(n, /^pw[0-9a-f]{12}$/);
  assert.ok(n.length <= 15);
  assert.equal(hostVethName('net', 'ctr', 'eth0'), n);
  assert.notEqual(hostVethName('net2', 'ctr', 'eth0'), n);
  assert.notEqual(hostVethName('net', 'ctr2', 'eth0'), n);
  assert.notEqual(hostVethName('net', 'ctr', 'eth1'), n);
  // The separator keeps ("a", "bc") and ("ab", "c") apart.
  assert.notEqual(hostVethName('a', 'bc', 'x'), hostVethName('ab', 'c', 'x'));
  assert.ok(hostVethName('n', 'x'.repeat(1000), 'eth0').length <= 15);
});
