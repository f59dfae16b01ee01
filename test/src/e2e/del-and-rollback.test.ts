import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { E2eHarness } from '../lib/e2e-harness';
import { type IpLink, type IpRoute, hostLinks, ipJson, settledVeths } from '../lib/netns';
import { REPO_ROOT } from '../lib/paths';
import { mustRun, runCommand } from '../lib/run-command';
import { hostInterfaceOf, netConf, resultAddress } from '../lib/shim';
import { readStore } from '../lib/store-rows';

const NET = 'e2e-del';
const CONF = netConf(NET, '10.232.0.0/24');
let h: E2eHarness;

before(async () => {
  h = await E2eHarness.start('del');
});
after(async () => {
  await h.cleanup();
});

/** The host end's name podwired derives for an attachment (server/src/datapath/link-identity.ts). */
const { hostVethName } = require(path.join(REPO_ROOT, 'server/dist/datapath/link-identity.js')) as {
  hostVethName: (network: string, containerId: string, ifname: string) => string;
};

/** This server's owner tag (its host links carry the alias `podwire:<tag>`). */
function ownerOf(): string {
  const line = h.server.logRecords().find((r) => typeof r.owner === 'string');
  assert.ok(line, 'podwired logs its owner tag');
  return String(line.owner);
}

function rowsOf(containerId: string) {
  const rows = readStore(h.server.dbPath);
  return {
    attachments: rows.attachments.filter((a) => a.container_id === containerId),
    leases: rows.leases.filter((l) => l.container_id === containerId),
  };
}

/** The host's routes (any table) to one pod address. */
async function hostRoutesTo(address: string): Promise<IpRoute[]> {
  return (await ipJson<IpRoute>(['route', 'show', 'table', 'all'])).filter((r) => r.dst === address || r.dst === `${address}/32`);
}

test('DEL succeeds after the pod netns is already gone, and releases the lease', async () => {
  const ns = await h.netns.create('gone');
  const call = { containerId: 'ctr-gone', netns: ns.path, ifname: 'eth0', config: CONF };
  const add = await h.shim({ command: 'ADD', ...call });
  assert.equal(add.exitCode, 0, add.stdout);
  const hostIf = hostInterfaceOf(add);
  const podIp = resultAddress(add);
  await h.netns.remove(ns.name);
  const del = await h.shim({ command: 'DEL', ...call });
  assert.equal(del.exitCode, 0, del.stdout);
  assert.equal((await runCommand('ip', ['link', 'show', hostIf])).code, 1);
  assert.deepEqual(rowsOf('ctr-gone'), { attachments: [], leases: [] });
  assert.deepEqual(await hostRoutesTo(podIp), [], 'no host route to the pod address');
});

