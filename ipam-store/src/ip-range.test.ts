import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpamError } from './ipam-error';
import { parseRangeSets } from './ip-range';

function rejects(raw: unknown, pattern: RegExp): void {
  assert.throws(
    () => parseRangeSets(raw),
    (err: unknown) => {
      assert.ok(err instanceof IpamError, `expected IpamError, got ${String(err)}`);
      assert.equal(err.kind, 'invalid-range');
      assert.match(err.message, pattern);
      return true;
    },
  );
}

const set = (...ranges: unknown[]): unknown => ({ ranges: [ranges] });

test('defaults: IPv4 range is network+1 .. broadcast-1', () => {
  const [s] = parseRangeSets({ ranges: [[{ subnet: '10.22.0.0/24' }]] });
  assert.ok(s);
  const [r] = s.ranges;
  assert.ok(r);
  assert.equal(s.index, 0);
  assert.equal(s.family, 4);
  assert.equal(r.subnet, '10.22.0.0/24');
  assert.equal(r.prefixLength, 24);
  assert.equal(r.rangeStart, '10.22.0.1');
  assert.equal(r.rangeEnd, '10.22.0.254');
  assert.equal(r.gateway, undefined);
  assert.equal(r.size, 254n);
  assert.equal(s.size, 254n);
  assert.equal(s.id, '10.22.0.0/24:10.22.0.1-10.22.0.254');
});

test('defaults: IPv6 range is network+1 .. last address, canonical text', () => {
  const [s] = parseRangeSets([[{ subnet: 'FD00:0:0:0::/64', gateway: 'fd00::1' }]]);
  assert.ok(s);
  const [r] = s.ranges;
  assert.ok(r);
  assert.equal(s.family, 6);
  assert.equal(r.subnet, 'fd00::/64');
  assert.equal(r.rangeStart, 'fd00::1');
  assert.equal(r.rangeEnd, 'fd00::ffff:ffff:ffff:ffff');
  assert.equal(r.gateway, 'fd00::1');
  assert.equal(r.size, (1n << 64n) - 2n); // all but the network address and the gateway
});

test('explicit range, gateway reserved, several sets keep their order', () => {
  const sets = parseRangeSets({
    ranges: [
      [
        { subnet: '10.22.0.0/16', rangeStart: '10.22.1.10', rangeEnd: '10.22.1.200', gateway: '10.22.0.1' },
        { subnet: '10.23.0.0/24', rangeStart: '10.23.0.1', rangeEnd: '10.23.0.9', gateway: '10.23.0.5' },
      ],
      [{ subnet: 'fd00:22::/120', rangeStart: 'fd00:22::10', rangeEnd: 'fd00:22::20' }],
    ],
  });
  assert.equal(sets.length, 2);
  const [v4, v6] = sets;
  assert.ok(v4 && v6);
  assert.equal(v4.ranges.length, 2);
  assert.equal(v4.ranges[0]?.size, 191n); // gateway outside the range: nothing excluded
  assert.deepEqual(v4.ranges[1]?.reserved, [0x0a170005n]);
  assert.equal(v4.ranges[1]?.size, 8n);
  assert.equal(v4.size, 199n);
  assert.equal(v6.index, 1);
  assert.equal(v6.size, 17n);
  assert.equal(v4.id, '10.22.0.0/16:10.22.1.10-10.22.1.200,10.23.0.0/24:10.23.0.1-10.23.0.9');
});

test('explicit range covering network and broadcast reserves them', () => {
  const [s] = parseRangeSets(set({ subnet: '10.9.0.0/29', rangeStart: '10.9.0.0', rangeEnd: '10.9.0.7', gateway: '10.9.0.3' }));
  assert.deepEqual(s?.ranges[0]?.reserved, [0x0a090000n, 0x0a090003n, 0x0a090007n]);
  assert.equal(s?.size, 5n);
});

test('legacy top-level subnet becomes the first set', () => {
  const sets = parseRangeSets({ type: 'host-local', subnet: '10.1.0.0/24', gateway: '10.1.0.1', ranges: [[{ subnet: 'fd00::/120' }]] });
  assert.equal(sets.length, 2);
  assert.equal(sets[0]?.ranges[0]?.subnet, '10.1.0.0/24');
  assert.equal(sets[1]?.family, 6);
});

test('/127 has one usable IPv6 address', () => {
  const [s] = parseRangeSets(set({ subnet: 'fd00::/127' }));
  assert.equal(s?.ranges[0]?.rangeStart, 'fd00::1');
  assert.equal(s?.ranges[0]?.rangeEnd, 'fd00::1');
  assert.equal(s?.size, 1n);
});

test('rejects malformed structure', () => {
  rejects(42, /must be an object/);
  rejects({ ranges: 'x' }, /ranges must be an array/);
  rejects({ ranges: [] }, /at least one range set/);
  rejects({}, /at least one range set/);
  rejects({ ranges: [{ subnet: '10.0.0.0/8' }] }, /ranges\[0\] must be an array/);
  rejects({ ranges: [[]] }, /ranges\[0\] is empty/);
  rejects({ ranges: [['10.0.0.0/8']] }, /ranges\[0\]\[0\] must be an object/);
  rejects({ ranges: [[{ rangeStart: '10.0.0.1' }]] }, /ranges\[0\]\[0\]\.subnet is required/);
});

