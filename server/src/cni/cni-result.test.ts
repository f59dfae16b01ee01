import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type CniResult, resultForVersion } from './cni-result';

const stored: CniResult = {
  cniVersion: '1.1.0',
  interfaces: [
    { name: 'pw0123456789ab', mac: '02:00:00:00:00:01', mtu: 1500 },
    { name: 'eth0', mac: '02:00:00:00:00:02', mtu: 1500, sandbox: '/var/run/netns/x' },
  ],
  ips: [{ address: '10.1.0.2/32', gateway: '169.254.1.1', interface: 1 }],
  routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
  dns: { nameservers: ['10.0.0.10'] },
};

test('1.1.0 keeps interface mtu', () => {
  const r = resultForVersion(stored, '1.1.0');
  assert.equal(r.cniVersion, '1.1.0');
  assert.equal(r.interfaces[1]?.mtu, 1500);
  assert.equal(r.ips[0]?.version, undefined);
});

test('1.0.0 drops mtu and has no ip version', () => {
  const r = resultForVersion(stored, '1.0.0');
  assert.deepEqual(r.interfaces[1], { name: 'eth0', mac: '02:00:00:00:00:02', sandbox: '/var/run/netns/x' });
  assert.deepEqual(r.ips[0], { address: '10.1.0.2/32', gateway: '169.254.1.1', interface: 1 });
  assert.deepEqual(r.dns, { nameservers: ['10.0.0.10'] });
});

test('0.3.x and 0.4.0 put "version" in each ips entry', () => {
  for (const v of ['0.3.0', '0.3.1', '0.4.0'] as const) {
    const r = resultForVersion(stored, v);
    assert.equal(r.cniVersion, v);
    assert.deepEqual(r.ips[0], { version: '4', address: '10.1.0.2/32', gateway: '169.254.1.1', interface: 1 });
    assert.equal(r.interfaces[0]?.mtu, undefined);
  }
});
