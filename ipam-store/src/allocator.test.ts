import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type UsedLookup, chunkOf, findNextFree, firstFreeIn } from './allocator';
import { parseIp } from './ip-address';
import { type RangeSet, parseRangeSets } from './ip-range';

function ip(text: string): bigint {
  const v = parseIp(text);
  if (v === undefined) throw new Error(text);
  return v.value;
}

/** A UsedLookup over an in-memory set that also records how many rows it returned. */
function lookup(used: Iterable<bigint>): UsedLookup & { decodes: number; calls: number } {
  const sorted = [...used].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const fn = Object.assign(
    (lo: bigint, hi: bigint, limit: number) => {
      const out = sorted.filter((u) => u >= lo && u <= hi).slice(0, limit);
      fn.calls += 1;
      const chunk = chunkOf(out);
      const valueAt = (i: number) => {
        fn.decodes += 1;
        return chunk.valueAt(i);
      };
      return { length: chunk.length, valueAt };
    },
    { decodes: 0, calls: 0 },
  );
  return fn;
}

function only(raw: unknown): RangeSet {
  const [s] = parseRangeSets(raw);
  if (s === undefined) throw new Error('no set');
  return s;
}

test('first free skips used and reserved addresses', () => {
  const s = only([[{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.0', rangeEnd: '10.0.0.255', gateway: '10.0.0.2' }]]);
  const r = s.ranges[0];
  assert.ok(r);
  // .0 network, .1 used, .2 gateway, .3 used -> .4
  assert.equal(firstFreeIn(r, r.first, r.last, lookup([ip('10.0.0.1'), ip('10.0.0.3')])), ip('10.0.0.4'));
  // broadcast is never returned
  assert.equal(firstFreeIn(r, ip('10.0.0.255'), r.last, lookup([])), undefined);
});

test('a used run longer than the chunk sizes is walked to its end', () => {
  const s = only([[{ subnet: '10.0.0.0/16' }]]);
  const used: bigint[] = [];
  for (let i = 1n; i <= 5000n; i++) used.push(ip('10.0.0.0') + i);
  const l = lookup(used);
  const found = findNextFree(s, undefined, l);
  assert.equal(found?.value, ip('10.0.0.0') + 5001n);
  assert.ok(l.calls < 20, `walked in ${l.calls} chunks`);
  assert.ok(l.decodes < 3 * l.calls, `contiguous chunks are skipped, not decoded row by row (${l.decodes} decodes)`);
});

test('runs broken by reserved addresses and holes are still walked exactly', () => {
  const s = only([[{ subnet: '10.0.0.0/16', gateway: '10.0.0.100' }]]);
  const base = ip('10.0.0.0');
  const used: bigint[] = [];
  // 1..99 used, 100 is the gateway, 101..3000 used except 2500
  for (let i = 1n; i <= 3000n; i++) if (i !== 100n && i !== 2500n) used.push(base + i);
  assert.equal(findNextFree(s, undefined, lookup(used))?.value, base + 2500n);
  assert.equal(findNextFree(s, base + 2500n, lookup(used))?.value, base + 3001n);
  // a used run ending exactly at the end of the range, then wrap
  const s2 = only([[{ subnet: '10.1.0.0/24', rangeStart: '10.1.0.10', rangeEnd: '10.1.0.250' }]]);
  const run: bigint[] = [];
  for (let n = 10; n <= 250; n++) if (n !== 12) run.push(ip(`10.1.0.${n}`));
  assert.equal(findNextFree(s2, ip('10.1.0.20'), lookup(run))?.value, ip('10.1.0.12'));
  assert.equal(findNextFree(s2, ip('10.1.0.20'), lookup([...run, ip('10.1.0.12')])), undefined);
});

test('round-robin continues after the cursor, then wraps and ends at the cursor', () => {
  const s = only([[{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.10', rangeEnd: '10.0.0.14' }]]);
  assert.equal(findNextFree(s, ip('10.0.0.11'), lookup([]))?.value, ip('10.0.0.12'));
  assert.equal(findNextFree(s, ip('10.0.0.14'), lookup([]))?.value, ip('10.0.0.10'));
  // everything but the cursor is used: the cursor itself comes last
  const used = [10, 11, 13, 14].map((n) => ip(`10.0.0.${n}`));
  assert.equal(findNextFree(s, ip('10.0.0.12'), lookup(used))?.value, ip('10.0.0.12'));
  assert.equal(findNextFree(s, ip('10.0.0.12'), lookup([...used, ip('10.0.0.12')])), undefined);
});

test('ranges of a set are tried in configuration order, starting at the cursor range', () => {
  const s = only([
    [
      { subnet: '10.2.0.0/24', rangeStart: '10.2.0.10', rangeEnd: '10.2.0.11' },
      { subnet: '10.1.0.0/24', rangeStart: '10.1.0.10', rangeEnd: '10.1.0.11' },
    ],
  ]);
  assert.equal(findNextFree(s, undefined, lookup([]))?.value, ip('10.2.0.10'));
  assert.equal(findNextFree(s, ip('10.2.0.11'), lookup([]))?.value, ip('10.1.0.10'));
  const found = findNextFree(s, ip('10.1.0.11'), lookup([]));
  assert.equal(found?.value, ip('10.2.0.10'));
  assert.equal(found?.range.subnet, '10.2.0.0/24');
  // a cursor outside the set restarts at the first range
  assert.equal(findNextFree(s, ip('192.168.0.1'), lookup([]))?.value, ip('10.2.0.10'));
});
