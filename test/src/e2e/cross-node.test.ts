/**
 * Cross-node routing (host-gw) on one machine: three "nodes" are network namespaces on a
 * bridge underlay (10.219.0.0/24, fd99:219::/64) inside a "switch" namespace, each running its
 * own podwired (own socket, state dir, pod CIDRs 10.220.N.0/24 + fd99:220:N::/64, static
 * peers). Pods are created on every node through the real shim, without ranges in their
 * network config (so from the node's pod CIDRs), and ping each other across nodes. Then node C
 * goes away (live SIGHUP reload of A's and B's peers) and its routes are withdrawn; then A is
 * SIGKILLed, its routes are tampered with, and a restart puts exactly the right ones back.
 * Every address is inside namespaces this test created; nothing is routed anywhere else.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type IpRoute, TestNetnsSet, ipJson } from '../lib/netns';
import { PodwiredProcess } from '../lib/podwired-process';
import { mustRun, runCommand } from '../lib/run-command';
import { resultIps, runShim } from '../lib/shim';
import { REPO_ROOT } from '../lib/paths';

interface Node {
  n: number;
  name: string;
  netns: string;
  server: PodwiredProcess;
  pod: { netns: string; path: string; v4: string; v6: string };
}

const NETWORK = 'xnet';
// No "ranges": every node allocates from its own pod CIDRs.
const CONF = { cniVersion: '1.0.0', name: NETWORK, type: 'podwire', ipam: { type: 'podwire' } };
const netns = new TestNetnsSet(`xn-${process.pid}`);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-xn-'));
const nodes: Node[] = [];
let switchNs = '';

const nodeIP = (n: number) => ({ v4: `10.219.0.${n}`, v6: `fd99:219::${n}` });
const podCIDRs = (n: number) => [`10.220.${n}.0/24`, `fd99:220:${n}::/64`];
const peerEntry = (n: number) => ({ name: `node-${n}`, nodeIPs: [nodeIP(n).v4, nodeIP(n).v6], podCIDRs: podCIDRs(n) });
const configFor = (n: number, peers: number[]) => ({
  node: { name: `node-${n}`, podCIDRs: podCIDRs(n) },
  peers: { source: 'static', static: peers.map(peerEntry) },
});

/** podwire's peer routes in a node, both families, as "dst via gateway". */
async function peerRoutes(ns: string): Promise<string[]> {
  const v4 = await ipJson<IpRoute>(['route', 'show', 'proto', '198'], ns);
  const v6 = await ipJson<IpRoute>(['-6', 'route', 'show', 'proto', '198'], ns);
  return [...v4, ...v6].map((r) => `${r.dst} via ${r.gateway ?? '-'}`).sort();
}
const expectedRoutes = (peers: number[]) => peers.flatMap((p) => [`10.220.${p}.0/24 via ${nodeIP(p).v4}`, `fd99:220:${p}::/64 via ${nodeIP(p).v6}`]).sort();

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function ping(fromPodNs: string, address: string, count = 3): Promise<{ code: number | null; stdout: string }> {
  const args = ['netns', 'exec', fromPodNs, 'ping', ...(address.includes(':') ? ['-6'] : []), '-c', String(count), '-i', '0.2', '-W', '2', address];
  return runCommand('ip', args, { timeoutMs: 30_000 });
}

async function podwirectl(socket: string, ...args: string[]) {
  return runCommand(process.execPath, [path.join(REPO_ROOT, 'server', 'dist', 'ctl', 'main.js'), ...args, '--socket', socket], { timeoutMs: 30_000 });
}

