import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressKey, formatIp, parseAddressKey, parseIp, prefixMask } from './ip-address';

test('parseIp accepts canonical and non-canonical forms and rejects junk', () => {
  assert.deepEqual(parseIp('10.22.1.7'), { family: 4, value: 0x0a160107n });
  assert.deepEqual(parseIp('FD00::5'), { family: 6, value: (0xfd00n << 112n) | 5n });
  for (const bad of ['', '10.1', '010.1.1.1', '10.1.1.256', '0x0a.1.1.1', 'fe80::1%eth0', '10.0.0.0/8', 'hello', ':::']) {
    assert.equal(parseIp(bad), undefined, bad);
  }
});

test('formatIp is canonical and inverts parseIp', () => {
  assert.equal(formatIp(4, 0x0a160107n), '10.22.1.7');
  assert.equal(formatIp(6, (0xfd00n << 112n) | 5n), 'fd00::5');
  assert.equal(formatIp(6, 0n), '::');
  for (const t of ['0.0.0.0', '255.255.255.255', 'fd00:1:2:3:4:5:6:7', '2001:db8::1']) {
    const ip = parseIp(t);
    assert.ok(ip);
    assert.equal(formatIp(ip.family, ip.value), t);
  }
});

test('address keys are fixed width, sort in address order, IPv4 before IPv6', () => {
  const k1 = addressKey(4, 9n);
  const k2 = addressKey(4, 10n);
  const k3 = addressKey(4, 0xffffffffn);
  const k6 = addressKey(6, 0n);
  assert.equal(k1, '4:00000009');
  assert.equal(k6.length, 34);
  assert.ok(k1 < k2 && k2 < k3 && k3 < k6);
  assert.deepEqual(parseAddressKey(k3), { family: 4, value: 0xffffffffn });
  assert.deepEqual(parseAddressKey(addressKey(6, 12345n)), { family: 6, value: 12345n });
});

test('prefixMask', () => {
  assert.equal(prefixMask(4, 24), 0xffffff00n);
  assert.equal(prefixMask(4, 0), 0n);
  assert.equal(prefixMask(6, 128), (1n << 128n) - 1n);
});
