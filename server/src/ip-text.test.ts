import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ipaddr from 'ipaddr.js';
import { networkCidrText, parseCidrText } from './ip-text';

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

test('networkCidrText answers what ipaddr.networkAddressFromCIDR answers, for both families and every IPv4 prefix length', () => {
  const ipaddrNetwork = (address: string, len: number): string =>
    `${ipaddr.parse(address).kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(`${address}/${len}`) : ipaddr.IPv6.networkAddressFromCIDR(`${address}/${len}`)}/${len}`;
  for (const address of ['10.249.3.7', '255.255.255.255', '0.0.0.0', '192.168.1.129', '172.31.255.1']) {
    for (let len = 0; len <= 32; len++) assert.equal(networkCidrText(address, len), ipaddrNetwork(address, len), `${address}/${len}`);
  }
  for (const [address, len] of [
    ['fd99:1::7', 64],
    ['fe80::1', 10],
    ['::', 0],
    ['2001:db8::ff', 128],
  ] as const) {
    assert.equal(networkCidrText(address, len), ipaddrNetwork(address, len), `${address}/${len}`);
  }
  assert.equal(networkCidrText('10.249.3.7', 16), '10.249.0.0/16');
});

test('networkCidrText throws for what is no address of that length', () => {
  for (const [address, len] of [
    ['10.249.0.300', 16],
    ['10.249.0.1', 33],
    ['nonsense', 8],
    ['fd00::1', 129],
  ] as const) {
    assert.throws(() => networkCidrText(address, len), Error, `${address}/${len}`);
  }
});
