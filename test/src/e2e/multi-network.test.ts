import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { E2eHarness } from '../lib/e2e-harness';
import { type IpRoute, ipJson, settledVeths } from '../lib/netns';
import { runCommand } from '../lib/run-command';
import { SHIM_BINARY } from '../lib/paths';
import { readStore } from '../lib/store-rows';
import { type CniResult, Libcni, type NetworkConfList, REFERENCE_PLUGIN_DIR, type RuntimeConf, podwirePluginDir } from '../lib/libcni';

/*
 * Several networks per pod, driven by the real libcni (each network its own list, as Multus
 * and podman call them), with a real podwired and the reference bridge + host-local:
 *
 * - pod 1: eth0 from bridge + host-local (the "cluster network"), net1 from podwire with
 *   `ipam.routes`; CHECK of both passes (bridge's too, after podwire's ADD); DEL of net1
 *   leaves eth0 pinging and bridge's CHECK passing;
 * - pod 3: eth0 and eth1 from two podwire networks (the second dual-stack, with routes);
 *   both reach other pods, CHECK and GET per interface, GC of one network removes only its
 *   interface.
 *
 * Traffic: only to addresses inside the test's own netns (pods ping each other through the
 * host, and the host pings pods).
 */

const PID = process.pid;
const BRIDGE = `pwbr${PID % 100000}`;
const NET_BRIDGE = `mn-bridge-${PID}`;
const NET_A = `mn-a-${PID}`;
const NET_B = `mn-b-${PID}`;
/** pod 1's net1: its own subnet, and a route to network A's only (no default route). */
const NET_A_WITH_ROUTES = `mn-ar-${PID}`;
const SUBNET_AR = '10.214.3.0/24';
const SUBNET_BRIDGE = '10.214.100.0/24';
const SUBNET_A = '10.214.1.0/24';
const SUBNET_B4 = '10.214.2.0/24';
const SUBNET_B6 = 'fd14:0:0:2::/64';

let h: E2eHarness | undefined;
let cniPath: string[] = [];
const lists = new Map<string, Libcni>();
/** Attachments made through libcni, for the clean-up DEL. */
const attached: Array<{ net: string; rt: RuntimeConf }> = [];
const pods = new Map<string, { name: string; path: string }>();

function harness(): E2eHarness {
  assert.ok(h, 'the harness started');
  return h;
}

function libcni(net: string): Libcni {
  const l = lists.get(net);
  assert.ok(l, `network ${net} is configured`);
  return l;
}

function netList(name: string, plugin: Record<string, unknown>): NetworkConfList {
  return { cniVersion: '1.0.0', name, plugins: [plugin as NetworkConfList['plugins'][number]] };
}

function rtOf(pod: string, ifname: string): RuntimeConf {
  const ns = pods.get(pod);
  assert.ok(ns, `pod ${pod} exists`);
  return { containerId: `mn-${PID}-${pod}`, netns: ns.path, ifname, args: [['IgnoreUnknown', '1']] };
}

async function add(net: string, pod: string, ifname: string): Promise<CniResult> {
  const rt = rtOf(pod, ifname);
  attached.push({ net, rt });
  return libcni(net).add(rt);
}

function addressOf(r: CniResult, family: 4 | 6): string {
  const ip = r.ips?.find((i) => i.address.includes(':') === (family === 6));
  assert.ok(ip, `the result has an IPv${family} address: ${JSON.stringify(r.ips)}`);
  return ip.address.split('/')[0] ?? '';
}

/** ping from the host (ns undefined) or from inside a pod; resolves with the exit code. */
async function ping(ns: string | undefined, ip: string): Promise<{ code: number | null; out: string }> {
  const argv = ['-c', '1', '-W', '2', ...(ip.includes(':') ? ['-6'] : []), ip];
  const r = ns ? await runCommand('ip', ['netns', 'exec', ns, 'ping', ...argv]) : await runCommand('ping', argv);
  return { code: r.code, out: r.stdout + r.stderr };
}

async function mustPing(ns: string | undefined, ip: string): Promise<void> {
  const r = await ping(ns, ip);
  assert.equal(r.code, 0, `ping ${ip} from ${ns ?? 'the host'}: ${r.out}`);
}

/** Routes through one device in a pod (main table), as "dst via gw". */
async function podRoutes(pod: string, dev: string): Promise<string[]> {
  const ns = pods.get(pod)?.name;
  assert.ok(ns);
  const v4 = await ipJson<IpRoute>(['-4', 'route', 'show', 'dev', dev], ns);
  const v6 = await ipJson<IpRoute>(['-6', 'route', 'show', 'dev', dev], ns);
  return [...v4, ...v6].filter((r) => r.gateway !== undefined).map((r) => `${r.dst} via ${r.gateway}`);
}

