import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRangeSets } from '@podwire/ipam-store';
import { plantPendingAttachment } from '@podwire/ipam-store/dist/legacy-pending';
import { E2eHarness } from '../lib/e2e-harness';
import { type IpRoute, ipJson } from '../lib/netns';
import { mustRun, runCommand } from '../lib/run-command';
import { hostInterfaceOf, netConf, resultAddress } from '../lib/shim';
import { readStore } from '../lib/store-rows';

const NET = 'e2e-reconcile';
const CONF = netConf(NET, '10.236.0.0/24');
const FOREIGN = 'pwf0f0f0f0f0f0';
let h: E2eHarness;

before(async () => {
  h = await E2eHarness.start('recon');
});
after(async () => {
  await runCommand('ip', ['link', 'del', FOREIGN]);
  await h.cleanup();
});

const linkExists = async (name: string) => (await runCommand('ip', ['link', 'show', name])).code === 0;

function ownerOf(): string {
  const line = h.server.logRecords().find((r) => typeof r.owner === 'string');
  assert.ok(line, 'podwired logs its owner tag');
  return String(line.owner);
}

test('after a crash, restart rolls back pending ADDs, removes orphans, keeps and verifies ready pods', async () => {
  const keepNs = await h.netns.create('keep');
  const keep = await h.shim({ command: 'ADD', containerId: 'ctr-keep', netns: keepNs.path, ifname: 'eth0', config: CONF });
  assert.equal(keep.exitCode, 0, keep.stdout);
  const keepHost = hostInterfaceOf(keep);
  const keepIp = resultAddress(keep);
  const owner = ownerOf();

  assert.equal(await h.server.kill(), null, 'SIGKILL: no graceful shutdown');

  // Debris a crash can leave: an ADD of an older podwired (which recorded a `pending` row
  // before wiring) that leased its address and created its veth but never completed ...
  const pendNs = await h.netns.create('pend');
  const pendHost = 'pw0000000000aa';
  const [lease] = plantPendingAttachment(
    h.server.dbPath,
    { network: NET, containerId: 'ctr-pend', ifname: 'eth0', netns: pendNs.path, hostIfname: pendHost },
    parseRangeSets([[{ subnet: '10.236.0.0/24' }]]),
  );
  assert.ok(lease);
  await mustRun('ip', ['link', 'add', pendHost, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pendNs.name]);
  await mustRun('ip', ['link', 'set', pendHost, 'alias', `podwire:${owner}`, 'up']);
  await mustRun('ip', ['route', 'add', `${lease.address}/32`, 'dev', pendHost, 'proto', '199']);
  // ... a host veth of this server that no attachment accounts for ...
  await mustRun('ip', ['link', 'add', 'pw0000000000bb', 'type', 'veth', 'peer', 'name', 'pw0000000000bc']);
  await mustRun('ip', ['link', 'set', 'pw0000000000bb', 'alias', `podwire:${owner}`]);
  // ... and a podwire route to an address no attachment holds, on a live pod's veth.
  await mustRun('ip', ['route', 'add', '10.236.0.250/32', 'dev', keepHost, 'proto', '199']);
  // Another server's veth (a different owner tag) must survive.
  await mustRun('ip', ['link', 'add', FOREIGN, 'type', 'veth', 'peer', 'name', 'pwf0f0f0f0f0f1']);
  await mustRun('ip', ['link', 'set', FOREIGN, 'alias', 'podwire:someoneelse0']);

  await h.server.start();
  // As a runtime does: STATUS until ready. While podwired reconciles, STATUS is code 50.
  const deadline = Date.now() + 15_000;
  for (;;) {
    const status = await h.shim({ command: 'STATUS', config: { ...CONF, cniVersion: '1.1.0' } });
    if (status.exitCode === 0) break;
    assert.equal(status.json?.code, 50, status.stdout);
    assert.ok(Date.now() < deadline, 'podwired became ready');
    await new Promise((r) => setTimeout(r, 50));
  }
  const served = h.server
    .logRecords()
    .filter((r) => r.msg === 'podwired serving')
    .at(-1);
  assert.ok(served);
  assert.deepEqual(served.reconcile, { rolledBack: 1, orphanLinks: 1, orphanRoutes: 1, hostOk: 1, hostDegraded: 0, failed: 0 });
  // The ready pod is verified inside its netns after serving started.
  const verifiedBy = Date.now() + 10_000;
  let verified: Record<string, unknown> | undefined;
  const after = (records: Array<Record<string, unknown>>) => records.slice(records.map((r) => r.msg).lastIndexOf('podwired serving'));
  for (;;) {
    verified = after(h.server.logRecords()).find((r) => r.msg === 'podwired: ready pods verified in their netns');
    if (verified) break;
    assert.ok(Date.now() < verifiedBy, 'the verification finished');
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual({ ...(verified.verification as object), durationMs: 0 }, { total: 1, verified: 1, failed: 0, netnsGone: 0, durationMs: 0 });

  assert.equal(await linkExists(pendHost), false, 'the pending ADD veth is gone');
  assert.deepEqual(await ipJson(['link', 'show'], pendNs.name).then((l) => l.length), 1, 'only lo is left in its netns');
  assert.equal(await linkExists('pw0000000000bb'), false, 'the orphan veth is gone');
  assert.equal(await linkExists(FOREIGN), true, "another server's veth is untouched");
  const rows = readStore(h.server.dbPath);
  assert.deepEqual(
    rows.attachments.map((a) => [a.container_id, a.state]),
    [['ctr-keep', 'ready']],
  );
  assert.deepEqual(
    rows.leases.map((l) => l.address),
    [keepIp],
  );
  const routes = (await ipJson<IpRoute>(['route', 'show', 'proto', '199'])).filter((r) => r.dst.startsWith('10.236.'));
  assert.deepEqual(
    routes.map((r) => [r.dst, r.dev]),
    [[keepIp, keepHost]],
  );

  const check = await h.shim({ command: 'CHECK', containerId: 'ctr-keep', netns: keepNs.path, ifname: 'eth0', config: CONF });
  assert.equal(check.exitCode, 0, check.stdout);
  const del = await h.shim({ command: 'DEL', containerId: 'ctr-keep', netns: keepNs.path, ifname: 'eth0', config: CONF });
  assert.equal(del.exitCode, 0, del.stdout);
});

test('a server restart (upgrade) does not disturb running pods: a ping keeps flowing', async () => {
  const a = await h.netns.create('up-a');
  const b = await h.netns.create('up-b');
  const addrs: string[] = [];
  const hosts: string[] = [];
  for (const [c, ns] of [
    ['ctr-up-a', a],
    ['ctr-up-b', b],
  ] as const) {
    const add = await h.shim({ command: 'ADD', containerId: c, netns: ns.path, ifname: 'eth0', config: CONF });
    assert.equal(add.exitCode, 0, add.stdout);
    addrs.push(resultAddress(add));
    hosts.push(hostInterfaceOf(add));
  }
  // Network safety: the target's host route must point at its own veth before any ping.
  assert.deepEqual(
    (await ipJson<IpRoute>(['route', 'show', `${addrs[1]}/32`])).map((r) => r.dev),
    [hosts[1]],
  );
  const ping = runCommand('ip', ['netns', 'exec', a.name, 'ping', '-c', '40', '-i', '0.1', '-W', '1', addrs[1] ?? ''], { timeoutMs: 30_000 });
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(await h.server.stop(), 0);
  await h.server.start();
  const out = await ping;
  assert.equal(out.code, 0, out.stdout);
  assert.match(out.stdout, /40 packets transmitted, 40 received, 0% packet loss/);
  for (const [c, ns] of [
    ['ctr-up-a', a],
    ['ctr-up-b', b],
  ] as const) {
    const del = await h.shim({ command: 'DEL', containerId: c, netns: ns.path, ifname: 'eth0', config: CONF });
    assert.equal(del.exitCode, 0, del.stdout);
  }
});

test('a restarted runtime resyncs: STATUS until ready, GET what it knows, GC the rest', async () => {
  const conf = { ...CONF, cniVersion: '1.1.0' };
  const pods = ['rs-1', 'rs-2', 'rs-3'];
  const results = new Map<string, unknown>();
  for (const p of pods) {
    const ns = await h.netns.create(p);
    const add = await h.shim({ command: 'ADD', containerId: p, netns: ns.path, ifname: 'eth0', config: conf });
    assert.equal(add.exitCode, 0, add.stdout);
    results.set(p, add.json);
  }
  const forgotten = readStore(h.server.dbPath).attachments.find((x) => x.container_id === 'rs-3')?.host_ifname ?? '';
  // The runtime restarts and remembers only rs-1 and rs-2.
  for (;;) {
    const status = await h.shim({ command: 'STATUS', config: conf });
    if (status.exitCode === 0) break;
    assert.equal(status.json?.code, 50);
  }
  for (const p of ['rs-1', 'rs-2']) {
    const get = await h.shim({ command: 'GET', containerId: p, netns: `/var/run/netns/${h.netns.prefix}-${p}`, ifname: 'eth0', config: conf });
    assert.equal(get.exitCode, 0, get.stdout);
    assert.deepEqual(get.json, results.get(p));
  }
  const gc = await h.shim({
    command: 'GC',
    config: { ...conf, 'cni.dev/valid-attachments': ['rs-1', 'rs-2'].map((containerID) => ({ containerID, ifname: 'eth0' })) },
  });
  assert.equal(gc.exitCode, 0, gc.stdout);
  const rows = readStore(h.server.dbPath);
  assert.deepEqual(
    rows.attachments
      .filter((x) => x.network === NET)
      .map((x) => x.container_id)
      .sort(),
    ['rs-1', 'rs-2'],
  );
  assert.equal(rows.leases.filter((l) => l.network === NET).length, 2);
  assert.equal(await linkExists(forgotten), false, 'GC removed the forgotten pod’s veth');
  for (const p of ['rs-1', 'rs-2']) {
    const del = await h.shim({ command: 'DEL', containerId: p, netns: '', ifname: 'eth0', config: conf });
    assert.equal(del.exitCode, 0, del.stdout);
  }
});

test('pool exhaustion: the ADD that finds no address gets 100, STATUS says 50, both recover after a DEL', async () => {
  const small = { ...CONF, cniVersion: '1.1.0', name: 'e2e-small', ipam: { ranges: [[{ subnet: '10.236.1.0/30' }]] } };
  const a = await h.netns.create('ex-a');
  const b = await h.netns.create('ex-b');
  const c = await h.netns.create('ex-c');
  for (const [id, ns] of [
    ['ex-a', a],
    ['ex-b', b],
  ] as const) {
    const add = await h.shim({ command: 'ADD', containerId: id, netns: ns.path, ifname: 'eth0', config: small });
    assert.equal(add.exitCode, 0, add.stdout);
  }
  const full = await h.shim({ command: 'ADD', containerId: 'ex-c', netns: c.path, ifname: 'eth0', config: small });
  assert.equal(full.json?.code, 100, full.stdout);
  assert.deepEqual(await ipJson(['link', 'show', 'type', 'veth'], c.name), [], 'nothing was wired for it');
  const status = await h.shim({ command: 'STATUS', config: small });
  assert.equal(status.json?.code, 50, status.stdout);
  assert.match(String(status.json?.details), /2 of 2/);
  const del = await h.shim({ command: 'DEL', containerId: 'ex-a', netns: a.path, ifname: 'eth0', config: small });
  assert.equal(del.exitCode, 0);
  assert.equal((await h.shim({ command: 'STATUS', config: small })).exitCode, 0);
  const retry = await h.shim({ command: 'ADD', containerId: 'ex-c', netns: c.path, ifname: 'eth0', config: small });
  assert.equal(retry.exitCode, 0, retry.stdout);
  for (const [id, ns] of [
    ['ex-b', b],
    ['ex-c', c],
  ] as const) {
    assert.equal((await h.shim({ command: 'DEL', containerId: id, netns: ns.path, ifname: 'eth0', config: small })).exitCode, 0);
  }
});
