import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KernelAddress, KernelLink, KernelRoute } from '../rtnl/kernel-objects';
import { linkState, operStateName, protocolName, routesThrough } from './kernel-facts';

test('operstate and protocol names as iproute2 prints them', () => {
  assert.equal(operStateName(6), 'up');
  assert.equal(operStateName(2), 'down');
  assert.equal(operStateName(3), 'lowerlayerdown');
  assert.equal(operStateName(undefined), 'unknown');
  assert.equal(operStateName(42), '42');
  assert.equal(protocolName(199), 'podwire');
  assert.equal(protocolName(198), 'podwire-peer');
  assert.equal(protocolName(3), 'boot');
  assert.equal(protocolName(250), '250');
});

test('a link with only its own addresses', () => {
  const link: KernelLink = { index: 7, name: 'pwabc', mac: '02:00:00:00:00:07', up: true, operState: 6, mtu: 1400, alias: '', group: 0, peerIndex: 0 };
  const addrs: KernelAddress[] = [
    { index: 7, family: 4, address: '169.254.1.1', prefixLen: 32 },
    { index: 8, family: 4, address: '10.0.0.1', prefixLen: 24 },
    { index: 7, family: 6, address: 'fe80::1', prefixLen: 64 },
  ];
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
  const route = (r: Partial<KernelRoute>): KernelRoute => ({
    family: 4,
    dst: '0.0.0.0',
    dstLen: 0,
    gateway: '',
    oif: 7,
    table: 254,
    protocol: 3,
    scope: 0,
    type: 1,
    ...r,
  });
  const routes = [
    route({ dst: '10.226.0.5', dstLen: 32, protocol: 199 }),
    route({ gateway: '169.254.1.1' }),
    route({ family: 6, dst: '::', gateway: 'fe80::1' }),
    route({ dst: '10.226.0.5', dstLen: 32, table: 255, protocol: 2 }),
    route({ dst: '10.226.0.6', dstLen: 32, protocol: 199, oif: 9 }),
  ];
  assert.deepEqual(routesThrough(routes, { index: 7, name: 'pwabc' }), [
    { destination: '10.226.0.5/32', gateway: '', device: 'pwabc', protocol: 'podwire' },
    { destination: '0.0.0.0/0', gateway: '169.254.1.1', device: 'pwabc', protocol: 'boot' },
    { destination: '::/0', gateway: 'fe80::1', device: 'pwabc', protocol: 'boot' },
  ]);
});
