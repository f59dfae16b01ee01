import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CniError } from './cni-error';
import { DEFAULT_MTU, parseNetConf, requireRanges } from './net-conf';

const base = { cniVersion: '1.0.0', name: 'net', type: 'podwire', ipam: { ranges: [[{ subnet: '10.1.0.0/24' }]] } };
const parse = (v: unknown) => parseNetConf(Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)));
const code = (v: unknown) => {
  try {
    parse(v);
  } catch (err) {
    if (err instanceof CniError) return err.code;
    throw err;
  }
  return 0;
};

test('a valid config', () => {
  const c = parse({ ...base, dns: { nameservers: ['1.1.1.1'], search: ['a'] }, mtu: 1400 });
  assert.equal(c.cniVersion, '1.0.0');
  assert.equal(c.name, 'net');
  assert.equal(c.mtu, 1400);
  assert.deepEqual(c.dns, { nameservers: ['1.1.1.1'], search: ['a'] });
  assert.equal(c.rangeSets.length, 1);
  assert.equal(parse(base).mtu, DEFAULT_MTU);
  assert.equal(parse(base).dns, undefined);
});

test('decode failures are code 6', () => {
  assert.equal(code(''), 6);
  assert.equal(code('{'), 6);
  assert.equal(code('[]'), 6);
  assert.equal(code('"x"'), 6);
});

test('version problems are code 1; a missing version is code 7', () => {
  assert.equal(code({ ...base, cniVersion: '0.2.0' }), 1);
  assert.equal(code({ ...base, cniVersion: '2.0.0' }), 1);
  assert.equal(code({ ...base, cniVersion: undefined }), 7);
});

test('invalid fields are code 7, unsupported ipam type is code 2', () => {
  assert.equal(code({ ...base, name: 'bad name' }), 7);
  assert.equal(code({ ...base, type: undefined }), 7);
  assert.equal(code({ ...base, mtu: 10 }), 7);
  assert.equal(code({ ...base, mtu: '1500' }), 7);
  assert.equal(code({ ...base, dns: 'x' }), 7);
  assert.equal(code({ ...base, dns: { nameservers: [1] } }), 7);
  assert.equal(code({ ...base, ipam: { ranges: [[{ subnet: '10.1.0.0/33' }]] } }), 7);
  assert.equal(code({ ...base, ipam: { type: 'dhcp', ranges: [[{ subnet: '10.1.0.0/24' }]] } }), 2);
  assert.equal(code({ ...base, ipam: { type: 'host-local', ranges: [[{ subnet: '10.1.0.0/24' }]] } }), 0);
});

test('ADD needs ranges', () => {
  assert.throws(
    () => requireRanges(parse({ ...base, ipam: undefined })),
    (e: unknown) => e instanceof CniError && e.code === 7,
  );
});

test('ipam without ranges (or no ipam) parses to no range sets: the node pod CIDRs are used; an empty list is still invalid', () => {
  assert.deepEqual(parse({ ...base, ipam: { type: 'podwire' } }).rangeSets, []);
  assert.deepEqual(parse({ ...base, ipam: {} }).rangeSets, []);
  assert.deepEqual(parse({ ...base, ipam: undefined }).rangeSets, []);
  assert.equal(code({ ...base, ipam: { ranges: [] } }), 7);
  assert.equal(code({ ...base, ipam: { ranges: 'x' } }), 7);
});

test("ipam.routes: parsed when present, absent otherwise; a bridge+host-local config's other keys are ignored", () => {
  assert.equal(parse(base).routes, undefined);
  const hostLocal = {
    ...base,
    ipam: {
      type: 'host-local',
      ranges: [...base.ipam.ranges, [{ subnet: 'fd14::/64' }]],
      routes: [{ dst: '10.214.0.0/16' }, { dst: '::/0', gw: 'fe80::1' }],
      dataDir: '/run/cni/ipam',
      resolvConf: '/etc/resolv.conf',
      name: 'x',
    },
  };
  assert.deepEqual(parse(hostLocal).routes, [
    { family: 4, dst: '10.214.0.0', dstLen: 16 },
    { family: 6, dst: '::', dstLen: 0, gw: 'fe80::1' },
  ]);
  assert.deepEqual(parse({ ...base, ipam: { routes: [] } }).routes, []);
  assert.equal(code({ ...base, ipam: { ...base.ipam, routes: [{ dst: 'x' }] } }), 7);
  // A family the ranges give no address of: refused before anything is leased.
  assert.throws(
    () => parse({ ...base, ipam: { ...base.ipam, routes: [{ dst: '10.214.0.0/16' }, { dst: 'fd14::/64' }] } }),
    (e: unknown) => e instanceof CniError && e.code === 7 && /ipam.routes\[1\] is an IPv6 route but ipam.ranges give no IPv6 address/.test(e.message),
  );
});

test('ipam keys that would change behaviour and are not supported are code 7, named', () => {
  const message = (v: unknown) => {
    try {
      parse(v);
    } catch (err) {
      if (err instanceof CniError) return `${err.code} ${err.message} | ${err.details}`;
      throw err;
    }
    return 'accepted';
  };
  assert.match(
    message({ ...base, ipam: { subnet: '10.1.0.0/24', gateway: '10.1.0.1' } }),
    /^7 unsupported ipam key "subnet", "gateway" \| host-local's legacy single-range form/,
  );
  assert.match(
    message({ ...base, ipam: { ...base.ipam, addresses: [{ address: '10.1.0.9/24' }] } }),
    /^7 unsupported ipam key "addresses" \| podwire reads "ipam" keys "type", "ranges", "routes" and ignores "dataDir", "resolvConf", "name"/,
  );
});
