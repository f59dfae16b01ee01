import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CniError } from '../cni/cni-error';
import { podMtu } from './pod-mtu';

const vxlan = { maxPodMtu: () => 1450 };

test('without encapsulation the network config decides (1500 by default)', () => {
  assert.equal(podMtu({ mtu: 1500 }, undefined), 1500);
  assert.equal(podMtu({ mtu: 9000, mtuGiven: true }, { maxPodMtu: () => undefined }), 9000);
});

test('with encapsulation: no mtu → the largest that fits; a smaller one kept; a larger one refused with code 7 naming the largest', () => {
  assert.equal(podMtu({ mtu: 1500 }, vxlan), 1450);
  assert.equal(podMtu({ mtu: 1400, mtuGiven: true }, vxlan), 1400);
  assert.equal(podMtu({ mtu: 1450, mtuGiven: true }, vxlan), 1450);
  assert.throws(
    () => podMtu({ mtu: 1451, mtuGiven: true }, vxlan),
    (e: unknown) => e instanceof CniError && e.code === 7 && /1451 is too large/.test(e.message) && /largest MTU that fits .* is 1450/.test(e.details ?? ''),
  );
});
