/**
 * 50,000 leases: allocation stays correct and cheap. Prints timings; asserts
 * only correctness (timings depend on the machine and its disk).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIp } from './ip-address';
import { type RangeSet, parseRangeSets } from './ip-range';
import { type OpenOptions, SqliteIpamStore } from './sqlite-ipam-store';
import { addCommitted, attachment, dbPathIn, makeTempDir, rawConnection, removeTempDir, scalar } from './test-support';

const LEASES = 50_000;
const CYCLES = 1_000;

let dir = '';
before(() => {
  dir = makeTempDir();
});
after(() => removeTempDir(dir));

function ipValue(text: string): bigint {
  const v = parseIp(text);
  assert.ok(v);
  return v.value;
}

function percentiles(samplesUs: number[]): string {
  const s = [...samplesUs].sort((a, b) => a - b);
  const at = (q: number): string => (s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN).toFixed(1);
  return `p50 ${at(0.5)} µs, p99 ${at(0.99)} µs, max ${at(1)} µs`;
}

function microsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1000;
}

test(`allocate/release with ${LEASES} leases present`, () => {
  const dbPath = dbPathIn(dir);
  const sets: RangeSet[] = parseRangeSets([[{ subnet: '10.128.0.0/16', gateway: '10.128.0.1' }]]);
  let store = new SqliteIpamStore(dbPath);

  const fillStart = process.hrtime.bigint();
  store.batch(() => {
    for (let i = 0; i < LEASES; i++) addCommitted(store, attachment(`fill-${i}`), sets);
  });
  console.log(`filled ${LEASES} leases in one transaction in ${(microsSince(fillStart) / 1000).toFixed(0)} ms`);

  const raw = rawConnection(dbPath);
  assert.equal(scalar(raw, 'SELECT count(*) FROM leases'), LEASES);
  assert.equal(scalar(raw, 'SELECT count(DISTINCT addr_key) FROM leases'), LEASES);
  // .0 network and .1 gateway skipped: the fill is exactly 10.128.0.2 .. 10.128.0.2 + 49,999
  const first = ipValue('10.128.0.2');
  const lastFilled = first + BigInt(LEASES - 1);
  assert.equal(store.get(attachment('fill-0'))?.leases[0]?.address, '10.128.0.2');
  assert.equal(store.get(attachment(`fill-${LEASES - 1}`))?.leases[0]?.address, '10.128.195.81');
  assert.equal(lastFilled, ipValue('10.128.195.81'));

  let previous = lastFilled;
  const seen = new Set<string>();
  const cycle = (label: string, id: string): { addUs: number; removeUs: number } => {
    const t0 = process.hrtime.bigint();
    const [lease] = addCommitted(store, attachment(id), sets);
    const addUs = microsSince(t0);
    assert.ok(lease, label);
    const v = ipValue(lease.address);
    // round-robin: strictly after the previous allocation, never a filled or re-used address
    assert.ok(v > previous, `${label}: ${lease.address} after ${previous}`);
    assert.ok(!seen.has(lease.address), `${label}: ${lease.address} handed out twice`);
    seen.add(lease.address);
    previous = v;
    const t1 = process.hrtime.bigint();
    assert.ok(store.remove(attachment(id)), label);
    return { addUs, removeUs: microsSince(t1) };
  };

  const run = (label: string, options: OpenOptions | undefined, inOneBatch: boolean): void => {
    store.close();
    store = new SqliteIpamStore(dbPath, options);
    const addUs: number[] = [];
    const removeUs: number[] = [];
    const loop = (): void => {
      for (let i = 0; i < CYCLES; i++) {
        const t = cycle(label, `${label}-${i}`);
        addUs.push(t.addUs);
        removeUs.push(t.removeUs);
      }
    };
    if (inOneBatch) store.batch(loop);
    else loop();
    console.log(`[${label}] ${CYCLES} cycles at ${LEASES} leases: allocate+commit ${percentiles(addUs)}; release ${percentiles(removeUs)}`);
  };

  run('synchronous=FULL (default), one transaction per call', undefined, false);
  run('synchronous=NORMAL, one transaction per call', { synchronous: 'normal' }, false);
  run('inside one batch (allocation cost without the fsync of a commit)', undefined, true);

  assert.equal(scalar(raw, 'SELECT count(*) FROM leases'), LEASES);
  assert.equal(scalar(raw, 'SELECT count(*) FROM attachments'), LEASES);

  // Worst case: a set with no cursor yet starts at the bottom of the 50,000-long used run.
  const other = parseRangeSets([[{ subnet: '10.128.0.0/16', rangeEnd: '10.128.255.253', gateway: '10.128.0.1' }]]);
  const t0 = process.hrtime.bigint();
  const [lease] = addCommitted(store, attachment('walker'), other);
  console.log(`[worst case] allocation walking a contiguous run of ${LEASES} used addresses: ${microsSince(t0).toFixed(0)} µs`);
  // the first free address above the fill and the 3 * CYCLES released ones
  assert.equal(lease?.address, '10.128.195.82');

  const usage = store.usage('net1', sets)[0];
  assert.deepEqual(usage, { set: sets[0]?.id, used: LEASES + 1, size: 65533 });
  raw.close();
  store.close();
});
