/**
 * The VXLAN overlay across three "nodes" (network namespaces) on one machine: nodes 1 and 2
 * share a segment (10.221.0.0/24, fd99:221::/64, a bridge in a "switch" namespace), node 3 sits
 * on another (10.222.0.0/24, fd99:222::/64) behind a router namespace that forwards between the
 * two and knows no pod CIDRs. Each node runs its own podwired (static peers, pod CIDRs
 * 10.223.N.0/24 + fd99:223:N::/64, an IPv4 underlay) with one pod.
 *
 * - `vxlan-cross-subnet`: every pod pings every other (both families); 1 <-> 2 go direct (the
 *   VXLAN devices' counters do not move), 1/2 <-> 3 through VXLAN.
 * - pods get MTU 1450 on the 1500 underlay; a DF ping of the largest size that fits crosses the
 *   overlay, one byte more fails at the sender.
 * - `vxlan` (a restart with the other mode): every pair through the device.
 * - a SIGKILL, the device deleted and an FDB entry removed while down: the restart puts back
 *   exactly one route, neighbour and FDB entry per VXLAN peer; a peer removed by SIGHUP has
 *   its route, neighbours and FDB entry withdrawn.
 * - back to `none`: the restart removes the device and its port filter.
 * - path MTU probes: a 1400 router link towards node 3 is found and flagged.
 * Every address is inside namespaces this test created.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type IpRoute, TestNetnsSet, ipJson } from '../lib/netns';
import { PodwiredProcess } from '../lib/podwired-process';
import { mustRun, runCommand } from '../lib/run-command';
import { runShim } from '../lib/shim';
import { REPO_ROOT } from '../lib/paths';

interface Node {
  n: number;
  name: string;
  netns: string;
  server: PodwiredProcess;
  pod: { netns: string; path: string; v4: string; v6: string };
}

const NETWORK = 'vxnet';
// No "ranges" (the node's pod CIDRs) and no "mtu" (the overlay decides).
const CONF = { cniVersion: '1.0.0', name: NETWORK, type: 'podwire', ipam: { type: 'podwire' } };
const netns = new TestNetnsSet(`vx-${process.pid}`);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-vx-'));
const nodes: Node[] = [];

const nodeIP = (n: number) => (n === 3 ? { v4: '10.222.0.3', v6: 'fd99:222::3' } : { v4: `10.221.0.${n}`, v6: `fd99:221::${n}` });
const podCIDRs = (n: number) => [`10.223.${n}.0/24`, `fd99:223:${n}::/64`];
const peerEntry = (n: number) => ({ name: `node-${n}`, nodeIPs: [nodeIP(n).v4, nodeIP(n).v6], podCIDRs: podCIDRs(n) });
const configFor = (n: number, encapsulation: string) => ({
  node: { name: `node-${n}`, podCIDRs: podCIDRs(n), nodeIPs: [nodeIP(n).v4, nodeIP(n).v6] },
  peers: { source: 'static', encapsulation, static: [1, 2, 3].filter((p) => p !== n).map(peerEntry) },
});
const vtepMac = (n: number) => `0e:77:0a:${n === 3 ? 'de:00:03' : `dd:00:0${n}`}`;

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function ping(fromPodNs: string, address: string, extra: string[] = [], count = 2): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const args = ['netns', 'exec', fromPodNs, 'ping', ...(address.includes(':') ? ['-6'] : []), ...extra, '-c', String(count), '-i', '0.2', '-W', '2', address];
  return runCommand('ip', args, { timeoutMs: 30_000 });
}

/** podwire's peer routes in a node, both families, as "dst via gateway dev". */
async function peerRoutes(ns: string): Promise<string[]> {
  const v4 = await ipJson<IpRoute>(['route', 'show', 'proto', '198'], ns);
  const v6 = await ipJson<IpRoute>(['-6', 'route', 'show', 'proto', '198'], ns);
  return [...v4, ...v6].map((r) => `${r.dst} via ${r.gateway ?? '-'} dev ${r.dev ?? '-'}`).sort();
}

