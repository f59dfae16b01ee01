/**
 * Which ranges a network allocates from on a node with (or without) pod CIDRs: a range
 * inside a pod CIDR and a range of the network's own subnet are both fine; only a range
 * that straddles a pod CIDR is refused, and no message recommends a configuration that
 * collides.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeRangeSet } from '@podwire/ipam-store';
import { CniError } from '../cni/cni-error';
import { parseNetConf } from '../cni/net-conf';
import { NodePodCidrs } from '../peers/node-pod-cidrs';
import { resolveRanges } from './network-ranges';

const node = new NodePodCidrs('node-a', ['10.244.1.0/24', 'fd10:244:1::/64']);
const v4Only = new NodePodCidrs('node-b', ['10.244.2.0/24']);

function conf(ranges?: unknown) {
  return parseNetConf(Buffer.from(JSON.stringify({ cniVersion: '1.1.0', name: 'n', type: 'podwire', ipam: ranges === undefined ? {} : { ranges } })));
}

function described(ranges: ReturnType<typeof resolveRanges>): string[] {
  return ranges.map(describeRangeSet);
}

function refused(fn: () => unknown, message: RegExp): CniError {
  let caught: unknown;
  assert.throws(fn, (e: unknown) => {
    caught = e;
    return e instanceof CniError && e.code === 7 && message.test(e.message);
  });
  assert.ok(caught instanceof CniError);
  return caught;
}

test('without ranges: the node pod CIDRs, one set per family; code 7 without any', () => {
  assert.deepEqual(described(resolveRanges(conf(), node)), [
    '10.244.1.1-10.244.1.254 (10.244.1.0/24)',
    'fd10:244:1::1-fd10:244:1:0:ffff:ffff:ffff:ffff (fd10:244:1::/64)',
  ]);
  refused(() => resolveRanges(conf(), undefined), /no address ranges and this node has no pod CIDR/);
  refused(() => resolveRanges(conf(), new NodePodCidrs('node-c', [])), /no pod CIDR/);
});

test('a range inside a pod CIDR is kept as configured', () => {
  const inside = conf([[{ subnet: '10.244.1.0/24', rangeStart: '10.244.1.100', rangeEnd: '10.244.1.150' }], [{ subnet: 'fd10:244:1::/64' }]]);
  assert.equal(resolveRanges(inside, node), inside.rangeSets);
});

test("a secondary network's own subnet, disjoint from every pod CIDR, is kept (the Multus example's shape)", () => {
  const own = conf([[{ subnet: '10.245.0.0/24' }], [{ subnet: 'fd00:10:245::/64' }]]);
  assert.equal(resolveRanges(own, node), own.rangeSets);
  // A family the node has no pod CIDR for is disjoint too.
  assert.equal(resolveRanges(own, v4Only), own.rangeSets);
  // A subnet that contains the pod CIDR, with a range outside it, is disjoint by its range.
  const besideIt = conf([[{ subnet: '10.244.0.0/16', rangeStart: '10.244.200.1', rangeEnd: '10.244.200.50' }]]);
  assert.equal(resolveRanges(besideIt, node), besideIt.rangeSets);
  // Without node pod CIDRs any valid range goes.
  assert.equal(resolveRanges(own, undefined), own.rangeSets);
});

test('a range that overlaps a pod CIDR without lying inside it is code 7, naming both; the advice collides with nothing', () => {
  const wider = refused(
    () => resolveRanges(conf([[{ subnet: '10.244.0.0/16' }]]), node),
    /ipam range 10\.244\.0\.1-10\.244\.255\.254 \(10\.244\.0\.0\/16\) overlaps this node's pod CIDR 10\.244\.1\.0\/24 without lying inside it/,
  );
  assert.match(wider.details, /node node-a owns 10\.244\.1\.0\/24, fd10:244:1::\/64/);
  assert.match(wider.details, /either inside it .* or wholly outside it/);
  assert.match(wider.details, /never get the same address/);
  refused(
    () => resolveRanges(conf([[{ subnet: '10.244.0.0/22', rangeStart: '10.244.1.200', rangeEnd: '10.244.2.10' }]]), node),
    /10\.244\.1\.200-10\.244\.2\.10 .* overlaps this node's pod CIDR 10\.244\.1\.0\/24/,
  );
  refused(
    () => resolveRanges(conf([[{ subnet: '10.245.0.0/24' }], [{ subnet: 'fd10:244::/32' }]]), node),
    /fd10:244::1-.* overlaps this node's pod CIDR fd10:244:1::\/64/,
  );
});

test("a range using another node's pod CIDR (as the peer source reports it) is code 7 naming that node; the rest stays fine", () => {
  const withPeers = new NodePodCidrs('node-a', ['10.244.1.0/24']);
  withPeers.learnPeers([
    { name: 'node-b', podCIDRs: ['10.244.2.0/24', 'fd10:244:2::/64'] },
    { name: 'node-c', podCIDRs: ['10.244.3.0/24'] },
  ]);
  const inside = refused(
    () => resolveRanges(conf([[{ subnet: '10.244.2.0/24' }]]), withPeers),
    /10\.244\.2\.1-10\.244\.2\.254 \(10\.244\.2\.0\/24\) overlaps the pod CIDR 10\.244\.2\.0\/24 of node node-b/,
  );
  assert.match(inside.details, /routed to node node-b.*this node's own pod CIDRs are 10\.244\.1\.0\/24/);
  refused(() => resolveRanges(conf([[{ subnet: '10.244.0.0/16', rangeStart: '10.244.3.7', rangeEnd: '10.244.3.9' }]]), withPeers), /of node node-c/);
  refused(() => resolveRanges(conf([[{ subnet: 'fd10:244::/32' }]]), withPeers), /fd10:244:2::\/64 of node node-b/);
  // A secondary subnet of its own and the node's own CIDR are still served.
  assert.equal(resolveRanges(conf([[{ subnet: '10.250.0.0/24' }]]), withPeers).length, 1);
  assert.equal(resolveRanges(conf(), withPeers).length, 1);
  // A peer that leaves frees its CIDR.
  withPeers.learnPeers([{ name: 'node-c', podCIDRs: ['10.244.3.0/24'] }]);
  assert.equal(resolveRanges(conf([[{ subnet: '10.244.2.0/24' }]]), withPeers).length, 1);
});