before(async () => {
  const unavailable = Libcni.unavailable();
  if (unavailable) throw new Error(unavailable);
  h = await E2eHarness.start('mnet', { startServer: false });
  await h.server.start();
  cniPath = [podwirePluginDir(h.root, SHIM_BINARY), REFERENCE_PLUGIN_DIR];
  const workDir = path.join(h.root, 'libcni');
  const env = { PODWIRE_SOCKET: h.server.socket };
  const podwire = (ranges: unknown, routes?: unknown) => ({ type: 'podwire', socket: h?.server.socket, ipam: { ranges, ...(routes ? { routes } : {}) } });
  const configs: NetworkConfList[] = [
    netList(NET_BRIDGE, {
      type: 'bridge',
      bridge: BRIDGE,
      isGateway: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET_BRIDGE }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: path.join(h.root, 'host-local') },
    }),
    // The cluster-wide podwire network: no routes, so the default route (as always).
    netList(NET_A, podwire([[{ subnet: SUBNET_A }]])),
    netList(NET_A_WITH_ROUTES, podwire([[{ subnet: SUBNET_AR }]], [{ dst: SUBNET_A }])),
    // A secondary network: only its own subnets, through podwire's gateway.
    netList(NET_B, podwire([[{ subnet: SUBNET_B4 }], [{ subnet: SUBNET_B6 }]], [{ dst: SUBNET_B4 }, { dst: SUBNET_B6 }])),
  ];
  for (const list of configs) lists.set(list.name, new Libcni(list, { cniPath, workDir, env }));
  for (const pod of ['p1', 'p2', 'p3', 'p4']) pods.set(pod, await h.netns.create(pod));
});

after(async () => {
  try {
    for (const { net, rt } of [...attached].reverse()) {
      const failures = await lists.get(net)?.delBestEffort(rt);
      if (failures?.length) console.error(`multi-network clean-up DEL ${net} ${rt.ifname}: ${failures.join('; ')}`);
    }
  } finally {
    // The bridge plugin leaves its bridge behind on DEL.
    await runCommand('ip', ['link', 'del', BRIDGE]);
    await h?.cleanup();
  }
});

test("bridge eth0, then podwire net1 with ipam.routes: podwire leaves bridge's interface and routes alone; CHECK of both passes", async () => {
  const bridged = await add(NET_BRIDGE, 'p1', 'eth0');
  const eth0Before = await podRoutes('p1', 'eth0');
  assert.deepEqual(eth0Before, ['default via 10.214.100.1']);
  const net1 = await add(NET_A_WITH_ROUTES, 'p1', 'net1');
  assert.deepEqual(net1.routes, [{ dst: SUBNET_A, gw: '169.254.1.1' }], 'the result names exactly the configured routes');
  assert.deepEqual(await podRoutes('p1', 'eth0'), eth0Before, "bridge's routes are untouched");
  assert.deepEqual(await podRoutes('p1', 'net1'), [`${SUBNET_A} via 169.254.1.1`], 'no default route through net1');
  // The other pod on the podwire network, with the default route.
  const p2 = await add(NET_A, 'p2', 'eth0');
  assert.deepEqual(p2.routes, [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }]);

  await libcni(NET_BRIDGE).check(rtOf('p1', 'eth0'));
  await libcni(NET_A_WITH_ROUTES).check(rtOf('p1', 'net1'));
  await mustPing(undefined, addressOf(bridged, 4));
  // pod 1 reaches pod 2 through net1 (its route to network A), and pod 2 answers over its default route; and back.
  await mustPing(pods.get('p1')?.name, addressOf(p2, 4));
  await mustPing(pods.get('p2')?.name, addressOf(net1, 4));
});

test('DEL of net1 leaves eth0 (bridge) pinging and its CHECK passing; the podwire lease is gone', async () => {
  const rt = rtOf('p1', 'net1');
  const cached = await libcni(NET_A_WITH_ROUTES).cached(rt);
  assert.ok(cached, 'libcni cached the ADD result');
  const net1Ip = addressOf(cached, 4);
  await libcni(NET_A_WITH_ROUTES).del(rt);
  const ns = pods.get('p1')?.name;
  assert.ok(ns);
  // (DEL detaches; the pair is destroyed in the background within a second: eth0 is bridge's veth.)
  assert.deepEqual(
    (await settledVeths(ns, 1)).map((l) => l.ifname),
    ['eth0'],
  );
  assert.deepEqual(await ipJson<IpRoute>(['route', 'show', `${net1Ip}/32`]), [], 'the host route to net1 is gone');
  const bridged = await libcni(NET_BRIDGE).cached(rtOf('p1', 'eth0'));
  assert.ok(bridged);
  await libcni(NET_BRIDGE).check(rtOf('p1', 'eth0'));
  await mustPing(undefined, addressOf(bridged, 4));
  const rows = readStore(harness().server.dbPath);
  assert.deepEqual(
    rows.leases.filter((l) => l.container_id === rt.containerId && l.ifname === 'net1'),
    [],
  );
});

