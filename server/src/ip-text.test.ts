import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ipaddr from 'ipaddr.js';
import { parseCidrText } from './ip-text';

test('parseCidrText answers what ipaddr.parseCIDR answers, for both families', () => {
  for (const text of ['10.249.0.0/16', '0.0.0.0/0', '169.254.1.1/32', 'fd00::/64', '::/0', 'fe80::1/128', '::ffff:10.0.0.1/128']) {
    const [addr, len] = parseCidrText(text);
    const [want, wantLen] = ipaddr.parseCIDR(text);
    assert.equal(addr.kind(), want.kind(), text);
    assert.equal(addr.toString(), want.toString(), text);
    assert.equal(len, wantLen, text);
  }
});

test('parseCidrText throws for what is not a CIDR', () => {
  for (const text of ['10.249.0.0', '10.249.0.0/33', 'fd00::/129', 'nonsense', '', '10.0.0.0/8/8']) {
    assert.throws(() => parseCidrText(text), Error, text);
  }
});
