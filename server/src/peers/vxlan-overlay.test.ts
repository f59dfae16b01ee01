/**
 * The peer router with the VXLAN overlay against the real kernel, in a network namespace of
 * the test's own: one underlay veth (10.231.0.1/24), peer b on-link, peer c behind a gateway.
 * What is asserted is the kernel's state (`ip -j route/neigh/link`, `bridge -j fdb`).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import pino from 'pino';
import { RtnlSockets } from '../rtnl/rtnl-sockets';
import type { RtnlSocket } from '../rtnl/rtnl-socket';
import { rtnlRouteSender } from '../datapath/host-programmer';
import { NodePodCidrs } from './node-pod-cidrs';
import { SnapshotPeerRouteTable } from './peer-route-table';
import { PeerRouter } from './peer-router';
import { VxlanOverlay, removeVxlanLeftovers } from './vxlan-overlay';
import type { ProbeSender } from './path-mtu-probe';
import type { Encapsulation } from '../config/overlay-config';
import { TestNetns } from '../test-support/test-netns';
import { takeSnapshot } from '../rtnl/snapshot';
import { routedVethHostView } from '../datapath/routed-veth';
import { linkOwner } from '../datapath/link-identity';

let NS: TestNetns;
const sockets = new RtnlSockets();
let sock: RtnlSocket;
const log = pino({ level: 'silent' });

before(() => {
  NS = new TestNetns('vxov');
  sock = sockets.openIn(NS.fd, `netns ${NS.name}`);
  NS.ip('link', 'add', 'under0', 'type', 'veth', 'peer', 'name', 'under0p');
  NS.ip('addr', 'add', '10.231.0.1/24', 'dev', 'under0');
  NS.ip('link', 'set', 'under0', 'up');
  NS.ip('link', 'set', 'under0p', 'up');
  NS.ip('route', 'add', '10.233.0.0/24', 'via', '10.231.0.254');
});
after(() => {
  sockets.closeAll();
  NS?.remove();
});

const B = { name: 'b', nodeIPs: ['10.231.0.2'], podCIDRs: ['10.232.2.0/24'] };
const C = { name: 'c', nodeIPs: ['10.233.0.3'], podCIDRs: ['10.232.3.0/24'] };
const MAC_B = '0e:77:0a:e7:00:02';
const MAC_C = '0e:77:0a:e9:00:03';

function router(
  encapsulation: Encapsulation,
  ownerTag = 'vxtest',
  local = '10.231.0.1',
  podCIDRs = ['10.232.1.0/24'],
  probe?: { send: ProbeSender; waitMs: number },
): PeerRouter {
  const node = new NodePodCidrs('a', podCIDRs);
  const overlay = new VxlanOverlay({
    sock,
    config: { encapsulation, vxlan: { vni: 1, port: 4789 } },
    ownerTag,
    localIPs: () => [local],
    ownPodCIDRs: () => node.podCidrs(),
    log,
    ...(probe ? { probe } : {}),
  });
  const send = rtnlRouteSender(sock);
  return new PeerRouter({ applyRouteChanges: (c) => send(c) }, new SnapshotPeerRouteTable(sock), node, log, { overlay });
}

function peerRoutes(): string[] {
  return NS.json<Array<{ dst: string; gateway?: string; dev: string; flags: string[]; protocol: string }>>('route', 'show', 'proto', '198')
    .map((r) => `${r.dst} via ${r.gateway ?? '-'} dev ${r.dev}${r.flags.includes('onlink') ? ' onlink' : ''}`)
    .sort();
}

function neighbours(): string[] {
  try {
    return NS.json<Array<{ dst: string; lladdr?: string; state: string[] }>>('neigh', 'show', 'dev', 'pwvx1', 'nud', 'permanent')
      .map((n) => `${n.dst} ${n.lladdr ?? ''}`)
      .sort();
  } catch {
    return [];
  }
}

function fdb(): string[] {
  try {
    const out = execFileSync('bridge', ['-n', NS.name, '-j', 'fdb', 'show', 'dev', 'pwvx1'], { encoding: 'utf8' });
    return (JSON.parse(out) as Array<{ mac: string; dst?: string; state?: string }>)
      .filter((f) => f.dst)
      .map((f) => `${f.mac} ${f.dst ?? ''} ${f.state ?? ''}`)
      .sort();
  } catch {
    return [];
  }
}

function device(): { mtu: number; address: string; ifindex: number; alias: string } | undefined {
  try {
    const [l] = NS.json<Array<{ mtu: number; address: string; ifindex: number; ifalias?: string }>>('link', 'show', 'pwvx1');
    return l && { mtu: l.mtu, address: l.address, ifindex: l.ifindex, alias: l.ifalias ?? '' };
  } catch {
    return undefined;
  }
}

test('vxlan-cross-subnet: the on-link peer direct, the routed one through the device (neighbour, FDB entry, onlink route); MTU 1450', async () => {
  const r = router('vxlan-cross-subnet');
  const report = await r.update({ peers: [B, C] });
  assert.deepEqual(report, { added: 2, updated: 0, removed: 0, failed: 0, unchanged: 0 });
  assert.deepEqual(peerRoutes(), ['10.232.2.0/24 via 10.231.0.2 dev under0', '10.232.3.0/24 via 10.232.3.0 dev pwvx1 onlink']);
  assert.deepEqual(neighbours(), [`10.232.3.0 ${MAC_C}`]);
  assert.deepEqual(fdb(), [`${MAC_C} 10.233.0.3 permanent`]);
  assert.deepEqual(device(), { mtu: 1450, address: '0e:77:0a:e7:00:01', ifindex: device()?.ifindex, alias: 'podwire-vxlan:vxtest' });
  // The start-up reconcile removes every link carrying the pods' owner alias that no attachment
  // accounts for: the VXLAN device must not be one of them.
  const view = routedVethHostView(await takeSnapshot(sock), linkOwner('vxtest'));
  assert.deepEqual(
    view.ownedLinks().map((l) => l.name),
    [],
  );
  const status = await r.status();
  assert.deepEqual(
    status.map((p) => ({
      name: p.name,
      mode: p.mode,
      mac: p.vtepMac,
      underlay: p.vtepUnderlay,
      routes: p.routes.map((x) => `${x.dst} ${x.mode} ${x.gateway} ${x.programmed}`),
    })),
    [
      { name: 'b', mode: 'direct', mac: '', underlay: '', routes: ['10.232.2.0/24 direct 10.231.0.2 true'] },
      { name: 'c', mode: 'vxlan', mac: MAC_C, underlay: '10.233.0.3', routes: ['10.232.3.0/24 vxlan 10.232.3.0 true'] },
    ],
  );
  // A second pass changes nothing.
  assert.deepEqual(await r.resync(), { added: 0, updated: 0, removed: 0, failed: 0, unchanged: 2 });
  assert.deepEqual(fdb(), [`${MAC_C} 10.233.0.3 permanent`]);
});

test('drift is repaired by the next pass: a deleted device, a missing FDB entry, a stray one, a changed MTU; one of each afterwards', async () => {
  const r = router('vxlan-cross-subnet');
  await r.update({ peers: [B, C] });
  NS.ip('link', 'del', 'pwvx1');
  assert.deepEqual(peerRoutes(), ['10.232.2.0/24 via 10.231.0.2 dev under0']);
  const repaired = await r.resync();
  assert.deepEqual(repaired, { added: 1, updated: 0, removed: 0, failed: 0, unchanged: 1 });
  assert.deepEqual(peerRoutes(), ['10.232.2.0/24 via 10.231.0.2 dev under0', '10.232.3.0/24 via 10.232.3.0 dev pwvx1 onlink']);
  assert.deepEqual(neighbours(), [`10.232.3.0 ${MAC_C}`]);
  execFileSync('bridge', ['-n', NS.name, 'fdb', 'del', MAC_C, 'dev', 'pwvx1', 'dst', '10.233.0.3']);
  execFileSync('bridge', ['-n', NS.name, 'fdb', 'append', '0e:77:0a:e7:00:09', 'dev', 'pwvx1', 'dst', '10.231.0.9', 'self', 'permanent']);
  NS.ip('neigh', 'add', '10.232.9.0', 'lladdr', '0e:77:0a:e7:00:09', 'dev', 'pwvx1', 'nud', 'permanent');
  NS.ip('link', 'set', 'pwvx1', 'mtu', '1300');
  await r.resync();
  assert.deepEqual(fdb(), [`${MAC_C} 10.233.0.3 permanent`]);
  assert.deepEqual(neighbours(), [`10.232.3.0 ${MAC_C}`]);
  assert.equal(device()?.mtu, 1450);
  // A fresh router (a restart) over the same kernel: nothing to do, nothing duplicated.
  assert.deepEqual(await router('vxlan-cross-subnet').update({ peers: [B, C] }), { added: 0, updated: 0, removed: 0, failed: 0, unchanged: 2 });
  assert.deepEqual(fdb(), [`${MAC_C} 10.233.0.3 permanent`]);
});

test('a peer whose address becomes on-link switches to direct (its neighbour and FDB entry go); back again when it is routed', async () => {
  const r = router('vxlan-cross-subnet');
  await r.update({ peers: [B, C] });
  NS.ip('addr', 'add', '10.233.0.1/24', 'dev', 'under0');
  try {
    assert.deepEqual(await r.resync(), { added: 0, updated: 1, removed: 0, failed: 0, unchanged: 1 });
    assert.deepEqual(peerRoutes(), ['10.232.2.0/24 via 10.231.0.2 dev under0', '10.232.3.0/24 via 10.233.0.3 dev under0']);
    assert.deepEqual(neighbours(), []);
    assert.deepEqual(fdb(), []);
  } finally {
    NS.ip('addr', 'del', '10.233.0.1/24', 'dev', 'under0');
    NS.ip('route', 'replace', '10.233.0.0/24', 'via', '10.231.0.254');
  }
  await r.resync();
  assert.deepEqual(peerRoutes(), ['10.232.2.0/24 via 10.231.0.2 dev under0', '10.232.3.0/24 via 10.232.3.0 dev pwvx1 onlink']);
  assert.deepEqual(fdb(), [`${MAC_C} 10.233.0.3 permanent`]);
});

test('vxlan: every peer through the device; a removed peer takes its route, neighbour and FDB entry with it', async () => {
  const r = router('vxlan');
  await r.update({ peers: [B, C] });
  assert.deepEqual(peerRoutes(), ['10.232.2.0/24 via 10.232.2.0 dev pwvx1 onlink', '10.232.3.0/24 via 10.232.3.0 dev pwvx1 onlink']);
  assert.deepEqual(neighbours(), [`10.232.2.0 ${MAC_B}`, `10.232.3.0 ${MAC_C}`]);
  assert.deepEqual(fdb(), [`${MAC_B} 10.231.0.2 permanent`, `${MAC_C} 10.233.0.3 permanent`]);
  assert.deepEqual(await r.update({ peers: [B] }), { added: 0, updated: 0, removed: 1, failed: 0, unchanged: 1 });
  assert.deepEqual(peerRoutes(), ['10.232.2.0/24 via 10.232.2.0 dev pwvx1 onlink']);
  assert.deepEqual(neighbours(), [`10.232.2.0 ${MAC_B}`]);
  assert.deepEqual(fdb(), [`${MAC_B} 10.231.0.2 permanent`]);
});

test('a pwvx1 podwire did not create is left alone; its routes are reported, not programmed', async () => {
  NS.ip('link', 'del', 'pwvx1');
  NS.ip('route', 'flush', 'proto', '198');
  NS.ip('link', 'add', 'pwvx1', 'type', 'vxlan', 'id', '1', 'dstport', '4789', 'local', '10.231.0.1');
  const before = device();
  const r = router('vxlan');
  const report = await r.update({ peers: [B] });
  assert.equal(report.added, 0);
  assert.deepEqual(peerRoutes(), []);
  assert.deepEqual(device(), before);
  const [b] = await r.status();
  assert.match(b?.routes[0]?.error ?? '', /podwire did not create/);
  NS.ip('link', 'del', 'pwvx1');
});

test('an IPv6 underlay: LOCAL6, MTU 1430, IPv6 FDB destinations, MACs from the pod CIDRs; dual-stack pods over it', async () => {
  NS.ip('addr', 'add', 'fd99:231::1/64', 'dev', 'under0', 'nodad');
  NS.ip('-6', 'route', 'add', 'fd99:233::/64', 'via', 'fd99:231::fe');
  const b = { name: 'b', nodeIPs: ['fd99:231::2'], podCIDRs: ['10.232.2.0/24', 'fd99:232:2::/64'] };
  const c = { name: 'c', nodeIPs: ['fd99:233::3'], podCIDRs: ['fd99:232:3::/64'] };
  const r = router('vxlan-cross-subnet', 'vxtest', 'fd99:231::1', ['10.232.1.0/24', 'fd99:232:1::/64']);
  const report = await r.update({ peers: [b, c] });
  // b has no IPv4 node address: its IPv4 route is reported, not routed (desiredPeerRoutes), its IPv6 one is on-link.
  assert.deepEqual(report, { added: 2, updated: 0, removed: 0, failed: 0, unchanged: 0 });
  const v6 = NS.json<Array<{ dst: string; gateway?: string; dev: string }>>('-6', 'route', 'show', 'proto', '198')
    .map((x) => `${x.dst} via ${x.gateway ?? '-'} dev ${x.dev}`)
    .sort();
  assert.deepEqual(v6, ['fd99:232:2::/64 via fd99:231::2 dev under0', 'fd99:232:3::/64 via fd99:232:3:: dev pwvx1']);
  const [link] = NS.json<Array<{ mtu: number; address: string; linkinfo: { info_data: { local6?: string } } }>>('-d', 'link', 'show', 'pwvx1');
  assert.deepEqual(link && { mtu: link.mtu, address: link.address, local6: link.linkinfo.info_data.local6 }, {
    mtu: 1430,
    address: '0e:78:0a:e8:01:00',
    local6: 'fd99:231::1',
  });
  assert.deepEqual(fdb(), ['0e:79:00:03:00:00 fd99:233::3 permanent']);
  const [, st] = await r.status();
  assert.deepEqual(st && [st.mode, st.vtepMac, st.vtepUnderlay], ['vxlan', '0e:79:00:03:00:00', 'fd99:233::3']);
});

test("path MTU: the route lookup after a probe gives each VXLAN peer's path MTU; one below the pods' MTU + 50 is flagged", async () => {
  // The probe datagrams are not sent here (the test runs in the host's netns); a route with an
  // MTU of its own stands in for what a router's "fragmentation needed" leaves in the kernel.
  const sent: string[] = [];
  const r = router('vxlan', 'vxtest', '10.231.0.1', ['10.232.1.0/24'], {
    send: async (address, _port, size) => void sent.push(`${address} ${size}`),
    waitMs: 0,
  });
  NS.ip('route', 'add', '10.233.0.3/32', 'via', '10.231.0.254', 'mtu', '1400');
  try {
    await r.update({ peers: [B, C] });
    const until = Date.now() + 5_000;
    while (r.pathMtus().length < 2 && Date.now() < until) await new Promise((res) => setTimeout(res, 20));
    assert.deepEqual(sent.sort(), ['10.231.0.2 1472', '10.233.0.3 1472']);
    assert.deepEqual(r.pathMtus(), [
      { peer: 'b', pathMtu: 1500, tooSmall: false },
      { peer: 'c', pathMtu: 1400, tooSmall: true },
    ]);
    const status = await r.status();
    assert.deepEqual(
      status.map((p) => p.pathMtu),
      [1500, 1400],
    );
    assert.match(status[1]?.pathMtuWarning ?? '', /the path MTU to 10\.233\.0\.3 is 1400, smaller than the 1500 the pods' MTU 1450 needs over VXLAN/);
  } finally {
    NS.ip('route', 'del', '10.233.0.3/32');
  }
});

test("devices left from another configuration (this owner's alias, another name) are removed; the current one and foreign ones stay", async () => {
  await router('vxlan').update({ peers: [B] });
  NS.ip('link', 'add', 'pwvx5', 'type', 'vxlan', 'id', '5', 'dstport', '4789', 'local', '10.231.0.1');
  NS.ip('link', 'set', 'pwvx5', 'alias', 'podwire-vxlan:vxtest');
  NS.ip('link', 'add', 'pwvx6', 'type', 'vxlan', 'id', '6', 'dstport', '4789', 'local', '10.231.0.1');
  NS.ip('link', 'set', 'pwvx6', 'alias', 'podwire-vxlan:other');
  const hostLinks = async () => (await takeSnapshot(sock, ['links'])).links;
  assert.deepEqual(await removeVxlanLeftovers({ sock, ownerTag: 'vxtest', links: await hostLinks(), keep: 'pwvx1' }), ['pwvx5']);
  const names = () =>
    NS.json<Array<{ ifname: string }>>('link', 'show', 'type', 'vxlan')
      .map((l) => l.ifname)
      .sort();
  assert.deepEqual(names(), ['pwvx1', 'pwvx6']);
  // Encapsulation off: nothing kept.
  assert.deepEqual(await removeVxlanLeftovers({ sock, ownerTag: 'vxtest', links: await hostLinks() }), ['pwvx1']);
  assert.deepEqual(names(), ['pwvx6']);
  NS.ip('link', 'del', 'pwvx6');
});