test('two podwire networks on one pod (eth0 default route, eth1 dual-stack with routes): both reach other pods; CHECK and GET per interface', async () => {
  const eth0 = await add(NET_A, 'p3', 'eth0');
  const eth1 = await add(NET_B, 'p3', 'eth1');
  const p4 = await add(NET_B, 'p4', 'eth0');
  assert.deepEqual(eth1.routes, [
    { dst: SUBNET_B4, gw: '169.254.1.1' },
    { dst: SUBNET_B6, gw: 'fe80::1' },
  ]);
  assert.deepEqual(await podRoutes('p3', 'eth0'), ['default via 169.254.1.1']);
  assert.deepEqual(await podRoutes('p3', 'eth1'), [`${SUBNET_B4} via 169.254.1.1`, `${SUBNET_B6} via fe80::1`]);
  assert.notEqual(eth0.interfaces?.[0]?.name, eth1.interfaces?.[0]?.name, 'one host end per interface');

  const p3 = pods.get('p3')?.name;
  const p2 = await libcni(NET_A).cached(rtOf('p2', 'eth0'));
  assert.ok(p2);
  await mustPing(p3, addressOf(p2, 4)); // eth0 → network A
  await mustPing(p3, addressOf(p4, 4)); // eth1 → network B
  await mustPing(p3, addressOf(p4, 6));
  await mustPing(pods.get('p4')?.name, addressOf(eth1, 6));

  await libcni(NET_A).check(rtOf('p3', 'eth0'));
  await libcni(NET_B).check(rtOf('p3', 'eth1'));
  for (const [net, ifname, want] of [
    [NET_A, 'eth0', eth0],
    [NET_B, 'eth1', eth1],
  ] as const) {
    const conf = { cniVersion: '1.0.0', name: net, type: 'podwire' };
    const get = await harness().shim({ command: 'GET', containerId: rtOf('p3', ifname).containerId, netns: pods.get('p3')?.path, ifname, config: conf });
    assert.equal(get.exitCode, 0, get.stdout);
    assert.deepEqual((get.json as unknown as CniResult).ips, want.ips, `GET ${ifname}`);
  }
});

test('after a SIGKILL, the restarted podwired verifies every interface as ADD left it (ipam.routes taken from the stored results)', async () => {
  const server = harness().server;
  await server.kill();
  const from = server.logRecords().length;
  await server.start();
  const deadline = Date.now() + 10_000;
  let verified: Record<string, unknown> | undefined;
  for (;;) {
    verified = server
      .logRecords()
      .slice(from)
      .find((r) => r.msg === 'podwired: ready pods verified in their netns');
    if (verified) break;
    assert.ok(Date.now() < deadline, 'the verification finished');
    await new Promise((r) => setTimeout(r, 20));
  }
  const broken = server
    .logRecords()
    .slice(from)
    .filter((r) => r.level === 40 && String(r.msg).includes('verif'));
  // p2 eth0 (A), p3 eth0 (A), p3 eth1 (B, with routes), p4 eth0 (B, with routes).
  assert.deepEqual(
    { ...(verified.verification as object), durationMs: 0 },
    { total: 4, verified: 4, failed: 0, netnsGone: 0, durationMs: 0 },
    JSON.stringify(broken),
  );
  await libcni(NET_B).check(rtOf('p3', 'eth1'));
});

test('GC of network A removes only its interface of the two-network pod; eth1 keeps working', async () => {
  const keep = rtOf('p2', 'eth0');
  const gc = await harness().shim({
    command: 'GC',
    config: { cniVersion: '1.1.0', name: NET_A, type: 'podwire', 'cni.dev/valid-attachments': [{ containerID: keep.containerId, ifname: 'eth0' }] },
  });
  assert.equal(gc.exitCode, 0, gc.stdout);
  const p3 = pods.get('p3')?.name;
  assert.ok(p3);
  // GC detaches at once and the pair is destroyed in the background, within a second.
  assert.deepEqual(
    (await settledVeths(p3, 1)).map((l) => l.ifname),
    ['eth1'],
  );
  await libcni(NET_B).check(rtOf('p3', 'eth1'));
  const p4 = await libcni(NET_B).cached(rtOf('p4', 'eth0'));
  assert.ok(p4);
  await mustPing(p3, addressOf(p4, 4));
  await mustPing(p3, addressOf(p4, 6));
  const rows = readStore(harness().server.dbPath);
  assert.deepEqual(
    rows.attachments.filter((a) => a.container_id === rtOf('p3', 'eth0').containerId).map((a) => [a.network, a.ifname]),
    [[NET_B, 'eth1']],
  );
});