/** Packets sent and received by a node's VXLAN device. */
async function vxlanPackets(ns: string): Promise<number> {
  const [link] = await ipJson<{ stats64?: { rx: { packets: number }; tx: { packets: number } } }>(['-s', 'link', 'show', 'pwvx1'], ns);
  assert.ok(link?.stats64, `no pwvx1 in ${ns}`);
  return link.stats64.rx.packets + link.stats64.tx.packets;
}

async function fdbOf(ns: string): Promise<string[]> {
  const out = await mustRun('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', 'pwvx1']);
  return (JSON.parse(out) as Array<{ mac: string; dst?: string }>)
    .filter((f) => f.dst)
    .map((f) => `${f.mac} ${f.dst ?? ''}`)
    .sort();
}

async function neighboursOf(ns: string): Promise<string[]> {
  const v4 = await ipJson<{ dst: string; lladdr?: string }>(['-4', 'neigh', 'show', 'dev', 'pwvx1', 'nud', 'permanent'], ns);
  const v6 = await ipJson<{ dst: string; lladdr?: string }>(['-6', 'neigh', 'show', 'dev', 'pwvx1', 'nud', 'permanent'], ns);
  return [...v4, ...v6].map((x) => `${x.dst} ${x.lladdr ?? ''}`).sort();
}

async function podwirectl(socket: string, ...args: string[]) {
  return runCommand(process.execPath, [path.join(REPO_ROOT, 'server', 'dist', 'ctl', 'main.js'), ...args, '--socket', socket], { timeoutMs: 30_000 });
}

/** Restarts every node's podwired with `encapsulation` and waits for its peer routes. */
async function restartAll(encapsulation: string): Promise<void> {
  for (const node of nodes) {
    await node.server.stop();
    node.server.options.config = configFor(node.n, encapsulation);
  }
  await Promise.all(nodes.map((node) => node.server.start()));
  for (const node of nodes) {
    await waitFor(`peer routes on ${node.name}`, async () => (await peerRoutes(node.netns)).length === 4).catch(async (err: unknown) => {
      throw new Error(
        `${String(err)}: ${(await peerRoutes(node.netns)).join('; ')}\n${node.server
          .logRecords()
          .filter((r) => Number(r.level) >= 40)
          .map((r) => JSON.stringify(r))
          .join('\n')}`,
      );
    });
  }
}

