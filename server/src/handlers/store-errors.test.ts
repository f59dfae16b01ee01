import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpamError } from '@podwire/ipam-store';
import { CniError } from '../cni/cni-error';
import { storeErrorToCni } from './store-errors';

test('an address held by another network is 105 naming the holder; a commit conflict is 11 (try again)', () => {
  const inUse = storeErrorToCni(new IpamError('requested-in-use', 'requested address 10.244.1.1 is leased to network podwire, container c1, interface eth0'));
  assert.ok(inUse instanceof CniError);
  assert.equal(inUse.code, 105);
  assert.match(inUse.details, /network podwire, container c1, interface eth0/);
  const conflict = storeErrorToCni(
    new IpamError('conflict', 'address 10.0.0.10 of n/a/eth0 was leased to network m, container x, interface eth0 by another writer meanwhile'),
  );
  assert.equal(conflict.code, 11);
  assert.match(conflict.details, /network m, container x/);
});