test('a pod netns the runtime removes without a DEL takes its veth pair at once: podwired holds nothing in it, even after a CHECK', async () => {
  const ns = await h.netns.create('nodel');
  const call = { containerId: 'ctr-nodel', netns: ns.path, ifname: 'eth0', config: CONF };
  const add = await h.shim({ command: 'ADD', ...call });
  assert.equal(add.exitCode, 0, add.stdout);
  const check = await h.shim({ command: 'CHECK', ...call, config: { ...CONF, prevResult: add.json } });
  assert.equal(check.exitCode, 0, check.stdout);
  const hostIf = hostInterfaceOf(add);
  const podIp = resultAddress(add);
  assert.equal((await runCommand('ip', ['link', 'show', hostIf])).code, 0);
  await h.netns.remove(ns.name);
  let present = true;
  // 5 s: netns teardown is the kernel's, and slower while other test files run.
  for (const until = Date.now() + 5_000; present && Date.now() < until; ) {
    present = (await runCommand('ip', ['link', 'show', hostIf])).code === 0;
    if (present) await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(present, false, `host end ${hostIf} still there 5 s after its netns was removed: something pins the netns`);
  // The runtime's DEL that follows is fine, and releases the lease.
  const del = await h.shim({ command: 'DEL', ...call });
  assert.equal(del.exitCode, 0, del.stdout);
  assert.deepEqual(rowsOf('ctr-nodel'), { attachments: [], leases: [] });
  assert.deepEqual(await hostRoutesTo(podIp), [], 'no host route to the pod address');
});

test('DEL with an empty CNI_NETNS succeeds and cleans up host side and lease', async () => {
  const ns = await h.netns.create('empty');
  const add = await h.shim({ command: 'ADD', containerId: 'ctr-empty', netns: ns.path, ifname: 'eth0', config: CONF });
  assert.equal(add.exitCode, 0, add.stdout);
  const hostIf = hostInterfaceOf(add);
  const podIp = resultAddress(add);
  const del = await h.shim({ command: 'DEL', containerId: 'ctr-empty', netns: '', ifname: 'eth0', config: CONF });
  assert.equal(del.exitCode, 0, del.stdout);
  assert.equal((await runCommand('ip', ['link', 'show', hostIf])).code, 1);
  assert.deepEqual(await settledVeths(ns.name), []);
  assert.deepEqual(rowsOf('ctr-empty'), { attachments: [], leases: [] });
  assert.deepEqual(await hostRoutesTo(podIp), [], 'no host route to the pod address');
});

test('DEL of a container podwire never saw succeeds', async () => {
  const del = await h.shim({ command: 'DEL', containerId: 'never-added', netns: '/var/run/netns/nope', ifname: 'eth0', config: CONF });
  assert.equal(del.exitCode, 0, del.stdout);
});

test('a datapath failure midway rolls back links, routes and the lease', async () => {
  const ns = await h.netns.create('fail');
  // (The kernel here has no dummy driver: a veth pair inside the pod stands in.)
  // Make the pod's default route (its last step) fail with EEXIST after the veth pair, the
  // address and the neighbour entry were already created.
  await mustRun('ip', ['-n', ns.name, 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1']);
  await mustRun('ip', ['-n', ns.name, 'link', 'set', 'd0', 'up']);
  await mustRun('ip', ['-n', ns.name, 'route', 'add', 'default', 'dev', 'd0']);
  const before = (await hostLinks()).map((l) => l.ifname);

  const add = await h.shim({ command: 'ADD', containerId: 'ctr-fail', netns: ns.path, ifname: 'eth0', config: CONF });
  assert.equal(add.exitCode, 1, add.stdout);
  assert.equal(add.json?.code, 103);
  assert.match(String(add.json?.details), /EEXIST/);

  assert.deepEqual(rowsOf('ctr-fail'), { attachments: [], leases: [] });
  assert.deepEqual((await ipJson<IpLink>(['link', 'show', 'type', 'veth'], ns.name)).map((l) => l.ifname).sort(), ['d0', 'd1'], 'no pod veth left');
  // Only this server's links count: other test files may add host veths meanwhile.
  const hostAfter = (await hostLinks())
    .filter((l) => l.ifname === hostVethName(NET, 'ctr-fail', 'eth0') || (l as { ifalias?: string }).ifalias === `podwire:${ownerOf()}`)
    .map((l) => l.ifname)
    .filter((n) => !before.includes(n));
  assert.deepEqual(hostAfter, [], 'no host veth left');
  const routes = await ipJson<IpRoute>(['route', 'show', 'proto', '199']);
  assert.ok(!routes.some((r) => r.dst.startsWith('10.232.')), JSON.stringify(routes));

  // The same pod succeeds once the obstacle is gone, and gets an address.
  await mustRun('ip', ['-n', ns.name, 'link', 'del', 'd0']);
  const retry = await h.shim({ command: 'ADD', containerId: 'ctr-fail', netns: ns.path, ifname: 'eth0', config: CONF });
  assert.equal(retry.exitCode, 0, retry.stdout);
  const del = await h.shim({ command: 'DEL', containerId: 'ctr-fail', netns: ns.path, ifname: 'eth0', config: CONF });
  assert.equal(del.exitCode, 0);
});

test('ADD fails when the interface already exists in the pod, leaving nothing behind', async () => {
  const ns = await h.netns.create('exists');
  await mustRun('ip', ['-n', ns.name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'e1']);
  const add = await h.shim({ command: 'ADD', containerId: 'ctr-exists', netns: ns.path, ifname: 'eth0', config: CONF });
  assert.equal(add.exitCode, 1);
  assert.equal(add.json?.code, 102);
  assert.deepEqual(rowsOf('ctr-exists'), { attachments: [], leases: [] });
});

test('bad input gets one CNI error JSON and exit 1, and the server keeps serving', async () => {
  const ns = await h.netns.create('bad');
  const cases: Array<{ what: string; call: Parameters<E2eHarness['shim']>[0]; code: number; msg: RegExp }> = [
    { what: 'missing env', call: { command: 'ADD', config: CONF }, code: 4, msg: /CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME/ },
    { what: 'bad JSON', call: { command: 'ADD', containerId: 'c', netns: ns.path, ifname: 'eth0', config: '{"cniVersion":' }, code: 6, msg: /JSON/ },
    { what: 'empty stdin', call: { command: 'ADD', containerId: 'c', netns: ns.path, ifname: 'eth0', config: '' }, code: 6, msg: /empty/ },
    {
      what: 'unknown version',
      call: { command: 'ADD', containerId: 'c', netns: ns.path, ifname: 'eth0', config: { ...CONF, cniVersion: '9.9.9' } },
      code: 1,
      msg: /9\.9\.9/,
    },
    {
      what: 'stdin over 16 MiB',
      call: { command: 'ADD', containerId: 'c', netns: ns.path, ifname: 'eth0', config: `{"pad":"${'x'.repeat(17 * 1024 * 1024)}"}` },
      code: 6,
      msg: /16 MiB/,
    },
    {
      what: 'overlapping ranges',
      call: {
        command: 'ADD',
        containerId: 'c',
        netns: ns.path,
        ifname: 'eth0',
        config: { ...CONF, ipam: { ranges: [[{ subnet: '10.232.0.0/24' }], [{ subnet: '10.232.0.128/25' }]] } },
      },
      code: 7,
      msg: /ranges/,
    },
    { what: 'hostile ifname', call: { command: 'ADD', containerId: 'c', netns: ns.path, ifname: '../../etc', config: CONF }, code: 4, msg: /IFNAME/ },
    { what: 'ifname too long', call: { command: 'ADD', containerId: 'c', netns: ns.path, ifname: 'x'.repeat(16), config: CONF }, code: 4, msg: /IFNAME/ },
    {
      what: 'netns is another namespace type',
      call: { command: 'ADD', containerId: 'c', netns: '/proc/self/ns/mnt', ifname: 'eth0', config: CONF },
      code: 4,
      msg: /not a network namespace/,
    },
    {
      what: 'bad subnet',
      call: { command: 'ADD', containerId: 'c', netns: ns.path, ifname: 'eth0', config: netConf(NET, '10.300.0.0/24') },
      code: 7,
      msg: /ranges/,
    },
    { what: 'bad container id', call: { command: 'ADD', containerId: '-x;rm', netns: ns.path, ifname: 'eth0', config: CONF }, code: 4, msg: /CONTAINERID/ },
    { what: 'bad ifname', call: { command: 'ADD', containerId: 'c', netns: ns.path, ifname: 'a/b', config: CONF }, code: 4, msg: /IFNAME/ },
    {
      what: 'netns is a regular file',
      call: { command: 'ADD', containerId: 'c', netns: '/etc/hostname', ifname: 'eth0', config: CONF },
      code: 4,
      msg: /not a network namespace/,
    },
    {
      what: 'netns missing',
      call: { command: 'ADD', containerId: 'c', netns: '/var/run/netns/none-such', ifname: 'eth0', config: CONF },
      code: 4,
      msg: /cannot be opened/,
    },
    { what: 'host netns', call: { command: 'ADD', containerId: 'c', netns: '/proc/self/ns/net', ifname: 'eth0', config: CONF }, code: 4, msg: /host's own/ },
  ];
  for (const c of cases) {
    const r = await h.shim(c.call);
    assert.equal(r.exitCode, 1, `${c.what}: ${r.stdout}`);
    assert.ok(r.json, `${c.what}: stdout is one JSON document: ${r.stdout}`);
    assert.equal(r.json.code, c.code, `${c.what}: ${r.stdout}`);
    assert.match(String(r.json.msg), c.msg, `${c.what}: ${r.stdout}`);
    assert.equal(typeof r.json.cniVersion, 'string');
  }
  assert.deepEqual(rowsOf('c'), { attachments: [], leases: [] });
  const ok = await h.shim({ command: 'ADD', containerId: 'c', netns: ns.path, ifname: 'eth0', config: CONF });
  assert.equal(ok.exitCode, 0, ok.stdout);
});

test('40 concurrent DELs through the shim: each answers with its host side detached, and every pair is gone within 5 s of its DEL (1 s when idle)', async () => {
  const ids = Array.from({ length: 40 }, (_, i) => `ctr-fast-${i}`);
  const nets = await Promise.all(ids.map((id) => h.netns.create(id.replace('ctr-', ''))));
  const adds = await Promise.all(ids.map((id, i) => h.shim({ command: 'ADD', containerId: id, netns: nets[i]?.path ?? '', ifname: 'eth0', config: CONF })));
  for (const a of adds) assert.equal(a.exitCode, 0, a.stdout);
  const answered: number[] = [];
  await Promise.all(
    ids.map(async (id, i) => {
      const del = await h.shim({ command: 'DEL', containerId: id, netns: nets[i]?.path ?? '', ifname: 'eth0', config: CONF });
      answered[i] = Date.now();
      assert.equal(del.exitCode, 0, del.stdout);
    }),
  );
  // At the answer: no lease, no attachment, no host veth under its name, no host route.
  assert.deepEqual(
    ids.flatMap((id) => rowsOf(id).leases),
    [],
  );
  assert.deepEqual(
    ids.flatMap((id) => rowsOf(id).attachments),
    [],
  );
  const names = new Set(adds.map((a) => hostInterfaceOf(a)));
  assert.equal(names.size, ids.length);
  assert.deepEqual(
    (await hostLinks()).filter((l) => names.has(l.ifname)),
    [],
  );
  const addresses = new Set(adds.map((a) => resultAddress(a)));
  assert.equal(addresses.size, ids.length);
  assert.deepEqual(
    (await ipJson<IpRoute>(['route', 'show', 'table', 'main'])).filter((r) => addresses.has(r.dst)),
    [],
    'no host route to any of their addresses',
  );
  // Then each pair is destroyed by the background reaper soon after its DEL.
  for (let i = 0; i < ids.length; i++) {
    const ns = nets[i]?.name ?? '';
    for (;;) {
      const left = await ipJson<IpLink>(['link', 'show', 'type', 'veth'], ns);
      if (left.length === 0) break;
      // (1 s on an idle machine; 5 s while other test files run at the same time.)
      assert.ok(Date.now() - (answered[i] ?? 0) < 5_000, `${ids[i]}: its pair is gone within 5 s of the DEL`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
});

/** STATUS until podwired has reconciled (code 50 meanwhile), as a runtime does after a restart. */
async function untilReady(): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const status = await h.shim({ command: 'STATUS', config: { ...CONF, cniVersion: '1.1.0' } });
    if (status.exitCode === 0) return;
    assert.equal(status.json?.code, 50, status.stdout);
    assert.ok(Date.now() < deadline, 'ready within 15 s of the restart');
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("a link podwire did not create holding an ADD's host veth name is never tagged or removed: the ADD fails (102), DEL and a restart's reconcile leave it", async () => {
  const ns = await h.netns.create('foreign');
  const call = { containerId: 'ctr-foreign', netns: ns.path, ifname: 'eth0', config: CONF };
  // The host veth name this key derives: from an ADD, DEL'd at once.
  const first = await h.shim({ command: 'ADD', ...call });
  assert.equal(first.exitCode, 0, first.stdout);
  const name = hostInterfaceOf(first);
  assert.match(name, /^pw[0-9a-f]{12}$/);
  assert.equal((await h.shim({ command: 'DEL', ...call })).exitCode, 0);
  const peer = `zf${process.pid.toString(16)}`;
  await mustRun('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', peer]);
  const foreign = async () =>
    (await ipJson<IpLink & { ifalias?: string }>(['link', 'show']))
      .filter((l) => l.ifname === name || l.ifname === peer)
      .map((l) => `${l.ifname}${l.ifalias ? ` ${l.ifalias}` : ''}`)
      .sort();
  const planted = [name, peer].sort();
  try {
    const add = await h.shim({ command: 'ADD', ...call });
    assert.equal(add.exitCode, 1, add.stdout);
    assert.equal(add.json?.code, 102, add.stdout);
    assert.match(String(add.json?.msg), new RegExp(`host interface ${name} already exists and podwire did not create it`));
    assert.deepEqual(await foreign(), planted, 'not tagged, not removed');
    assert.deepEqual(rowsOf('ctr-foreign'), { attachments: [], leases: [] });
    assert.deepEqual(await settledVeths(ns.name), [], 'nothing of the failed ADD left in the pod');

    assert.equal((await h.shim({ command: 'DEL', ...call })).exitCode, 0);
    assert.deepEqual(await foreign(), planted, 'DEL leaves it');
    assert.equal(await h.server.stop(), 0);
    await h.server.start();
    await untilReady();
    assert.deepEqual(await foreign(), planted, "the restart's reconcile leaves it");
  } finally {
    await runCommand('ip', ['link', 'del', name]);
  }
});

test('a pod address the host already routes elsewhere (a route podwire did not create): the ADD fails naming that route, which stays as it was', async () => {
  const ns = await h.netns.create('routed');
  const other = `zr${process.pid.toString(16)}`;
  await mustRun('ip', ['link', 'add', other, 'type', 'veth', 'peer', 'name', `${other}p`]);
  try {
    await mustRun('ip', ['link', 'set', other, 'up']);
    await mustRun('ip', ['route', 'add', '10.232.0.201/32', 'dev', other, 'proto', 'static']);
    const add = await h.shim({ command: 'ADD', containerId: 'ctr-routed', netns: ns.path, ifname: 'eth0', config: CONF, args: 'IP=10.232.0.201' });
    assert.equal(add.exitCode, 1, add.stdout);
    assert.equal(add.json?.code, 103, add.stdout);
    assert.match(`${String(add.json?.msg)} ${String(add.json?.details)}`, new RegExp(`10\\.232\\.0\\.201/32 dev ${other} proto static`));
    assert.deepEqual(
      (await ipJson<IpRoute>(['route', 'show', '10.232.0.201/32'])).map((r) => `${r.dev} ${r.protocol}`),
      [`${other} static`],
    );
    assert.deepEqual(rowsOf('ctr-routed'), { attachments: [], leases: [] });
    assert.deepEqual(await settledVeths(ns.name), []);
  } finally {
    await runCommand('ip', ['link', 'del', other]);
  }
});