before(async () => {
  switchNs = (await netns.create('sw')).name;
  await mustRun('ip', ['-n', switchNs, 'link', 'add', 'br0', 'type', 'bridge']);
  await mustRun('ip', ['-n', switchNs, 'link', 'set', 'br0', 'up']);
  for (const n of [1, 2, 3]) {
    const ns = (await netns.create(`n${n}`)).name;
    await mustRun('ip', ['-n', switchNs, 'link', 'add', `u${n}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await mustRun('ip', ['-n', switchNs, 'link', 'set', `u${n}`, 'master', 'br0', 'up']);
    await mustRun('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await mustRun('ip', ['-n', ns, 'addr', 'add', `${nodeIP(n).v4}/24`, 'dev', 'eth0']);
    await mustRun('ip', ['-n', ns, 'addr', 'add', `${nodeIP(n).v6}/64`, 'dev', 'eth0', 'nodad']);
    await mustRun('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    const dir = path.join(root, `node-${n}`);
    fs.mkdirSync(dir, { mode: 0o700 });
    const server = new PodwiredProcess(path.join(dir, 'run', 'podwire.sock'), path.join(dir, 'state'), {
      netns: ns,
      config: configFor(
        n,
        [1, 2, 3].filter((p) => p !== n),
      ),
    });
    nodes.push({ n, name: `node-${n}`, netns: ns, server, pod: { netns: '', path: '', v4: '', v6: '' } });
  }
  await Promise.all(nodes.map((node) => node.server.start()));
});

after(async () => {
  for (const node of nodes) await node.server.stop();
  await netns.cleanup();
  fs.rmSync(root, { recursive: true, force: true });
});

test('pods on three nodes reach each other across the underlay through host-gw peer routes', { timeout: 120_000 }, async () => {
  for (const node of nodes) {
    await waitFor(`peer routes on ${node.name}`, async () => (await peerRoutes(node.netns)).length === 4);
    assert.deepEqual(await peerRoutes(node.netns), expectedRoutes([1, 2, 3].filter((p) => p !== node.n)));
    // Peer routes are main-table routes via the other node's underlay address, out of eth0.
    const route = (await ipJson<IpRoute>(['route', 'show', `10.220.${(node.n % 3) + 1}.0/24`], node.netns))[0];
    assert.equal(route?.dev, 'eth0');
    assert.equal(route?.protocol, '198');
  }

  for (const node of nodes) {
    const pod = await netns.create(`p${node.n}`);
    const add = await runShim({
      command: 'ADD',
      containerId: `ctr-xn-${node.n}`,
      netns: pod.path,
      ifname: 'eth0',
      config: CONF,
      env: { PODWIRE_SOCKET: node.server.socket },
    });
    assert.equal(add.exitCode, 0, add.stdout + add.stderr);
    const ips = resultIps(add).map((i) => i.address);
    // The first usable address of each of the node's pod CIDRs.
    assert.deepEqual(ips, [`10.220.${node.n}.1/32`, `fd99:220:${node.n}::1/128`]);
    node.pod = { netns: pod.name, path: pod.path, v4: `10.220.${node.n}.1`, v6: `fd99:220:${node.n}::1` };
    // The pod's host route lives in its node (the node's netns), not in the machine's.
    const hostRoute = await ipJson<IpRoute>(['route', 'show', `${node.pod.v4}/32`], node.netns);
    assert.equal(hostRoute[0]?.protocol, '199');
  }
  // A config whose range is another node's pod CIDR is refused, naming that node.
  const probe = await netns.create('probe');
  const outside = await runShim({
    command: 'ADD',
    containerId: 'ctr-xn-out',
    netns: probe.path,
    ifname: 'eth0',
    config: { ...CONF, ipam: { ranges: [[{ subnet: '10.220.2.0/24' }]] } },
    env: { PODWIRE_SOCKET: nodes[0]?.server.socket ?? '' },
  });
  assert.equal(outside.exitCode, 1);
  assert.equal(outside.json?.code, 7);
  assert.match(String(outside.json?.msg), /10\.220\.2\.1-10\.220\.2\.254 \(10\.220\.2\.0\/24\) overlaps the pod CIDR 10\.220\.2\.0\/24 of node node-2/);

  // Every pod pings every pod on the other nodes, IPv4 and IPv6 (routes asserted above).
  for (const from of nodes) {
    for (const to of nodes.filter((t) => t !== from)) {
      for (const address of [to.pod.v4, to.pod.v6]) {
        const out = await ping(from.pod.netns, address);
        assert.equal(out.code, 0, `${from.name} pod -> ${to.name} pod ${address}:\n${out.stdout}`);
        assert.match(out.stdout, / 0% packet loss/);
      }
    }
  }

  // The Debug service (through podwirectl) shows the peers and their programmed routes.
  const ctl = await podwirectl(nodes[0]?.server.socket ?? '', 'peers', '-o', 'json');
  assert.equal(ctl.code, 0, ctl.stdout + ctl.stderr);
  const view = JSON.parse(ctl.stdout) as {
    source: string;
    nodeName: string;
    podCIDRs: string[];
    peers: Array<{ name: string; nodeIP: string; routes: Array<{ destination: string; gateway: string; programmed: boolean }> }>;
  };
  assert.equal(view.source, 'static');
  assert.equal(view.nodeName, 'node-1');
  assert.deepEqual(view.podCIDRs, podCIDRs(1));
  assert.deepEqual(
    view.peers.map((p) => [p.name, p.nodeIP, p.routes.map((r) => `${r.destination} via ${r.gateway} ${r.programmed}`)]),
    [
      ['node-2', '10.219.0.2,fd99:219::2', ['10.220.2.0/24 via 10.219.0.2 true', 'fd99:220:2::/64 via fd99:219::2 true']],
      ['node-3', '10.219.0.3,fd99:219::3', ['10.220.3.0/24 via 10.219.0.3 true', 'fd99:220:3::/64 via fd99:219::3 true']],
    ],
  );
});

test('a node removed from the peers has its routes withdrawn on the others (SIGHUP reload)', { timeout: 120_000 }, async () => {
  const [a, b, c] = nodes;
  assert.ok(a && b && c && c.pod.netns !== '');
  assert.equal(await c.server.stop(), 0);
  for (const node of [a, b]) {
    const peers = [a.n, b.n].filter((p) => p !== node.n);
    // The file podwired re-reads on SIGHUP (and a later start() writes the same).
    node.server.options.config = configFor(node.n, peers);
    fs.writeFileSync(node.server.configFile, JSON.stringify(node.server.options.config));
    process.kill(node.server.pid ?? 0, 'SIGHUP');
  }
  for (const node of [a, b]) {
    const others = [a.n, b.n].filter((p) => p !== node.n);
    await waitFor(`node-3's routes withdrawn on ${node.name}`, async () => (await peerRoutes(node.netns)).length === 2);
    assert.deepEqual(await peerRoutes(node.netns), expectedRoutes(others));
  }
  // Node C's pod is unreachable now (no route: its node answers unreachable, nothing leaves), A <-> B still works.
  const toC = await ping(a.pod.netns, c.pod.v4, 1);
  assert.notEqual(toC.code, 0, toC.stdout);
  const toB = await ping(a.pod.netns, b.pod.v4);
  assert.equal(toB.code, 0, toB.stdout);
  const reload = a.server.logRecords().find((r) => r.msg === 'podwired: configuration reloaded (SIGHUP)');
  assert.match(String(reload?.result), /static peers reloaded \(1\)/);
  // Node C is gone for good: its pod and its node namespace.
  await netns.remove(c.pod.netns);
  await netns.remove(c.netns);
});

test('a SIGKILLed server restarts with its peer routes reconciled: missing ones back, stale ones gone', { timeout: 120_000 }, async () => {
  const [a, b] = nodes;
  assert.ok(a && b);
  assert.equal(await a.server.kill(), null);
  // While A is down: its route to B disappears, and stale podwire peer routes are left behind
  // (the removed node's, and one for a peer that never existed); a non-podwire route stays.
  await mustRun('ip', ['-n', a.netns, 'route', 'del', `10.220.${b.n}.0/24`, 'proto', '198']);
  await mustRun('ip', ['-n', a.netns, 'route', 'add', '10.220.3.0/24', 'via', nodeIP(3).v4, 'proto', '198']);
  await mustRun('ip', ['-n', a.netns, '-6', 'route', 'add', 'fd99:220:9::/64', 'via', 'fd99:219::9', 'proto', '198']);
  await mustRun('ip', ['-n', a.netns, 'route', 'add', '10.220.8.0/24', 'via', '10.219.0.8', 'proto', 'static']);
  assert.deepEqual(await peerRoutes(a.netns), [
    `10.220.3.0/24 via ${nodeIP(3).v4}`,
    `fd99:220:${b.n}::/64 via ${nodeIP(b.n).v6}`,
    'fd99:220:9::/64 via fd99:219::9',
  ]);

  await a.server.start();
  await waitFor('node-1 peer routes reconciled', async () => (await peerRoutes(a.netns)).join() === expectedRoutes([b.n]).join());
  assert.deepEqual(await peerRoutes(a.netns), expectedRoutes([b.n]));
  assert.equal((await ipJson<IpRoute>(['route', 'show', '10.220.8.0/24'], a.netns)).length, 1, 'a route podwire did not add is untouched');
  const reconciled = a.server
    .logRecords()
    .filter((r) => r.msg === 'peers: routes reconciled with the peer set')
    .at(-1);
  assert.deepEqual({ added: reconciled?.added, removed: reconciled?.removed, unchanged: reconciled?.unchanged }, { added: 1, removed: 2, unchanged: 1 });

  // The pods kept running through the restart and still reach each other across nodes.
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    for (const address of [to.pod.v4, to.pod.v6]) {
      const out = await ping(from.pod.netns, address);
      assert.equal(out.code, 0, `${from.name} pod -> ${to.name} pod ${address}:\n${out.stdout}`);
    }
  }
  for (const node of [a, b]) {
    const del = await runShim({
      command: 'DEL',
      containerId: `ctr-xn-${node.n}`,
      netns: node.pod.path,
      ifname: 'eth0',
      config: CONF,
      env: { PODWIRE_SOCKET: node.server.socket },
    });
    assert.equal(del.exitCode, 0, del.stdout);
  }
});