before(async () => {
  const sw = (await netns.create('sw')).name;
  const rt = (await netns.create('rt')).name;
  await mustRun('ip', ['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
  await mustRun('ip', ['-n', sw, 'link', 'set', 'br0', 'up']);
  // The router: one leg on segment 1 (through the switch), one to node 3; forwarding, no pod CIDR routes.
  await mustRun('ip', ['-n', sw, 'link', 'add', 'ur', 'type', 'veth', 'peer', 'name', 'seg1', 'netns', rt]);
  await mustRun('ip', ['-n', sw, 'link', 'set', 'ur', 'master', 'br0', 'up']);
  await mustRun('ip', ['netns', 'exec', rt, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
  await mustRun('ip', ['-n', rt, 'addr', 'add', '10.221.0.254/24', 'dev', 'seg1']);
  await mustRun('ip', ['-n', rt, 'addr', 'add', 'fd99:221::fe/64', 'dev', 'seg1', 'nodad']);
  await mustRun('ip', ['-n', rt, 'link', 'set', 'seg1', 'up']);
  for (const n of [1, 2, 3]) {
    const ns = (await netns.create(`n${n}`)).name;
    if (n === 3) {
      await mustRun('ip', ['-n', rt, 'link', 'add', 'seg2', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await mustRun('ip', ['-n', rt, 'addr', 'add', '10.222.0.254/24', 'dev', 'seg2']);
      await mustRun('ip', ['-n', rt, 'addr', 'add', 'fd99:222::fe/64', 'dev', 'seg2', 'nodad']);
      await mustRun('ip', ['-n', rt, 'link', 'set', 'seg2', 'up']);
    } else {
      await mustRun('ip', ['-n', sw, 'link', 'add', `u${n}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await mustRun('ip', ['-n', sw, 'link', 'set', `u${n}`, 'master', 'br0', 'up']);
    }
    await mustRun('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await mustRun('ip', ['-n', ns, 'addr', 'add', `${nodeIP(n).v4}/24`, 'dev', 'eth0']);
    await mustRun('ip', ['-n', ns, 'addr', 'add', `${nodeIP(n).v6}/64`, 'dev', 'eth0', 'nodad']);
    await mustRun('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    // The other segment through the router (and nothing else: no pod CIDR is routed there).
    const [other4, other6, gw4, gw6] =
      n === 3 ? ['10.221.0.0/24', 'fd99:221::/64', '10.222.0.254', 'fd99:222::fe'] : ['10.222.0.0/24', 'fd99:222::/64', '10.221.0.254', 'fd99:221::fe'];
    await mustRun('ip', ['-n', ns, 'route', 'add', other4, 'via', gw4]);
    await mustRun('ip', ['-n', ns, '-6', 'route', 'add', other6, 'via', gw6]);
    const dir = path.join(root, `node-${n}`);
    fs.mkdirSync(dir, { mode: 0o700 });
    const server = new PodwiredProcess(path.join(dir, 'run', 'podwire.sock'), path.join(dir, 'state'), {
      netns: ns,
      config: configFor(n, 'vxlan-cross-subnet'),
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

test('vxlan-cross-subnet: the on-link pair goes direct, the routed pairs through VXLAN; pods get MTU 1450; DF pings fit exactly', {
  timeout: 180_000,
}, async () => {
  const [a, b, c] = nodes;
  assert.ok(a && b && c);
  for (const node of nodes) await waitFor(`peer routes on ${node.name}`, async () => (await peerRoutes(node.netns)).length === 4);
  assert.deepEqual(await peerRoutes(a.netns), [
    '10.223.2.0/24 via 10.221.0.2 dev eth0',
    '10.223.3.0/24 via 10.223.3.0 dev pwvx1',
    'fd99:223:2::/64 via fd99:221::2 dev eth0',
    'fd99:223:3::/64 via fd99:223:3:: dev pwvx1',
  ]);
  assert.deepEqual(await peerRoutes(c.netns), [
    '10.223.1.0/24 via 10.223.1.0 dev pwvx1',
    '10.223.2.0/24 via 10.223.2.0 dev pwvx1',
    'fd99:223:1::/64 via fd99:223:1:: dev pwvx1',
    'fd99:223:2::/64 via fd99:223:2:: dev pwvx1',
  ]);
  assert.deepEqual(await fdbOf(a.netns), [`${vtepMac(3)} 10.222.0.3`]);
  assert.deepEqual(await neighboursOf(a.netns), [`10.223.3.0 ${vtepMac(3)}`, `fd99:223:3:: ${vtepMac(3)}`]);
  assert.deepEqual(await fdbOf(c.netns), [`${vtepMac(1)} 10.221.0.1`, `${vtepMac(2)} 10.221.0.2`]);
  // VXLAN is accepted from the known peers' node addresses only (an nftables table of the overlay's own).
  const tables = JSON.parse(await mustRun('ip', ['netns', 'exec', c.netns, 'nft', '-j', 'list', 'tables'])) as {
    nftables: Array<{ table?: { name: string } }>;
  };
  const filter = tables.nftables.map((o) => o.table?.name ?? '').find((n) => n.startsWith('podwire-vxlan-'));
  assert.ok(filter, 'the VXLAN filter table');
  const peersV4 = JSON.parse(await mustRun('ip', ['netns', 'exec', c.netns, 'nft', '-j', 'list', 'set', 'inet', filter, 'peers-v4'])) as {
    nftables: Array<{ set?: { elem?: string[] } }>;
  };
  assert.deepEqual(peersV4.nftables.find((o) => o.set)?.set?.elem?.sort(), ['10.221.0.1', '10.221.0.2']);
  const [dev] = await ipJson<{ mtu: number; address: string }>(['link', 'show', 'pwvx1'], c.netns);
  assert.deepEqual(dev && { mtu: dev.mtu, address: dev.address }, { mtu: 1450, address: vtepMac(3) });

  for (const node of nodes) {
    const pod = await netns.create(`p${node.n}`);
    const add = await runShim({
      command: 'ADD',
      containerId: `ctr-vx-${node.n}`,
      netns: pod.path,
      ifname: 'eth0',
      config: CONF,
      env: { PODWIRE_SOCKET: node.server.socket },
    });
    assert.equal(add.exitCode, 0, add.stdout + add.stderr);
    node.pod = { netns: pod.name, path: pod.path, v4: `10.223.${node.n}.1`, v6: `fd99:223:${node.n}::1` };
    const [eth0] = await ipJson<{ mtu: number }>(['link', 'show', 'eth0'], pod.name);
    assert.equal(eth0?.mtu, 1450, `${node.name}'s pod MTU`);
  }

  // The on-link pair: direct, both ways, both families; no VXLAN device moves a packet.
  const before = await Promise.all(nodes.map((n) => vxlanPackets(n.netns)));
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    for (const address of [to.pod.v4, to.pod.v6]) {
      const out = await ping(from.pod.netns, address);
      assert.equal(out.code, 0, `${from.name} pod -> ${to.name} pod ${address}:\n${out.stdout}`);
    }
  }
  assert.deepEqual(await Promise.all(nodes.map((n) => vxlanPackets(n.netns))), before, 'the on-link pair never crosses a VXLAN device');

  // The routed pairs: through VXLAN (node 3's device counts every one of them).
  for (const [from, to] of [
    [a, c],
    [c, a],
    [b, c],
    [c, b],
  ] as const) {
    for (const address of [to.pod.v4, to.pod.v6]) {
      const was = await vxlanPackets(c.netns);
      const out = await ping(from.pod.netns, address);
      assert.equal(out.code, 0, `${from.name} pod -> ${to.name} pod ${address}:\n${out.stdout}`);
      assert.ok((await vxlanPackets(c.netns)) >= was + 4, `${from.name} -> ${to.name} ${address} crossed node-3's VXLAN device`);
    }
  }

  // The largest IPv4 ping that fits 1450 with DF (1450 - 20 - 8 = 1422 bytes of payload) crosses the overlay; one byte more fails at the sender.
  const fits = await ping(a.pod.netns, c.pod.v4, ['-M', 'do', '-s', '1422']);
  assert.equal(fits.code, 0, fits.stdout + fits.stderr);
  const tooBig = await ping(a.pod.netns, c.pod.v4, ['-M', 'do', '-s', '1423'], 1);
  assert.notEqual(tooBig.code, 0);
  assert.match(tooBig.stdout + tooBig.stderr, /message too long|mtu=1450|local error/i);
  // IPv6: 1450 - 40 - 8 = 1402.
  const fits6 = await ping(a.pod.netns, c.pod.v6, ['-M', 'do', '-s', '1402']);
  assert.equal(fits6.code, 0, fits6.stdout + fits6.stderr);
  const tooBig6 = await ping(a.pod.netns, c.pod.v6, ['-M', 'do', '-s', '1403'], 1);
  assert.notEqual(tooBig6.code, 0);

  // An explicit mtu larger than the overlay carries is refused, naming the largest that fits.
  const probe = await netns.create('probe');
  const big = await runShim({
    command: 'ADD',
    containerId: 'ctr-vx-big',
    netns: probe.path,
    ifname: 'eth0',
    config: { ...CONF, mtu: 1500 },
    env: { PODWIRE_SOCKET: a.server.socket },
  });
  assert.equal(big.exitCode, 1);
  assert.equal(big.json?.code, 7);
  assert.match(String(big.json?.details), /largest MTU that fits .* is 1450/);

  // podwirectl peers shows each peer's mode and VTEP.
  const ctl = await podwirectl(a.server.socket, 'peers', '-o', 'json');
  assert.equal(ctl.code, 0, ctl.stdout + ctl.stderr);
  const view = JSON.parse(ctl.stdout) as { peers: Array<{ name: string; mode: string; vtepMac: string; vtepUnderlay: string }> };
  assert.deepEqual(
    view.peers.map((p) => [p.name, p.mode, p.vtepMac, p.vtepUnderlay]),
    [
      ['node-2', 'direct', '', ''],
      ['node-3', 'vxlan', vtepMac(3), '10.222.0.3'],
    ],
  );
});

test('vxlan: after a restart in that mode every pair crosses the VXLAN devices', { timeout: 180_000 }, async () => {
  const [a, b] = nodes;
  assert.ok(a && b);
  await restartAll('vxlan');
  assert.deepEqual(await peerRoutes(a.netns), [
    '10.223.2.0/24 via 10.223.2.0 dev pwvx1',
    '10.223.3.0/24 via 10.223.3.0 dev pwvx1',
    'fd99:223:2::/64 via fd99:223:2:: dev pwvx1',
    'fd99:223:3::/64 via fd99:223:3:: dev pwvx1',
  ]);
  for (const from of nodes) {
    for (const to of nodes.filter((t) => t !== from)) {
      for (const address of [to.pod.v4, to.pod.v6]) {
        const was = await vxlanPackets(to.netns);
        const out = await ping(from.pod.netns, address);
        assert.equal(out.code, 0, `${from.name} pod -> ${to.name} pod ${address}:\n${out.stdout}`);
        assert.ok((await vxlanPackets(to.netns)) >= was + 4, `${from.name} -> ${to.name} ${address} crossed ${to.name}'s VXLAN device`);
      }
    }
  }
  const fits = await ping(a.pod.netns, b.pod.v4, ['-M', 'do', '-s', '1422']);
  assert.equal(fits.code, 0, fits.stdout + fits.stderr);
});

test('SIGKILL, the device deleted and an FDB entry removed while down: the restart puts back exactly one of each; a peer removed by SIGHUP is withdrawn', {
  timeout: 120_000,
}, async () => {
  const [a, b, c] = nodes;
  assert.ok(a && b && c);
  assert.equal(await a.server.kill(), null);
  await mustRun('ip', ['-n', a.netns, 'link', 'del', 'pwvx1']);
  await mustRun('bridge', ['-n', b.netns, 'fdb', 'del', vtepMac(3), 'dev', 'pwvx1', 'dst', '10.222.0.3']);
  await a.server.start();
  await waitFor('node-1 peer routes back', async () => (await peerRoutes(a.netns)).length === 4);
  assert.deepEqual(await fdbOf(a.netns), [`${vtepMac(2)} 10.221.0.2`, `${vtepMac(3)} 10.222.0.3`]);
  assert.deepEqual(await neighboursOf(a.netns), [
    `10.223.2.0 ${vtepMac(2)}`,
    `10.223.3.0 ${vtepMac(3)}`,
    `fd99:223:2:: ${vtepMac(2)}`,
    `fd99:223:3:: ${vtepMac(3)}`,
  ]);
  // Node 2 was not restarted: its missing FDB entry comes back with the next resync (SIGHUP re-reads the peers and reconciles).
  process.kill(b.server.pid ?? 0, 'SIGHUP');
  await waitFor('node-2 FDB entry restored', async () => (await fdbOf(b.netns)).length === 2);
  assert.deepEqual(await fdbOf(b.netns), [`${vtepMac(1)} 10.221.0.1`, `${vtepMac(3)} 10.222.0.3`]);
  for (const [from, to] of [
    [a, c],
    [b, c],
    [a, b],
  ] as const) {
    const out = await ping(from.pod.netns, to.pod.v4);
    assert.equal(out.code, 0, `${from.name} pod -> ${to.name} pod:\n${out.stdout}`);
  }
  // Node 3 leaves node 1's peers (SIGHUP re-reads the file): its route, neighbours and FDB entry go.
  a.server.options.config = { ...configFor(a.n, 'vxlan'), peers: { ...configFor(a.n, 'vxlan').peers, static: [peerEntry(b.n)] } };
  fs.writeFileSync(a.server.configFile, JSON.stringify(a.server.options.config));
  process.kill(a.server.pid ?? 0, 'SIGHUP');
  await waitFor('node-3 withdrawn on node-1', async () => (await peerRoutes(a.netns)).length === 2);
  assert.deepEqual(await peerRoutes(a.netns), ['10.223.2.0/24 via 10.223.2.0 dev pwvx1', 'fd99:223:2::/64 via fd99:223:2:: dev pwvx1']);
  assert.deepEqual(await fdbOf(a.netns), [`${vtepMac(2)} 10.221.0.2`]);
  assert.deepEqual(await neighboursOf(a.netns), [`10.223.2.0 ${vtepMac(2)}`, `fd99:223:2:: ${vtepMac(2)}`]);
  const toC = await ping(a.pod.netns, c.pod.v4, [], 1);
  assert.notEqual(toC.code, 0, 'node 3 is no longer routed from node 1');
  for (const node of nodes) {
    const del = await runShim({
      command: 'DEL',
      containerId: `ctr-vx-${node.n}`,
      netns: node.pod.path,
      ifname: 'eth0',
      config: CONF,
      env: { PODWIRE_SOCKET: node.server.socket },
    });
    assert.equal(del.exitCode, 0, del.stdout);
  }
});

test('back to encapsulation none: the restart removes the VXLAN device and its port filter; the on-link peer is routed direct', {
  timeout: 60_000,
}, async () => {
  const [a, b] = nodes;
  assert.ok(a && b);
  await b.server.stop();
  b.server.options.config = configFor(b.n, 'none');
  await b.server.start();
  await waitFor('node-2 direct route to node-1', async () => (await peerRoutes(b.netns)).includes('10.223.1.0/24 via 10.221.0.1 dev eth0'));
  assert.deepEqual(await ipJson(['link', 'show', 'type', 'vxlan'], b.netns), []);
  const tables = JSON.parse(await mustRun('ip', ['netns', 'exec', b.netns, 'nft', '-j', 'list', 'tables'])) as {
    nftables: Array<{ table?: { name: string } }>;
  };
  assert.deepEqual(
    tables.nftables.map((o) => o.table?.name ?? '').filter((n) => n.startsWith('podwire-vxlan-')),
    [],
  );
  const removed = b.server.logRecords().find((r) => r.msg === 'vxlan: removed VXLAN devices left from an earlier configuration');
  assert.deepEqual(removed?.removed, ['pwvx1']);
});

test("path MTU probes: a router link of 1400 towards node 3 shows as node 3's path MTU, flagged too small for the pods' 1450", {
  timeout: 60_000,
}, async () => {
  const [a] = nodes;
  assert.ok(a);
  const rt = `${netns.prefix}-rt`;
  await mustRun('ip', ['-n', rt, 'link', 'set', 'seg2', 'mtu', '1400']);
  // Node 1 (vxlan) gets node 3 back as a peer; the pass after SIGHUP probes both peers.
  a.server.options.config = configFor(a.n, 'vxlan');
  fs.writeFileSync(a.server.configFile, JSON.stringify(a.server.options.config));
  process.kill(a.server.pid ?? 0, 'SIGHUP');
  type View = { peers: Array<{ name: string; pathMtu: number; pathMtuWarning: string }> };
  let view: View = { peers: [] };
  await waitFor('node-3 path MTU probed', async () => {
    const ctl = await podwirectl(a.server.socket, 'peers', '-o', 'json');
    view = JSON.parse(ctl.stdout) as View;
    return view.peers.find((p) => p.name === 'node-3')?.pathMtu === 1400;
  });
  assert.deepEqual(
    view.peers.map((p) => [p.name, p.pathMtu]),
    [
      ['node-2', 1500],
      ['node-3', 1400],
    ],
  );
  assert.equal(view.peers[0]?.pathMtuWarning, '');
  assert.match(view.peers[1]?.pathMtuWarning ?? '', /path MTU to 10\.222\.0\.3 is 1400, smaller than the 1500 the pods' MTU 1450 needs over VXLAN/);
  const text = await podwirectl(a.server.socket, 'peers');
  assert.match(text.stdout, /path MTU 1400: TOO SMALL/);
});
