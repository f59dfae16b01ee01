/**
 * podwired is SIGKILLed at random moments while concurrent ADDs and DELs are in flight, then
 * restarted; a runtime that retries what failed must converge to a clean, consistent state.
 * Sized for CI (PODWIRE_KILL_ROUNDS / PODWIRE_KILL_PODS make it longer).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { E2eHarness } from '../lib/e2e-harness';
import { type IpRoute, ipJson, settledVeths } from '../lib/netns';
import { mapPool } from '../lib/pool';
import { type ShimOutcome, netConf } from '../lib/shim';
import { readStore } from '../lib/store-rows';

const NET = 'e2e-kill';
const SUBNET = '10.230.0.0/24';
const CONF = netConf(NET, SUBNET, { cniVersion: '1.1.0' });
const ROUNDS = Number(process.env.PODWIRE_KILL_ROUNDS ?? 3);
const PODS = Number(process.env.PODWIRE_KILL_PODS ?? 200);
const CONCURRENCY = Number(process.env.PODWIRE_KILL_CONCURRENCY ?? 200);
let h: E2eHarness;
const netnsPaths: string[] = [];

before(async () => {
  h = await E2eHarness.start('kill');
  // (16 at a time: one `ip netns add` after another took seconds.)
  const made = await mapPool(
    Array.from({ length: PODS }, (_, i) => i),
    16,
    (i) => h.netns.create(`k${i}`),
  );
  netnsPaths.push(...made.map((n) => n.path));
});
after(async () => {
  await h.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function call(i: number, command: 'ADD' | 'DEL' | 'CHECK'): Promise<ShimOutcome> {
  return h.shim({ command, containerId: `kill-${i}`, netns: netnsPaths[i] ?? '', ifname: 'eth0', config: CONF, env: { PODWIRE_RETRY_TIMEOUT_MS: '15000' } });
}

async function pool<T>(items: number[], fn: (i: number) => Promise<T>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < items.length) await fn(items[next++] ?? 0);
    }),
  );
}

test(`${ROUNDS} rounds of ADD/DELs over ${PODS} pods, ${CONCURRENCY} at a time, with podwired killed mid-flight, converge to a consistent state`, async () => {
  const up = new Set<number>();
  let kills = 0;
  let failedCalls = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Each round flips a random half of the pods: ADD the ones that are down, DEL the others.
    const flips = Array.from({ length: PODS }, (_, i) => i).filter(() => Math.random() < 0.5);
    const failed = new Set<number>();
    const killer = (async () => {
      await sleep(30 + Math.random() * 300);
      await h.server.kill();
      kills++;
      await sleep(Math.random() * 200);
      await h.server.start();
    })();
    await pool(flips, async (i) => {
      const out = await call(i, up.has(i) ? 'DEL' : 'ADD');
      if (out.exitCode !== 0) {
        assert.ok(out.json, `a failed call still prints one JSON document: ${out.stdout}`);
        failed.add(i);
        failedCalls++;
      }
    });
    await killer;
    for (const i of flips)
      if (up.has(i)) up.delete(i);
      else up.add(i);

    // The runtime retries until each pod is where it wants it: a failed ADD is cleaned up
    // with DEL and tried again; a failed DEL is repeated.
    for (const i of failed) {
      for (let attempt = 0; ; attempt++) {
        assert.ok(attempt < 5, `pod ${i} converges`);
        const del = await call(i, 'DEL');
        if (del.exitCode !== 0) continue;
        if (!up.has(i)) break;
        const add = await call(i, 'ADD');
        if (add.exitCode === 0) break;
      }
    }

    // Invariants, from the store and the kernel.
    const rows = readStore(h.server.dbPath);
    const mine = rows.attachments.filter((a) => a.network === NET);
    const leases = rows.leases.filter((l) => l.network === NET);
    assert.equal(new Set(leases.map((l) => l.address)).size, leases.length, 'no address leased twice');
    assert.deepEqual(
      mine.map((a) => a.container_id).sort(),
      [...up].map((i) => `kill-${i}`).sort(),
      `round ${round}: exactly the pods that should be up have attachments`,
    );
    assert.ok(
      mine.every((a) => a.state === 'ready'),
      'no pending attachment survives',
    );
    assert.deepEqual(leases.map((l) => l.container_id).sort(), mine.map((a) => a.container_id).sort(), 'one lease per attachment, none orphaned');
    const routes = (await ipJson<IpRoute>(['route', 'show', 'proto', '199'])).filter((r) => r.dst.startsWith('10.230.0.'));
    assert.deepEqual(routes.map((r) => r.dst).sort(), leases.map((l) => l.address).sort(), 'one host route per lease, no orphan route');
    const hostIfs = new Set(mine.map((a) => a.host_ifname));
    assert.deepEqual(
      routes.filter((r) => !hostIfs.has(r.dev ?? '')),
      [],
      'routes point at the attachments’ veths',
    );
    // Every pod's netns read, 16 at a time (one `ip` after another took seconds per round).
    const veths = await mapPool(
      Array.from({ length: PODS }, (_, i) => i),
      16,
      (i) => settledVeths(`${h.netns.prefix}-k${i}`, up.has(i) ? 1 : 0),
    );
    for (const [i, links] of veths.entries()) assert.equal(links.length, up.has(i) ? 1 : 0, `pod ${i} has ${up.has(i) ? 'its' : 'no'} veth`);
    await pool([...up], async (i) => {
      const check = await call(i, 'CHECK');
      assert.equal(check.exitCode, 0, `pod ${i} passes CHECK: ${check.stdout}`);
    });
  }
  console.log(`${ROUNDS} rounds, ${kills} kills, ${failedCalls} calls failed and were retried to convergence`);
  await pool([...up], async (i) => {
    const del = await call(i, 'DEL');
    assert.equal(del.exitCode, 0, del.stdout);
  });
  assert.deepEqual(
    readStore(h.server.dbPath).leases.filter((l) => l.network === NET),
    [],
  );
});
