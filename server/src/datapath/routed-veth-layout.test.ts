import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CniError } from '../cni/cni-error';
import { parseIpamRoutes } from '../cni/ipam-routes';
import { RtnlError } from '../rtnl/rtnl-error';
import type { PodAddress } from './datapath';
import { podRoutes, podStepFailure, resultRoutes } from './routed-veth-layout';

const dual: PodAddress[] = [
  { address: '10.214.0.5', family: 4 },
  { address: 'fd14::5', family: 6 },
];

test('without ipam.routes: a default route per family via the gateway (as before issue 14)', () => {
  assert.deepEqual(podRoutes({ addresses: dual }), [
    { family: 4, dst: '0.0.0.0', dstLen: 0, gw: '169.254.1.1' },
    { family: 6, dst: '::', dstLen: 0, gw: 'fe80::1' },
  ]);
  assert.deepEqual(resultRoutes({ addresses: dual }), [
    { dst: '0.0.0.0/0', gw: '169.254.1.1' },
    { dst: '::/0', gw: 'fe80::1' },
  ]);
  assert.deepEqual(resultRoutes({ addresses: [{ address: '10.214.0.5', family: 4 }] }), [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }]);
});

test('with ipam.routes: exactly those, via the gateway unless they name their own; [] is no route', () => {
  const routes = parseIpamRoutes([{ dst: '10.214.0.0/16' }, { dst: '192.0.2.0/24', gw: '10.214.0.1' }, { dst: 'fd14::/48' }]);
  assert.deepEqual(resultRoutes({ addresses: dual, routes }), [
    { dst: '10.214.0.0/16', gw: '169.254.1.1' },
    { dst: '192.0.2.0/24', gw: '10.214.0.1' },
    { dst: 'fd14::/48', gw: 'fe80::1' },
  ]);
  assert.deepEqual(podRoutes({ addresses: dual, routes: [] }), []);
});

test('a configured route of a family the pod has no address of is code 7', () => {
  assert.throws(
    () => podRoutes({ addresses: [{ address: '10.214.0.5', family: 4 }], routes: parseIpamRoutes([{ dst: 'fd14::/48' }]) }),
    (e: unknown) => e instanceof CniError && e.code === 7 && /IPv6 route fd14::\/48 but the pod gets no IPv6 address/.test(e.message),
  );
});

test('EEXIST from the pod end is a route clash, named with its remedy; anything else passes through', () => {
  const clash = new RtnlError('RTM_NEWROUTE 0.0.0.0/0 via 169.254.1.1 dev 7 onlink', 17);
  const noRoutes = podStepFailure(clash, { podIfname: 'net1' });
  assert.ok(noRoutes instanceof CniError);
  assert.equal(noRoutes.code, 103);
  assert.equal(noRoutes.message, 'failed to wire the pod network: a route for net1 already exists in the pod');
  assert.match(
    noRoutes.details,
    /^RTM_NEWROUTE 0\.0\.0\.0\/0 .*: EEXIST; the pod already has a default route through another interface: give this network "ipam\.routes"/,
  );
  const withRoutes = podStepFailure(clash, { podIfname: 'net1', routes: [] });
  assert.ok(withRoutes instanceof CniError);
  assert.match(withRoutes.details, /already has a route to one of this network's "ipam\.routes" destinations/);
  const other = new RtnlError('RTM_NEWADDR', 1);
  assert.equal(podStepFailure(other, { podIfname: 'net1' }), other);
});
