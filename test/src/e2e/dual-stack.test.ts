import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { E2eHarness } from '../lib/e2e-harness';
import { type IpAddrInfo, type IpRoute, ipJson } from '../lib/netns';
import { runCommand } from '../lib/run-command';
import { netConf } from '../lib/shim';
import { readStore } from '../lib/store-rows';

const NET = 'e2e-dual';
const CONF = netConf(NET, '10.235.0.0/24', {
  cniVersion: '1.1.0',
  ipam: { ranges: [[{ subnet: '10.235.0.0/24' }], [{ subnet: 'fd99:235::/120' }]] },
});
let h: E2eHarness;

before(async () => {
  h = await E2eHarness.start('dual');
});
after(async () => {
  await h.cleanup();
});

interface Result {
  interfaces: Array<{ name: string; mac: string; mtu?: number; sandbox?: string }>;
  ips: Array<{ address: string; gateway: string; interface: number }>;
  routes: Array<{ dst: string; gw: string }>;
}

async function addPod(name: string) {
  const ns = await h.netns.create(name);
  const add = await h.shim({ command: 'ADD', containerId: `ctr-${name}`, netns: ns.path, ifname: 'eth0', config: CONF });
  assert.equal(add.exitCode, 0, add.stdout + add.stderr);
  const r = add.json as unknown as Result;
  const v4 = r.ips.find((i) => !i.address.includes(':'));
  const v6 = r.ips.find((i) => i.address.includes(':'));
  assert.ok(v4 && v6, JSON.stringify(r.ips));
  return { ns, result: r, v4: v4.address.split('/')[0] ?? '', v6: v6.address.split('/')[0] ?? '', hostIf: r.interfaces[0]?.name ?? '' };
}

test('a dual-stack ADD leases one address per family and wires both', async () => {
  const p = await addPod('a');
  assert.deepEqual(
    p.result.ips.map((i) => [i.address.replace(/\d+\/32$/, 'x/32').replace(/[0-9a-f]+\/128$/, 'x/128'), i.gateway, i.interface]),
    [
      ['10.235.0.x/32', '169.254.1.1', 1],
      ['fd99:235::x/128', 'fe80::1', 1],
    ],
  );
  assert.deepEqual(p.result.routes, [
    { dst: '0.0.0.0/0', gw: '169.254.1.1' },
    { dst: '::/0', gw: 'fe80::1' },
  ]);
  assert.equal(p.result.interfaces[1]?.mtu, 1500, '1.1.0 results carry the interface mtu');

  const [addrs] = await ipJson<IpAddrInfo>(['addr', 'show', 'eth0'], p.ns.name);
  const global6 = addrs?.addr_info.filter((a) => a.family === 'inet6' && !a.local.startsWith('fe80')).map((a) => `${a.local}/${a.prefixlen}`);
  assert.deepEqual(global6, [`${p.v6}/128`]);
  const routes6 = await ipJson<IpRoute>(['-6', 'route', 'show'], p.ns.name);
  assert.ok(
    routes6.some((r) => r.dst === 'default' && r.gateway === 'fe80::1' && r.dev === 'eth0'),
    JSON.stringify(routes6),
  );
  const neigh6 = await ipJson<{ dst: string; lladdr: string; state: string[] }>(['-6', 'neigh', 'show', 'dev', 'eth0'], p.ns.name);
  assert.ok(neigh6.some((n) => n.dst === 'fe80::1' && n.lladdr === p.result.interfaces[0]?.mac && n.state.includes('PERMANENT')));
  const host6 = await ipJson<IpRoute>(['-6', 'route', 'show', `${p.v6}/128`]);
  assert.deepEqual(
    host6.map((r) => [r.dst, r.dev]),
    [[p.v6, p.hostIf]],
  );

  const rows = readStore(h.server.dbPath).leases.filter((l) => l.container_id === 'ctr-a');
  assert.deepEqual(rows.map((l) => l.address).sort(), [p.v4, p.v6].sort());

  const check = await h.shim({ command: 'CHECK', containerId: 'ctr-a', netns: p.ns.path, ifname: 'eth0', config: { ...CONF, prevResult: p.result } });
  assert.equal(check.exitCode, 0, check.stdout);
  await runCommand('ip', ['-n', p.ns.name, '-6', 'route', 'del', 'default']);
  const broken = await h.shim({ command: 'CHECK', containerId: 'ctr-a', netns: p.ns.path, ifname: 'eth0', config: { ...CONF, prevResult: p.result } });
  assert.equal(broken.json?.code, 104);
  assert.match(String(broken.json?.details), /fe80::1/);

  const del = await h.shim({ command: 'DEL', containerId: 'ctr-a', netns: p.ns.path, ifname: 'eth0', config: CONF });
  assert.equal(del.exitCode, 0, del.stdout);
  assert.deepEqual(await ipJson<IpRoute>(['-6', 'route', 'show', `${p.v6}/128`]), []);
  assert.deepEqual(
    readStore(h.server.dbPath).leases.filter((l) => l.container_id === 'ctr-a'),
    [],
  );
});

test('IPv6 pods reach each other and the host reaches them', async () => {
  const p1 = await addPod('b');
  const p2 = await addPod('c');
  // Network safety: ping only addresses whose host routes provably point at the pods' veths.
  for (const p of [p1, p2]) {
    assert.deepEqual(
      (await ipJson<IpRoute>(['-6', 'route', 'show', `${p.v6}/128`])).map((r) => r.dev),
      [p.hostIf],
    );
  }
  // -w: keep trying for a few seconds while the veths' link-local addresses finish DAD.
  const podToPod = await runCommand('ip', ['netns', 'exec', p1.ns.name, 'ping', '-6', '-c', '1', '-w', '8', p2.v6], { timeoutMs: 20_000 });
  assert.equal(podToPod.code, 0, podToPod.stdout + podToPod.stderr);
  const hostToPod = await runCommand('ping', ['-6', '-c', '1', '-w', '8', '-I', p2.hostIf, p2.v6], { timeoutMs: 20_000 });
  assert.equal(hostToPod.code, 0, hostToPod.stdout + hostToPod.stderr);
  const v4 = await runCommand('ip', ['netns', 'exec', p2.ns.name, 'ping', '-c', '1', '-w', '5', p1.v4], { timeoutMs: 20_000 });
  assert.equal(v4.code, 0, v4.stdout + v4.stderr);
  for (const [c, p] of [
    ['ctr-b', p1],
    ['ctr-c', p2],
  ] as const) {
    const del = await h.shim({ command: 'DEL', containerId: c, netns: p.ns.path, ifname: 'eth0', config: CONF });
    assert.equal(del.exitCode, 0, del.stdout);
  }
});
