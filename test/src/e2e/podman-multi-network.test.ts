import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { E2eHarness } from '../lib/e2e-harness';
import { type IpRoute, ipJson } from '../lib/netns';
import { SHIM_BINARY } from '../lib/paths';
import { readStore } from '../lib/store-rows';
import { PodmanEnv, checkPodmanPrerequisites } from '../lib/podman-env';
import { SkipReason } from '../lib/skip-reason';

/*
 * podman 4 (CNI backend, runc) runs two busybox containers, each on two podwire networks
 * (`--network a,b`): network A gives the default route, network B only a route to its own
 * subnet (`ipam.routes`). The containers reach each other on both networks, podwire holds one
 * attachment per (container, interface), and removing the containers releases everything.
 * Skips (with the reason) where podman cannot run.
 *
 * Traffic: container ↔ container only (netns this test created through podman).
 */

const PID = process.pid;
const NET_A = `pwmna${PID}`;
const NET_B = `pwmnb${PID}`;
const SUBNET_A = '10.214.10.0/24';
const SUBNET_B = '10.214.11.0/24';
const C1 = `pwmn${PID}-1`;
const C2 = `pwmn${PID}-2`;

let h: E2eHarness | undefined;
let pe: PodmanEnv | undefined;
const skip = new SkipReason();

function env(): PodmanEnv {
  assert.ok(pe);
  return pe;
}

before(async () => {
  skip.reason = await checkPodmanPrerequisites();
  if (skip.reason) return;
  h = await E2eHarness.start('podmn', { startServer: false });
  await h.server.start();
  const socket = h.server.socket;
  const list = (name: string, ipam: Record<string, unknown>) => ({
    cniVersion: '1.0.0',
    name,
    // "socket" too: podman's cleanup processes (run by conmon) need not inherit PODWIRE_SOCKET
    plugins: [{ type: 'podwire', socket, ipam }],
  });
  const prepared = await PodmanEnv.prepare({
    root: h.root,
    shimBinary: SHIM_BINARY,
    socket,
    conflist: list(NET_A, { ranges: [[{ subnet: SUBNET_A }]] }),
    extraConflists: [list(NET_B, { ranges: [[{ subnet: SUBNET_B }]], routes: [{ dst: SUBNET_B }] })],
  });
  pe = prepared.env;
  if ('skip' in prepared) skip.reason = prepared.skip;
});

after(async () => {
  try {
    const problems = (await pe?.cleanup()) ?? [];
    if (problems.length > 0) console.error(`podman cleanup: ${problems.join('; ')}`);
  } finally {
    await h?.cleanup();
  }
});

test('two podman containers on two podwire networks reach each other on both', async (t) => {
  if (skip.skipped(t)) return;
  const p = env();
  for (const c of [C1, C2]) {
    await p.mustPodman(['run', '-d', '--name', c, '--network', `${NET_A},${NET_B}`, '--rootfs', p.rootfs, '/bin/sleep', '600']);
  }
  const ip = async (c: string, net: string) => p.ipOf(c, net);
  const addrs = { [C1]: { a: await ip(C1, NET_A), b: await ip(C1, NET_B) }, [C2]: { a: await ip(C2, NET_A), b: await ip(C2, NET_B) } };
  for (const c of [C1, C2]) {
    assert.match(addrs[c]?.a ?? '', /^10\.214\.10\.\d+$/);
    assert.match(addrs[c]?.b ?? '', /^10\.214\.11\.\d+$/);
  }
  // podwire: one ready attachment per container and interface, on its own network.
  assert.ok(h);
  const ids = [await p.idOf(C1), await p.idOf(C2)];
  const atts = readStore(h.server.dbPath).attachments.filter((a) => ids.includes(a.container_id));
  assert.equal(atts.length, 4, JSON.stringify(atts));
  for (const id of ids) {
    const mine = atts.filter((a) => a.container_id === id);
    assert.deepEqual(mine.map((a) => a.network).sort(), [NET_A, NET_B].sort());
    assert.equal(new Set(mine.map((a) => a.ifname)).size, 2, 'two interfaces');
    assert.ok(mine.every((a) => a.state === 'ready'));
  }
  // Network safety: every address routed into a podwire veth before any packet flows.
  for (const c of [C1, C2]) {
    for (const addr of [addrs[c]?.a, addrs[c]?.b]) {
      const routes = await ipJson<IpRoute>(['route', 'show', `${addr}/32`]);
      assert.equal(routes.length, 1, JSON.stringify(routes));
      assert.match(routes[0]?.dev ?? '', /^pw[0-9a-f]{12}$/);
    }
  }
  // The container's routes: the default via network A's interface, network B's subnet via its own.
  const routes = await p.mustPodman(['exec', C1, 'ip', 'route']);
  assert.match(routes, /default via 169\.254\.1\.1 dev eth\d onlink/, routes);
  assert.match(routes, new RegExp(`${SUBNET_B.replace(/\./g, '\\.')} via 169\\.254\\.1\\.1 dev eth\\d onlink`), routes);
  assert.equal(routes.match(/^default/gm)?.length, 1, `one default route: ${routes}`);

  for (const [from, to] of [
    [C1, C2],
    [C2, C1],
  ] as const) {
    for (const net of ['a', 'b'] as const) {
      const target = addrs[to]?.[net] ?? '';
      const ping = await p.podman(['exec', from, 'ping', '-c', '2', '-i', '0.2', '-W', '2', target], 20_000);
      assert.equal(ping.code, 0, `${from} → ${to} on network ${net} (${target}): ${ping.stdout}${ping.stderr}`);
    }
  }
});

test("removing the containers releases both networks' attachments, leases and routes", async (t) => {
  if (skip.skipped(t)) return;
  const p = env();
  assert.ok(h);
  const ids = [await p.idOf(C1), await p.idOf(C2)];
  const addrs = [await p.ipOf(C1, NET_A), await p.ipOf(C1, NET_B), await p.ipOf(C2, NET_A), await p.ipOf(C2, NET_B)];
  await p.mustPodman(['rm', '-f', '-t', '0', C1, C2]);
  const rows = readStore(h.server.dbPath);
  assert.deepEqual(
    rows.attachments.filter((a) => ids.includes(a.container_id)),
    [],
  );
  assert.deepEqual(
    rows.leases.filter((l) => ids.includes(l.container_id)),
    [],
  );
  for (const addr of addrs) assert.deepEqual(await ipJson<IpRoute>(['route', 'show', `${addr}/32`]), [], addr);
});
