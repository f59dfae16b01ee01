import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { rt } from 'netlink';
import { linkState, operStateName, protocolName, routesThrough } from './kernel-facts';

test('operstate and protocol names as iproute2 prints them', () => {
  assert.equal(operStateName(6), 'up');
  assert.equal(operStateName(2), 'down');
  assert.equal(operStateName(3), 'lowerlayerdown');
  assert.equal(operStateName(undefined), 'unknown');
  assert.equal(operStateName(42), '42');
  assert.equal(protocolName(199), 'podwire');
  assert.equal(protocolName('BOOT'), 'boot');
  assert.equal(protocolName(250), '250');
});

test('a link with only its own addresses', () => {
  const link = { kind: 'link', data: { index: 7 }, attrs: { ifname: 'pwabc', address: Buffer.from([2, 0, 0, 0, 0, 7]), mtu: 1400, operstate: 6 } } as unknown as rt.LinkMessage;
  const addrs = [
    { kind: 'address', data: { index: 7, prefixlen: 32, family: 2 }, attrs: { local: Buffer.from([169, 254, 1, 1]) } },
    { kind: 'address', data: { index: 8, prefixlen: 24, family: 2 }, attrs: { local: Buffer.from([10, 0, 0, 1]) } },
    { kind: 'address', data: { index: 7, prefixlen: 64, family: 10 }, attrs: { address: Buffer.from('fe800000000000000000000000000001', 'hex') } },
  ] as unknown as rt.AddressMessage[];
  assert.deepEqual(linkState(link, addrs), {
    present: true,
    name: 'pwabc',
    index: 7,
    mac: '02:00:00:00:00:07',
    mtu: 1400,
    operState: 'up',
    addresses: ['169.254.1.1/32', 'fe80::1/64'],
    detail: '',
  });
});

test('routes: main table, through the link only; default routes spelled as CIDRs', () => {
  const routes = [
    { kind: 'route', data: { family: 2, dstLen: 32, table: 254, protocol: 199 }, attrs: { dst: Buffer.from([10, 226, 0, 5]), oif: 7 } },
    { kind: 'route', data: { family: 2, dstLen: 0, table: 254, protocol: 'BOOT' }, attrs: { gateway: Buffer.from([169, 254, 1, 1]), oif: 7 } },
    { kind: 'route', data: { family: 10, dstLen: 0, table: 254, protocol: 'BOOT' }, attrs: { gateway: Buffer.from('fe800000000000000000000000000001', 'hex'), oif: 7 } },
    { kind: 'route', data: { family: 2, dstLen: 32, table: 255, protocol: 'KERNEL' }, attrs: { dst: Buffer.from([10, 226, 0, 5]), oif: 7 } },
    { kind: 'route', data: { family: 2, dstLen: 32, table: 254, protocol: 199 }, attrs: { dst: Buffer.from([10, 226, 0, 6]), oif: 9 } },
  ] as unknown as rt.RouteMessage[];
  assert.deepEqual(routesThrough(routes, { index: 7, name: 'pwabc' }), [
    { destination: '10.226.0.5/32', gateway: '', device: 'pwabc', protocol: 'podwire' },
    { destination: '0.0.0.0/0', gateway: '169.254.1.1', device: 'pwabc', protocol: 'boot' },
    { destination: '::/0', gateway: 'fe80::1', device: 'pwabc', protocol: 'boot' },
  ]);
});
