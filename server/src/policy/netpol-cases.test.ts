/**
 * The model against the upstream netpol suite's cases: for every case and probed port, the
 * test oracle (test-support/netpol-oracle.ts, its own reading of the API) and `why` (the
 * policy module's, which the compiler shares) each give the whole x/y/z matrix, and both
 * must equal the hand-written table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KEYS, formatGrid, parseGrid } from '../test-support/netpol-fixtures';
import { oracleAllows } from '../test-support/netpol-oracle';
import { CASES, caseWorld, modelOf } from '../test-support/netpol-cases';
import { parseWhyArgs, why } from './why';

function matrix(allowed: (from: string, to: string) => boolean): Map<string, boolean> {
  const m = new Map<string, boolean>();
  for (const from of KEYS) for (const to of KEYS) if (from !== to) m.set(`${from}>${to}`, allowed(from, to));
  return m;
}

for (const c of CASES) {
  test(c.name, () => {
    const raw = caseWorld(c);
    const world = modelOf(raw);
    for (const probe of c.probes) {
      const expected = formatGrid(parseGrid(probe.grid));
      const label = `${probe.port}/${probe.protocol}`;
      assert.deepEqual(
        formatGrid(matrix((from, to) => oracleAllows(raw, { from, to, port: probe.port, protocol: probe.protocol }))),
        expected,
        `oracle, ${label}`,
      );
      assert.deepEqual(
        formatGrid(matrix((from, to) => why(world, { src: { pod: from }, dst: { pod: to }, port: probe.port, protocol: probe.protocol }).allowed)),
        expected,
        `why, ${label}`,
      );
    }
  });
}

test('why names the deciding policies and rules', () => {
  const c = CASES.find((x) => x.name.startsWith('stacked'))!;
  const world = modelOf(caseWorld(c));
  const fromYb = why(world, { src: { pod: 'y/b' }, dst: { pod: 'x/a' }, port: 80, protocol: 'TCP' });
  assert.equal(fromYb.allowed, true);
  assert.deepEqual(fromYb.ingress.isolatedBy, ['x/from-b', 'x/from-y']);
  assert.deepEqual(fromYb.ingress.allowedBy, [{ policy: 'x/from-y', rule: 0, peer: 0, port: 'any' }]);
  const fromZa = why(world, { src: { pod: 'z/a' }, dst: { pod: 'x/a' }, port: 80, protocol: 'TCP' });
  assert.equal(fromZa.allowed, false);
  assert.match(
    fromZa.text,
    /^DENIED\negress: z\/a is not isolated for egress, allowed\ningress: DENIED: x\/a is isolated by x\/from-b, x\/from-y and no rule allows it$/,
  );
  // An address outside every pod: only ipBlocks can admit it.
  const cidr = modelOf(caseWorld(CASES.find((x) => x.name.startsWith('ipBlock with except'))!));
  assert.equal(why(cidr, { src: { ip: '10.42.9.9' }, dst: { pod: 'x/a' }, port: 80, protocol: 'TCP' }).allowed, true);
  assert.equal(why(cidr, { src: { ip: '10.42.2.9' }, dst: { pod: 'x/a' }, port: 80, protocol: 'TCP' }).allowed, false);
  assert.equal(why(cidr, { src: { ip: '10.43.0.1' }, dst: { pod: 'x/a' }, port: 80, protocol: 'TCP' }).allowed, false);
});

test('policy why arguments: pods by namespace/name, addresses, PORT/PROTO', () => {
  assert.deepEqual(parseWhyArgs(['x/a', '10.42.1.2', '81/udp']), { src: { pod: 'x/a' }, dst: { ip: '10.42.1.2' }, port: 81, protocol: 'UDP' });
  assert.deepEqual(parseWhyArgs(['FD00:0::1', 'y/b', '80']), { src: { ip: 'fd00::1' }, dst: { pod: 'y/b' }, port: 80, protocol: 'TCP' });
  assert.throws(() => parseWhyArgs(['x/a', 'y/b', '80/icmp']), /PORT\/PROTO expected/);
  assert.throws(() => parseWhyArgs(['x/a', 'nope', '80']), /neither namespace\/name nor an address/);
  assert.throws(() => parseWhyArgs(['x/a', 'y/b']), /usage: policy why/);
});
