import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Lease } from '@podwire/ipam-store';
import { podCidrUsage } from './pool-usage';

const lease = (network: string, address: string, family: 4 | 6): Lease => ({
  network,
  containerId: 'c',
  ifname: 'eth0',
  address,
  family,
  prefixLength: 24,
  setIndex: 0,
});

test('a node pod CIDR counts the leases of every network inside it', () => {
  const leases = [lease('a', '10.226.1.5', 4), lease('b', '10.226.2.9', 4), lease('a', '10.227.0.1', 4), lease('a', 'fd99:226::5', 6)];
  assert.deepEqual(podCidrUsage('10.226.0.0/16', leases), { network: '', rangeSet: '10.226.0.0/16', used: 2, size: 65534, free: 65532 });
  const v6 = podCidrUsage('fd99:226::/64', leases);
  assert.equal(v6.used, 1);
  assert.equal(v6.size, Number.MAX_SAFE_INTEGER);
});

test('an address two networks hold (a database from before addresses were unique per node) counts once', () => {
  const leases = [lease('a', '10.226.1.5', 4), lease('b', '10.226.1.5', 4), lease('b', '10.226.1.6', 4)];
  assert.equal(podCidrUsage('10.226.0.0/16', leases).used, 2);
});