test('rejects a subnet that is not a CIDR', () => {
  rejects(set({ subnet: '10.22.0.0' }), /subnet "10\.22\.0\.0" is not a CIDR/);
  rejects(set({ subnet: 'foo/8' }), /subnet "foo\/8" is not a CIDR/);
  rejects(set({ subnet: '10.22.0.0/08' }), /is not a CIDR/);
  rejects(set({ subnet: '10.22.0.0/33' }), /prefix length 33, more than 32/);
  rejects(set({ subnet: 'fd00::/129' }), /prefix length 129, more than 128/);
});

test('rejects a subnet with host bits set', () => {
  rejects(set({ subnet: '10.1.2.3/24' }), /subnet 10\.1\.2\.3\/24 has host bits set/);
  rejects(set({ subnet: 'fd00::1/64' }), /subnet fd00::1\/64 has host bits set/);
});

test('rejects subnets without a usable address', () => {
  rejects(set({ subnet: '10.0.0.0/31' }), /10\.0\.0\.0\/31 has no usable address/);
  rejects(set({ subnet: '10.0.0.7/32' }), /10\.0\.0\.7\/32 has no usable address/);
  rejects(set({ subnet: 'fd00::/128' }), /fd00::\/128 has no usable address/);
  // a range holding only the gateway
  rejects(set({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.1', rangeEnd: '10.0.0.1', gateway: '10.0.0.1' }), /no usable address/);
});

test('rejects rangeStart / rangeEnd outside the subnet, malformed, or reversed', () => {
  rejects(set({ subnet: '10.22.0.0/16', rangeStart: '10.23.0.5' }), /ranges\[0\]\[0\]\.rangeStart 10\.23\.0\.5 is not inside subnet 10\.22\.0\.0\/16/);
  rejects(set({ subnet: '10.22.0.0/16', rangeEnd: '10.21.255.255' }), /rangeEnd 10\.21\.255\.255 is not inside subnet/);
  rejects(set({ subnet: '10.22.0.0/16', rangeStart: 'ten' }), /rangeStart "ten" is not an IP address/);
  rejects(set({ subnet: '10.22.0.0/16', rangeStart: 7 }), /rangeStart 7 is not a string/);
  rejects(set({ subnet: '10.22.0.0/16', rangeStart: 'fd00::1' }), /rangeStart fd00::1 is IPv6 but subnet 10\.22\.0\.0\/16 is IPv4/);
  rejects(set({ subnet: '10.22.0.0/16', rangeStart: '10.22.1.200', rangeEnd: '10.22.1.10' }), /rangeStart 10\.22\.1\.200 is after rangeEnd 10\.22\.1\.10/);
});

test('rejects a gateway outside the subnet or on the network/broadcast address', () => {
  rejects(set({ subnet: '10.22.0.0/16', gateway: '10.99.0.1' }), /gateway 10\.99\.0\.1 is not inside subnet 10\.22\.0\.0\/16/);
  rejects(set({ subnet: '10.22.0.0/16', gateway: '10.22.0.0' }), /gateway 10\.22\.0\.0 is the network address/);
  rejects(set({ subnet: '10.22.0.0/16', gateway: '10.22.255.255' }), /gateway 10\.22\.255\.255 is the broadcast address/);
});

test('rejects mixed families within a set', () => {
  rejects(set({ subnet: '10.22.0.0/16' }, { subnet: 'fd00::/64' }), /ranges\[0\]\[1\] \(fd00::\/64 .*\) is IPv6 but ranges\[0\]\[0\] .* is IPv4/);
});

test('rejects overlapping ranges within a set and across sets, naming both', () => {
  rejects(
    set(
      { subnet: '10.22.0.0/16', rangeStart: '10.22.1.0', rangeEnd: '10.22.1.100' },
      { subnet: '10.22.0.0/16', rangeStart: '10.22.1.100', rangeEnd: '10.22.1.200' },
    ),
    /ranges\[0\]\[0\] \(10\.22\.0\.0\/16 10\.22\.1\.0-10\.22\.1\.100\) overlaps ranges\[0\]\[1\] \(10\.22\.0\.0\/16 10\.22\.1\.100-10\.22\.1\.200\)/,
  );
  rejects({ ranges: [[{ subnet: '10.22.0.0/16' }], [{ subnet: '10.22.5.0/24' }]] }, /ranges\[0\]\[0\] .* overlaps ranges\[1\]\[0\]/);
  // same subnet, disjoint ranges: fine
  const sets = parseRangeSets({
    ranges: [
      [{ subnet: '10.22.0.0/16', rangeStart: '10.22.1.0', rangeEnd: '10.22.1.99' }],
      [{ subnet: '10.22.0.0/16', rangeStart: '10.22.1.100', rangeEnd: '10.22.1.200' }],
    ],
  });
  assert.equal(sets.length, 2);
});

test("one range's gateway is reserved in every range that contains it", () => {
  const sets = parseRangeSets({
    ranges: [
      [{ subnet: '10.22.0.0/24', rangeStart: '10.22.0.10', rangeEnd: '10.22.0.19', gateway: '10.22.0.25' }],
      [{ subnet: '10.22.0.0/24', rangeStart: '10.22.0.20', rangeEnd: '10.22.0.29' }],
    ],
  });
  assert.deepEqual(sets[1]?.ranges[0]?.reserved, [0x0a160019n]);
  assert.equal(sets[1]?.size, 9n);
});
