import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { E2eHarness } from '../lib/e2e-harness';
import { type IpAddrInfo, type IpLink, type IpRoute, ipJson, settledVeths } from '../lib/netns';
import { runCommand } from '../lib/run-command';
import { netConf } from '../lib/shim';
import { readStore } from '../lib/store-rows';

const NET = 'e2e-roundtrip';
const CONF = netConf(NET, '10.231.0.0/24', { dns: { nameservers: ['10.231.0.53'], search: ['svc.local'] } });
let h: E2eHarness;

before(async () => {
  h = await E2eHarness.start('rt');
});
after(async () => {
  await h.cleanup();
});

interface Result {
  cniVersion: string;
  interfaces: Array<{ name: string; mac: string; sandbox?: string; mtu?: number }>;
  ips: Array<{ address: string; gateway: string; interface: number }>;
  routes: Array<{ dst: string; gw: string }>;
  dns: { nameservers: string[]; search: string[] };
}

test('ADD wires a pod, CHECK passes, DEL removes everything, DEL again succeeds', async () => {
  const ns = await h.netns.create('a');
  const call = { containerId: 'ctr-a', netns: ns.path, ifname: 'eth0', config: CONF, args: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-a' };

  const add = await h.shim({ command: 'ADD', ...call });
  assert.equal(add.exitCode, 0, add.stdout + add.stderr);
  const result = add.json as unknown as Result;

  // Result: CNI 1.0.0 shape, field by field.
  assert.equal(result.cniVersion, '1.0.0');
  assert.equal(result.interfaces.length, 2);
  const [hostIf, podIf] = result.interfaces;
  assert.ok(hostIf && podIf);
  assert.match(hostIf.name, /^pw[0-9a-f]{12}$/);
  assert.equal(hostIf.sandbox, undefined);
  assert.equal(podIf.name, 'eth0');
  assert.equal(podIf.sandbox, ns.path);
  assert.equal(podIf.mtu, undefined, '1.0.0 results carry no interface mtu');
  for (const i of result.interfaces) assert.match(i.mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  assert.equal(result.ips.length, 1);
  const ip = result.ips[0];
  assert.ok(ip);
  assert.match(ip.address, /^10\.231\.0\.\d+\/32$/);
  assert.equal(ip.gateway, '169.254.1.1');
  assert.equal(ip.interface, 1);
  assert.deepEqual(result.routes, [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }]);
  assert.deepEqual(result.dns, { nameservers: ['10.231.0.53'], search: ['svc.local'] });
  const podIp = ip.address.split('/')[0] ?? '';

  // Kernel state, read with iproute2 (not through podwire).
  const [podLink] = await ipJson<IpLink>(['link', 'show', 'eth0'], ns.name);
  assert.ok(podLink);
  assert.equal(podLink.address, podIf.mac);
  assert.ok(podLink.flags?.includes('UP'));
  const [addrs] = await ipJson<IpAddrInfo>(['addr', 'show', 'eth0'], ns.name);
  assert.deepEqual(
    addrs?.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
    [`${podIp}/32`],
  );
  const podRoutes = await ipJson<IpRoute>(['route', 'show'], ns.name);
  // The default route is onlink through eth0: no route of its own for the gateway (a second
  // interface in the netns could not hold the same one).
  assert.deepEqual(
    podRoutes.filter((r) => r.dev === 'eth0' && r.dst !== `${podIp}`).map((r) => [r.dst, r.gateway, r.flags]),
    [['default', '169.254.1.1', ['onlink']]],
    JSON.stringify(podRoutes),
  );
  const neigh = await ipJson<{ dst: string; lladdr: string; state: string[] }>(['neigh', 'show', 'dev', 'eth0'], ns.name);
  assert.ok(
    neigh.some((n) => n.dst === '169.254.1.1' && n.lladdr === hostIf.mac && n.state.includes('PERMANENT')),
    JSON.stringify(neigh),
  );
  const [hostLink] = await ipJson<IpLink>(['link', 'show', hostIf.name]);
  assert.ok(hostLink?.flags?.includes('UP'));
  assert.equal(hostLink.address, hostIf.mac);
  const hostRoutes = await ipJson<IpRoute>(['route', 'show', `${podIp}/32`]);
  assert.deepEqual(
    hostRoutes.map((r) => [r.dst, r.dev, r.scope]),
    [[podIp, hostIf.name, 'link']],
  );

  // Store rows.
  const rows = readStore(h.server.dbPath);
  const att = rows.attachments.find((a) => a.container_id === 'ctr-a');
  assert.ok(att);
  assert.equal(att.state, 'ready');
  assert.equal(att.host_ifname, hostIf.name);
  assert.equal(att.pod_namespace, 'default');
  assert.equal(att.pod_name, 'pod-a');
  assert.deepEqual(
    rows.leases.filter((l) => l.container_id === 'ctr-a').map((l) => l.address),
    [podIp],
  );

  const check = await h.shim({ command: 'CHECK', ...call, config: { ...CONF, prevResult: result } });
  assert.equal(check.exitCode, 0, check.stdout);
  assert.equal(check.stdout, '', 'CHECK prints nothing on success');

  // CHECK notices a broken pod: remove the default route behind podwire's back.
  await runCommand('ip', ['-n', ns.name, 'route', 'del', 'default']);
  const broken = await h.shim({ command: 'CHECK', ...call, config: { ...CONF, prevResult: result } });
  assert.equal(broken.exitCode, 1);
  assert.equal(broken.json?.code, 104);
  assert.match(String(broken.json?.details), /default route/);

  // ... and a host end that lost the gateway address it answers ARP with.
  await runCommand('ip', ['addr', 'del', '169.254.1.1/32', 'dev', hostIf.name]);
  const noGw = await h.shim({ command: 'CHECK', ...call, config: { ...CONF, prevResult: result } });
  assert.equal(noGw.json?.code, 104);
  assert.match(String(noGw.json?.details), /gateway address 169\.254\.1\.1/);

  const del = await h.shim({ command: 'DEL', ...call });
  assert.equal(del.exitCode, 0, del.stdout);
  assert.equal(del.stdout, '');
  assert.equal((await runCommand('ip', ['link', 'show', hostIf.name])).code, 1, 'host veth is gone (detached: renamed at once)');
  assert.deepEqual(await settledVeths(ns.name), [], 'the pair is destroyed in the background');
  assert.deepEqual(await ipJson<IpRoute>(['route', 'show', `${podIp}/32`]), []);
  const after = readStore(h.server.dbPath);
  assert.equal(after.attachments.filter((a) => a.container_id === 'ctr-a').length, 0);
  assert.equal(after.leases.filter((l) => l.container_id === 'ctr-a').length, 0);

  const again = await h.shim({ command: 'DEL', ...call });
  assert.equal(again.exitCode, 0, again.stdout);
});

test('pods on the node reach each other and the host reaches every pod', async () => {
  const pods: Array<{ ns: string; ip: string; hostIf: string }> = [];
  for (const name of ['p1', 'p2']) {
    const ns = await h.netns.create(name);
    const add = await h.shim({ command: 'ADD', containerId: `ctr-${name}`, netns: ns.path, ifname: 'eth0', config: CONF });
    assert.equal(add.exitCode, 0, add.stdout);
    const r = add.json as unknown as Result;
    pods.push({ ns: ns.name, ip: (r.ips[0]?.address ?? '').split('/')[0] ?? '', hostIf: r.interfaces[0]?.name ?? '' });
  }
  // Network safety: only ping once the host routes to both pods provably point at their veths,
  // so no test packet can follow the host's default route off this machine.
  for (const p of pods) {
    const routes = await ipJson<IpRoute>(['route', 'show', `${p.ip}/32`]);
    assert.deepEqual(
      routes.map((r) => r.dev),
      [p.hostIf],
    );
  }
  const [p1, p2] = pods;
  assert.ok(p1 && p2);
  const ping = (args: string[]) => runCommand('ip', args, { timeoutMs: 20_000 });
  const podToPod = await ping(['netns', 'exec', p1.ns, 'ping', '-c', '2', '-W', '2', '-i', '0.2', p2.ip]);
  assert.equal(podToPod.code, 0, podToPod.stdout + podToPod.stderr);
  const podToPodBack = await ping(['netns', 'exec', p2.ns, 'ping', '-c', '2', '-W', '2', '-i', '0.2', p1.ip]);
  assert.equal(podToPodBack.code, 0, podToPodBack.stdout + podToPodBack.stderr);
  for (const p of pods) {
    const hostToPod = await runCommand('ping', ['-c', '2', '-W', '2', '-i', '0.2', '-I', p.hostIf, p.ip], { timeoutMs: 20_000 });
    assert.equal(hostToPod.code, 0, hostToPod.stdout + hostToPod.stderr);
  }
  // A chained plugin (tuning) changing the pod's MAC flushes its neighbour table, static
  // gateway entry included: the host end must then answer ARP for 169.254.1.1 itself.
  await runCommand('ip', ['-n', p1.ns, 'link', 'set', 'eth0', 'address', '0a:58:00:00:00:01']);
  const neigh = await ipJson<{ dst: string }>(['neigh', 'show', 'dev', 'eth0'], p1.ns);
  assert.ok(!neigh.some((n) => n.dst === '169.254.1.1'), 'the static gateway entry was flushed');
  const afterFlush = await ping(['netns', 'exec', p1.ns, 'ping', '-c', '1', '-w', '5', p2.ip]);
  assert.equal(afterFlush.code, 0, afterFlush.stdout + afterFlush.stderr);
  for (const name of ['p1', 'p2']) {
    const del = await h.shim({ command: 'DEL', containerId: `ctr-${name}`, netns: `/var/run/netns/${h.netns.prefix}-${name}`, ifname: 'eth0', config: CONF });
    assert.equal(del.exitCode, 0, del.stdout);
  }
});

test('one log line per CNI call, with verb, container, ifname, duration and outcome', async () => {
  const lines = h.server.logRecords().filter((r) => typeof r.verb === 'string');
  const add = lines.find((r) => r.verb === 'ADD' && r.containerId === 'ctr-a');
  assert.ok(add, 'ADD of ctr-a was logged');
  assert.equal(add.ifname, 'eth0');
  assert.equal(add.outcome, 'ok');
  assert.equal(typeof add.durationMs, 'number');
  const failed = lines.find((r) => r.verb === 'CHECK' && r.outcome === 'error');
  assert.ok(failed);
  assert.equal(failed.code, 104);
  assert.equal(lines.filter((r) => r.verb === 'ADD' && r.containerId === 'ctr-a').length, 1);
});

test('runtimeConfig ips and mac, and CNI_ARGS IP=, are honoured', async () => {
  const ns = await h.netns.create('req');
  const conf = { ...CONF, runtimeConfig: { ips: ['10.231.0.77/24'], mac: '0a:58:0a:e7:00:4d', portMappings: [] } };
  const add = await h.shim({ command: 'ADD', containerId: 'ctr-req', netns: ns.path, ifname: 'eth0', config: conf });
  assert.equal(add.exitCode, 0, add.stdout);
  const r = add.json as unknown as Result;
  assert.equal(r.ips[0]?.address, '10.231.0.77/32');
  assert.equal(r.interfaces[1]?.mac, '0a:58:0a:e7:00:4d');
  const [podLink] = await ipJson<IpLink>(['link', 'show', 'eth0'], ns.name);
  assert.equal(podLink?.address, '0a:58:0a:e7:00:4d');

  const ns2 = await h.netns.create('req2');
  const taken = await h.shim({ command: 'ADD', containerId: 'ctr-req2', netns: ns2.path, ifname: 'eth0', config: CONF, args: 'IP=10.231.0.77' });
  assert.equal(taken.exitCode, 1);
  assert.equal(taken.json?.code, 105, taken.stdout);
  const outside = await h.shim({ command: 'ADD', containerId: 'ctr-req2', netns: ns2.path, ifname: 'eth0', config: CONF, args: 'IP=10.99.0.1' });
  assert.equal(outside.json?.code, 105, outside.stdout);
  const viaArgs = await h.shim({
    command: 'ADD',
    containerId: 'ctr-req2',
    netns: ns2.path,
    ifname: 'eth0',
    config: CONF,
    args: 'IgnoreUnknown=1;IP=10.231.0.78;K8S_POD_NAME=x;FOO=bar',
  });
  assert.equal(viaArgs.exitCode, 0, viaArgs.stdout);
  assert.equal((viaArgs.json as unknown as Result).ips[0]?.address, '10.231.0.78/32');

  for (const [c, n] of [
    ['ctr-req', ns.path],
    ['ctr-req2', ns2.path],
  ] as const) {
    const del = await h.shim({ command: 'DEL', containerId: c, netns: n, ifname: 'eth0', config: CONF });
    assert.equal(del.exitCode, 0, del.stdout);
  }
});

test('STATUS and GC need cniVersion 1.1.0; GC removes the attachments not listed', async () => {
  const old = await h.shim({ command: 'STATUS', config: CONF });
  assert.equal(old.json?.code, 1, old.stdout);
  const conf11 = { ...CONF, cniVersion: '1.1.0' };
  const ok = await h.shim({ command: 'STATUS', config: conf11 });
  assert.equal(ok.exitCode, 0, ok.stdout);

  const keep = await h.netns.create('gc-keep');
  const drop = await h.netns.create('gc-drop');
  for (const [c, n] of [
    ['ctr-gc-keep', keep.path],
    ['ctr-gc-drop', drop.path],
  ] as const) {
    const add = await h.shim({ command: 'ADD', containerId: c, netns: n, ifname: 'eth0', config: conf11 });
    assert.equal(add.exitCode, 0, add.stdout);
  }
  const dropHost = readStore(h.server.dbPath).attachments.find((a) => a.container_id === 'ctr-gc-drop')?.host_ifname ?? '';
  const gc = await h.shim({
    command: 'GC',
    config: { ...conf11, 'cni.dev/valid-attachments': [{ containerID: 'ctr-gc-keep', ifname: 'eth0' }] },
  });
  assert.equal(gc.exitCode, 0, gc.stdout);
  const rows = readStore(h.server.dbPath);
  assert.deepEqual(
    rows.attachments.filter((a) => a.network === NET).map((a) => a.container_id),
    ['ctr-gc-keep'],
  );
  assert.equal((await runCommand('ip', ['link', 'show', dropHost])).code, 1, 'the dropped attachment veth is gone');
  assert.deepEqual(await settledVeths(drop.name), []);
  const del = await h.shim({ command: 'DEL', containerId: 'ctr-gc-keep', netns: keep.path, ifname: 'eth0', config: conf11 });
  assert.equal(del.exitCode, 0, del.stdout);
});
