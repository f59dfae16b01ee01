import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detachedName, hostVethName, isDetachedName, provisionalName, randomMac } from './link-identity';

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

test('provisional and detached names fit the kernel, differ from derived names and from each other', () => {
  const names = Array.from({ length: 200 }, provisionalName);
  for (const n of names) {
    assert.match(n, /^py[0-9a-f]{12}$/);
    assert.equal(isDetachedName(n), false);
  }
  assert.equal(new Set(names).size, names.length);
  assert.equal(detachedName(0x7fffffff), 'pz7fffffff');
  assert.ok(isDetachedName(detachedName(42)));
  assert.equal(isDetachedName(hostVethName('net', 'ctr', 'eth0')), false);
});

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
