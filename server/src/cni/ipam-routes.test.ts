import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CniError } from './cni-error';
import { parseIpamRoutes, routeDstText } from './ipam-routes';

function failure(v: unknown): { code: number; message: string } {
  try {
    parseIpamRoutes(v);
  } catch (e) {
    assert.ok(e instanceof CniError, String(e));
    return { code: e.code, message: `${e.message} | ${e.details}` };
  }
  assert.fail(`${JSON.stringify(v)} was accepted`);
}

test('absent routes stay absent (default routes apply); an empty list means no routes', () => {
  assert.equal(parseIpamRoutes(undefined), undefined);
  assert.deepEqual(parseIpamRoutes([]), []);
});

test('host-local route syntax: dst per family, optional gw, canonical text', () => {
  assert.deepEqual(
    parseIpamRoutes([{ dst: '0.0.0.0/0' }, { dst: '10.214.0.0/16', gw: '10.214.0.1' }, { dst: 'FD14:0::/64' }, { dst: '::/0', gw: 'fe80::1' }]),
    [
      { family: 4, dst: '0.0.0.0', dstLen: 0 },
      { family: 4, dst: '10.214.0.0', dstLen: 16, gw: '10.214.0.1' },
      { family: 6, dst: 'fd14::', dstLen: 64 },
      { family: 6, dst: '::', dstLen: 0, gw: 'fe80::1' },
    ],
  );
  assert.equal(routeDstText({ dst: 'fd14::', dstLen: 64 }), 'fd14::/64');
});

test('every bad route is code 7 naming the entry and what is wrong', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ dst: '10.0.0.0/8' }, /"ipam.routes" must be a list/],
    [['10.0.0.0/8'], /ipam.routes\[0\] must be an object/],
    [[{}], /ipam.routes\[0\].dst must be a CIDR/],
    [[{ dst: '10.0.0.0' }], /ipam.routes\[0\].dst must be a CIDR/],
    [[{ dst: '10.0/8' }], /dst must be a CIDR/],
    [[{ dst: '10.0.0.0/33' }], /dst must be a CIDR/],
    [[{ dst: '10.1.2.3/8' }], /has host bits set \| did you mean 10.0.0.0\/8/],
    [[{ dst: '10.0.0.0/8', gw: 'x' }], /gw must be an IP address/],
    [[{ dst: '10.0.0.0/8', gw: 'fe80::1' }], /is not of the family of dst/],
    [[{ dst: '10.0.0.0/8', gw: '0.0.0.0' }], /unspecified address/],
    [[{ dst: '10.0.0.0/8', mtu: 1400 }], /sets "mtu", which podwire does not support/],
    [[{ dst: '10.0.0.0/8', table: 100, priority: 5 }], /sets "priority", "table"/],
    [[{ dst: '10.0.0.0/8', via: '1.2.3.4' }], /unknown key "via"/],
    [[{ dst: '10.0.0.0/8' }, { dst: '10.0.0.0/8', gw: '169.254.1.1' }], /ipam.routes\[1\] repeats the destination 10.0.0.0\/8 of ipam.routes\[0\]/],
  ];
  for (const [v, message] of cases) {
    const f = failure(v);
    assert.equal(f.code, 7, JSON.stringify(v));
    assert.match(f.message, message, JSON.stringify(v));
  }
});
