import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { E2eHarness } from '../lib/e2e-harness';
import { type IpRoute, ipJson, settledVeths } from '../lib/netns';
import { netConf } from '../lib/shim';
import { readStore } from '../lib/store-rows';
import { mapPool } from '../lib/pool';

const NET = 'e2e-conc';
const CONF = netConf(NET, '10.233.0.0/24');
let h: E2eHarness;

before(async () => {
  h = await E2eHarness.start('conc');
});
after(async () => {
  await h.cleanup();
});

function addressOf(json: Record<string, unknown> | undefined): string {
  const ips = json?.ips as Array<{ address: string }> | undefined;
  return (ips?.[0]?.address ?? '').split('/')[0] ?? '';
}

test('50 concurrent ADDs get 50 distinct addresses, each routed to its own veth', async () => {
  const names = Array.from({ length: 50 }, (_, i) => `c${i}`);
  const nss = await mapPool(names, 16, (n) => h.netns.create(n));
  const adds = await Promise.all(nss.map((ns, i) => h.shim({ command: 'ADD', containerId: `ctr-${names[i]}`, netns: ns.path, ifname: 'eth0', config: CONF })));
  for (const a of adds) assert.equal(a.exitCode, 0, a.stdout + a.stderr);
  const addrs = adds.map((a) => addressOf(a.json));
  assert.equal(new Set(addrs).size, 50, 'addresses are unique');

  const rows = readStore(h.server.dbPath);
  const leases = rows.leases.filter((l) => l.network === NET);
  assert.equal(leases.length, 50);
  assert.deepEqual([...leases.map((l) => l.address)].sort(), [...addrs].sort());
  assert.equal(rows.attachments.filter((a) => a.network === NET && a.state === 'ready').length, 50);

  const routes = (await ipJson<IpRoute>(['route', 'show', 'proto', '199'])).filter((r) => r.dst.startsWith('10.233.'));
  assert.equal(routes.length, 50);
  assert.equal(new Set(routes.map((r) => r.dev)).size, 50, 'one host veth per pod');

  const dels = await Promise.all(nss.map((ns, i) => h.shim({ command: 'DEL', containerId: `ctr-${names[i]}`, netns: ns.path, ifname: 'eth0', config: CONF })));
  for (const d of dels) assert.equal(d.exitCode, 0, d.stdout);
  assert.equal(readStore(h.server.dbPath).leases.filter((l) => l.network === NET).length, 0);
  assert.equal((await ipJson<IpRoute>(['route', 'show', 'proto', '199'])).filter((r) => r.dst.startsWith('10.233.')).length, 0);
  for (const ns of nss) await h.netns.remove(ns.name);
});

test('a server restart keeps leases and results; allocation continues round-robin', async () => {
  const ns = await h.netns.create('keep');
  const call = { containerId: 'ctr-keep', netns: ns.path, ifname: 'eth0', config: CONF };
  const add = await h.shim({ command: 'ADD', ...call });
  assert.equal(add.exitCode, 0, add.stdout);
  const addr = addressOf(add.json);

  assert.equal(await h.server.stop(), 0, 'SIGTERM stops podwired cleanly');
  await h.server.start();

  const rows = readStore(h.server.dbPath);
  assert.deepEqual(
    rows.leases.filter((l) => l.container_id === 'ctr-keep').map((l) => l.address),
    [addr],
  );
  const get = await h.shim({ command: 'GET', ...call });
  assert.equal(get.exitCode, 0, get.stdout);
  assert.deepEqual(get.json, add.json, 'GET returns the stored ADD result');
  const check = await h.shim({ command: 'CHECK', ...call });
  assert.equal(check.exitCode, 0, check.stdout);

  const ns2 = await h.netns.create('next');
  const add2 = await h.shim({ command: 'ADD', containerId: 'ctr-next', netns: ns2.path, ifname: 'eth0', config: CONF });
  assert.equal(add2.exitCode, 0, add2.stdout);
  assert.notEqual(addressOf(add2.json), addr);

  for (const [c, n] of [
    ['ctr-keep', ns.path],
    ['ctr-next', ns2.path],
  ] as const) {
    const del = await h.shim({ command: 'DEL', containerId: c, netns: n, ifname: 'eth0', config: CONF });
    assert.equal(del.exitCode, 0, del.stdout);
  }
});

test('racing calls for one container end consistent: duplicate ADDs, and a DEL racing an ADD', async () => {
  const ns = await h.netns.create('race');
  const call = { containerId: 'ctr-race', netns: ns.path, ifname: 'eth0', config: CONF };
  const state = async () => {
    const rows = readStore(h.server.dbPath);
    const attachments = rows.attachments.filter((a) => a.container_id === 'ctr-race').length;
    return {
      attachments,
      leases: rows.leases.filter((l) => l.container_id === 'ctr-race').length,
      // A DEL's pair is destroyed in the background: wait for it when none should be left.
      podVeths: (await settledVeths(ns.name, attachments)).length,
    };
  };
  for (let round = 0; round < 5; round++) {
    const [a, b] = await Promise.all([h.shim({ command: 'ADD', ...call }), h.shim({ command: 'ADD', ...call })]);
    assert.deepEqual([a.exitCode, b.exitCode].sort(), [0, 1], `exactly one duplicate ADD wins: ${a.stdout} ${b.stdout}`);
    assert.equal((a.exitCode === 1 ? a : b).json?.code, 101);
    assert.deepEqual(await state(), { attachments: 1, leases: 1, podVeths: 1 });

    const [del, add] = await Promise.all([h.shim({ command: 'DEL', ...call }), h.shim({ command: 'ADD', ...call })]);
    assert.equal(del.exitCode, 0, del.stdout);
    // Serialised per container: the ADD ran either before the DEL (101: still attached) or after it (success).
    const s = await state();
    if (add.exitCode === 0) assert.deepEqual(s, { attachments: 1, leases: 1, podVeths: 1 });
    else {
      assert.equal(add.json?.code, 101, add.stdout);
      assert.deepEqual(s, { attachments: 0, leases: 0, podVeths: 0 });
    }
    assert.equal((await h.shim({ command: 'DEL', ...call })).exitCode, 0);
    assert.deepEqual(await state(), { attachments: 0, leases: 0, podVeths: 0 });
  }
});
