import { test } from 'node:test';
import assert from 'node:assert/strict';
import { vtepAddress, vtepIdentity, vtepMac } from './vtep';

test("VTEP addresses are the pod CIDRs' network addresses", () => {
  assert.equal(vtepAddress('10.244.2.0/24'), '10.244.2.0');
  assert.equal(vtepAddress('fd99:220:2::/64'), 'fd99:220:2::');
  assert.deepEqual(vtepIdentity('10.219.0.2', ['10.220.2.0/24', 'fd99:220:2::/64']), { mac: '0e:77:0a:db:00:02', addresses: ['10.220.2.0', 'fd99:220:2::'] });
});

test('VTEP MACs: locally administered unicast, 32 bits unique per node, by underlay family', () => {
  assert.equal(vtepMac('10.219.0.2', ['10.220.2.0/24']), '0e:77:0a:db:00:02');
  assert.equal(vtepMac('fd99:219::2', ['10.220.2.0/24', 'fd99:220:2::/64']), '0e:78:0a:dc:02:00');
  assert.equal(vtepMac('fd99:219::2', ['fd99:220:2::/64']), '0e:79:00:02:00:00');
  assert.equal(vtepMac('fd99:219::3', ['fd99:220:3::/64']), '0e:79:00:03:00:00');
  assert.equal(vtepMac('fd99:219::2', []), undefined);
  const first = parseInt(vtepMac('10.219.0.2', [])?.slice(0, 2) ?? '0', 16);
  assert.equal(first & 1, 0, 'unicast');
  assert.equal(first & 2, 2, 'locally administered');
  // Different node addresses, different MACs (the IPv4 underlay rule is injective).
  const macs = new Set<string>();
  for (let i = 0; i < 256; i++) for (const j of [0, 1, 255]) macs.add(vtepMac(`10.0.${j}.${i}`, []) ?? '');
  assert.equal(macs.size, 256 * 3);
});
