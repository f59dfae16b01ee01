/**
 * The batched link deleter and route programmer against real netlink, inside a network
 * namespace of the test's own (the socket is opened in it through the setns addon, so the
 * host's links and routes are never touched).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { RawNetlinkSocket } from '../rtnl/rtnl-socket';
import pino from 'pino';
import { NodePodCidrs } from '../peers/node-pod-cidrs';
import { SnapshotPeerRouteTable } from '../peers/peer-route-table';
import { RtnlSocket } from '../rtnl/rtnl-socket';
import { PeerRouter } from '../peers/peer-router';
import { BatchingHostProgrammer } from './batching-host-programmer';
import { rtnlRouteSender } from './host-programmer';
import { InThreadLinkDeleter } from '../rtnl/link-deleter';
import { NetnsOpener, type PodNetns } from './netns';
import { TestNetns } from '../test-support/test-netns';

let NS: TestNetns;
const opener = new NetnsOpener();
let ns: PodNetns;
let sock: RtnlSocket;

const ip = (...args: string[]) => NS.ip(...args);
function vethIndexes(count: number, prefix: string): number[] {
  for (let i = 0; i < count; i++) ip('link', 'add', `${prefix}${i}`, 'type', 'veth', 'peer', 'name', `${prefix}p${i}`);
  const links = JSON.parse(ip('-j', 'link', 'show')) as Array<{ ifname: string; ifindex: number }>;
  return links.filter((l) => new RegExp(`^${prefix}\\d+$`).test(l.ifname)).map((l) => l.ifindex);
}
const remaining = (prefix: string) => (JSON.parse(ip('-j', 'link', 'show')) as Array<{ ifname: string }>).filter((l) => l.ifname.startsWith(prefix)).length;

before(() => {
  NS = new TestNetns('batch');
  ns = opener.openPod(NS.path);
  sock = opener.rtnetlinkIn(ns);
});
after(() => {
  try {
    sock?.close();
    if (ns) opener.close(ns);
  } finally {
    NS?.remove();
  }
});

test('deletes that arrive while one is in flight are sent as one group delete', async () => {
  const batchSizes: number[] = [];
  const p = new BatchingHostProgrammer(rtnlRouteSender(sock), new InThreadLinkDeleter(sock), (kind, size) => {
    if (kind === 'link-delete') batchSizes.push(size);
  });
  const indexes = vethIndexes(40, 'bt');
  assert.equal(indexes.length, 40);
  await Promise.all(indexes.map((i) => p.deleteLink(i)));
  assert.equal(remaining('bt'), 0, 'every link (and its peer) is gone');
  assert.equal(
    batchSizes.reduce((a, b) => a + b, 0),
    40,
  );
  assert.equal(batchSizes[0], 1, 'the first delete goes alone');
  assert.ok(batchSizes.length <= 3, `coalesced into few batches: ${JSON.stringify(batchSizes)}`);
  const groups = JSON.parse(ip('-j', 'link', 'show')) as Array<{ group?: string }>;
  assert.ok(
    groups.every((l) => l.group === undefined || l.group === 'default'),
    'no link left in a podwire group',
  );
});

test('a link already gone settles fine for its caller and does not fail the batch', async () => {
  const p = new BatchingHostProgrammer(rtnlRouteSender(sock), new InThreadLinkDeleter(sock));
  const indexes = vethIndexes(5, 'bg');
  const first = indexes[0] ?? 0;
  ip('link', 'del', `bg0`);
  await Promise.all([p.deleteLink(first), ...indexes.slice(1).map((i) => p.deleteLink(i)), p.deleteLink(first)]);
  assert.equal(remaining('bg'), 0);
});

test('index 0 (which would mean every link) is refused', async () => {
  const p = new BatchingHostProgrammer(rtnlRouteSender(sock), new InThreadLinkDeleter(sock));
  await assert.rejects(p.deleteLink(0), /refusing/);
  await assert.rejects(p.deleteLink(-1), /refusing/);
});

interface IpRouteRow {
  dst: string;
  gateway?: string;
  protocol?: string;
}
const peerRoutes = () => (JSON.parse(ip('-j', 'route', 'show', 'proto', '198')) as IpRouteRow[]).map((r) => `${r.dst} via ${r.gateway ?? '-'}`).sort();

test('peer route changes: 300 creates in one batch, each caller gets its own outcome, deletes only touch proto 198', async () => {
  ip('link', 'add', 'pru0', 'type', 'veth', 'peer', 'name', 'pru0p');
  ip('addr', 'add', '10.50.0.1/24', 'dev', 'pru0');
  ip('link', 'set', 'pru0', 'up');
  ip('link', 'set', 'pru0p', 'up');
  try {
    const batches: number[] = [];
    const p = new BatchingHostProgrammer(rtnlRouteSender(sock), new InThreadLinkDeleter(sock), (kind, size) => {
      if (kind === 'route') batches.push(size);
    });
    const routes = Array.from({ length: 300 }, (_, i) => ({ dst: `10.${60 + Math.floor(i / 256)}.${i % 256}.0/24`, gateway: `10.50.0.${2 + (i % 3)}` }));
    // One route whose gateway is not on any connected network: the kernel refuses it alone.
    const unreachable = { dst: '10.70.0.0/24', gateway: '10.99.0.9' };
    const outcomes = await p.applyRouteChanges([...routes.map((route) => ({ op: 'create' as const, route })), { op: 'create', route: unreachable }]);
    assert.equal(outcomes.filter((o) => o.error === undefined).length, 300);
    assert.match(outcomes[300]?.error ?? '', /ENETUNREACH|EINVAL/);
    assert.deepEqual(batches, [301], 'queued at once while idle: one batch');
    const kernel = peerRoutes();
    assert.equal(kernel.length, 300);
    assert.ok(kernel.includes('10.60.5.0/24 via 10.50.0.4'));

    // A move is a delete then a create; concurrent single changes coalesce and settle one by one.
    batches.length = 0;
    const single = await Promise.allSettled([
      p.changeRoute({ op: 'delete', route: { dst: '10.60.5.0/24', gateway: '10.50.0.4' } }),
      p.changeRoute({ op: 'create', route: { dst: '10.60.5.0/24', gateway: '10.50.0.9' } }),
      p.changeRoute({ op: 'create', route: unreachable }),
      ...routes.slice(10, 60).map((route) => p.changeRoute({ op: 'delete', route })),
      p.changeRoute({ op: 'delete', route: { dst: '10.80.0.0/24', gateway: '10.50.0.2' } }),
    ]);
    assert.equal(single.filter((s) => s.status === 'rejected').length, 1, 'only the unreachable one fails');
    assert.equal(single[2]?.status, 'rejected');
    assert.equal(
      batches.reduce((a, b) => a + b, 0),
      54,
    );
    assert.ok(batches.length <= 3 && batches[0] === 1, `first alone, the rest coalesced: ${JSON.stringify(batches)}`);
    assert.ok(peerRoutes().includes('10.60.5.0/24 via 10.50.0.9'));
    assert.equal(peerRoutes().length, 250);

    // A route to the same destination that is not podwire's (proto static) survives a podwire delete.
    ip('route', 'add', '10.81.0.0/24', 'via', '10.50.0.2', 'proto', 'static');
    await p.changeRoute({ op: 'delete', route: { dst: '10.81.0.0/24', gateway: '10.50.0.2' } });
    assert.equal((JSON.parse(ip('-j', 'route', 'show', '10.81.0.0/24')) as IpRouteRow[]).length, 1);

    // Deletes name the gateway: the moved route is not taken by the delete of its old gateway's route.
    await p.applyRouteChanges(routes.map((route) => ({ op: 'delete' as const, route })));
    assert.deepEqual(peerRoutes(), ['10.60.5.0/24 via 10.50.0.9']);
    await p.changeRoute({ op: 'delete', route: { dst: '10.60.5.0/24', gateway: '10.50.0.9' } });
    assert.deepEqual(peerRoutes(), []);
  } finally {
    ip('link', 'del', 'pru0');
  }
});

test('IPv6 peer routes: create and delete', async () => {
  ip('link', 'add', 'pru6', 'type', 'veth', 'peer', 'name', 'pru6p');
  ip('addr', 'add', 'fd50::1/64', 'dev', 'pru6', 'nodad');
  ip('link', 'set', 'pru6', 'up');
  ip('link', 'set', 'pru6p', 'up');
  try {
    const p = new BatchingHostProgrammer(rtnlRouteSender(sock), new InThreadLinkDeleter(sock));
    await p.changeRoute({ op: 'create', route: { dst: 'fd60:0:0:2::/64', gateway: 'fd50::2' } });
    const rows = JSON.parse(ip('-6', '-j', 'route', 'show', 'proto', '198')) as IpRouteRow[];
    assert.deepEqual(
      rows.map((r) => [r.dst, r.gateway]),
      [['fd60:0:0:2::/64', 'fd50::2']],
    );
    await p.changeRoute({ op: 'delete', route: { dst: 'fd60:0:0:2::/64', gateway: 'fd50::2' } });
    assert.deepEqual(JSON.parse(ip('-6', '-j', 'route', 'show', 'proto', '198')), []);
  } finally {
    ip('link', 'del', 'pru6');
  }
});

/** A veth end in the test netns with one address of each family: peer gateways live on it. */
function underlay(name: string, v4: string, v6: string): void {
  ip('link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`);
  ip('addr', 'add', v4, 'dev', name);
  ip('addr', 'add', v6, 'dev', name, 'nodad');
  ip('link', 'set', name, 'up');
  ip('link', 'set', `${name}p`, 'up');
}
const routesTo = (dst: string) => JSON.parse(ip(...(dst.includes(':') ? ['-6'] : []), '-j', 'route', 'show', 'exact', dst)) as IpRouteRow[];
const describe = (rows: IpRouteRow[]) => rows.map((r) => `${r.gateway ?? '-'} proto ${r.protocol ?? '?'}`);

test('a peer route create never replaces a route podwire does not own (it fails alone, EEXIST); a gateway move is a delete then a create', async () => {
  underlay('prx0', '10.51.0.1/24', 'fd51::1/64');
  try {
    // Someone else's routes (proto static) to CIDRs podwire is then told to route.
    ip('route', 'add', '10.82.0.0/24', 'via', '10.51.0.2', 'proto', 'static');
    ip('-6', 'route', 'add', 'fd82::/64', 'via', 'fd51::2', 'proto', 'static');
    const p = new BatchingHostProgrammer(rtnlRouteSender(sock), new InThreadLinkDeleter(sock));
    const outcomes = await p.applyRouteChanges([
      { op: 'create', route: { dst: '10.82.0.0/24', gateway: '10.51.0.3' } },
      { op: 'create', route: { dst: '10.83.0.0/24', gateway: '10.51.0.3' } },
      { op: 'create', route: { dst: 'fd82::/64', gateway: 'fd51::3' } },
    ]);
    assert.match(outcomes[0]?.error ?? 'no error', /EEXIST/);
    assert.equal(outcomes[1]?.error, undefined);
    assert.match(outcomes[2]?.error ?? 'no error', /EEXIST/);
    assert.deepEqual(describe(routesTo('10.82.0.0/24')), ['10.51.0.2 proto static'], 'the static IPv4 route is untouched and alone');
    assert.deepEqual(describe(routesTo('fd82::/64')), ['fd51::2 proto static'], 'the static IPv6 route is untouched and alone');
    assert.deepEqual(peerRoutes(), ['10.83.0.0/24 via 10.51.0.3']);

    // A move in one batch: podwire's old route deleted by its gateway, the new one created.
    const moved = await p.applyRouteChanges([
      { op: 'delete', route: { dst: '10.83.0.0/24', gateway: '10.51.0.3' } },
      { op: 'create', route: { dst: '10.83.0.0/24', gateway: '10.51.0.4' } },
    ]);
    assert.deepEqual(moved, [{}, {}]);
    assert.deepEqual(describe(routesTo('10.83.0.0/24')), ['10.51.0.4 proto 198']);
  } finally {
    ip('link', 'del', 'prx0');
  }
});

test('the peer router against the kernel: a foreign route to a peer CIDR is reported, not replaced; a peer that moves gets its route moved', async () => {
  underlay('prr0', '10.52.0.1/24', 'fd52::1/64');
  const dumps = opener.rtnetlinkIn(ns);
  const table = new SnapshotPeerRouteTable(dumps);
  try {
    ip('route', 'add', '10.86.0.0/24', 'via', '10.52.0.9', 'proto', 'static');
    const programmer = new BatchingHostProgrammer(rtnlRouteSender(sock), new InThreadLinkDeleter(sock));
    const router = new PeerRouter(programmer, table, new NodePodCidrs('self', ['10.85.0.0/24']), pino({ level: 'silent' }));
    const peer = (gw4: string, gw6: string) => ({ name: 'b', nodeIPs: [gw4, gw6], podCIDRs: ['10.86.0.0/24', 'fd86::/64'] });
    assert.deepEqual(await router.update({ peers: [peer('10.52.0.2', 'fd52::2')] }), { added: 1, updated: 0, removed: 0, failed: 1, unchanged: 0 });
    assert.deepEqual(describe(routesTo('10.86.0.0/24')), ['10.52.0.9 proto static']);
    const status = await router.status();
    assert.match(status[0]?.routes.find((r) => r.dst === '10.86.0.0/24')?.error ?? '', /EEXIST/);

    // The peer's node addresses move: its IPv6 route follows (delete + create), the static IPv4 route still stays.
    assert.deepEqual(await router.update({ peers: [peer('10.52.0.3', 'fd52::3')] }), { added: 0, updated: 1, removed: 0, failed: 1, unchanged: 0 });
    assert.deepEqual(describe(routesTo('fd86::/64')), ['fd52::3 proto 198']);
    assert.deepEqual(describe(routesTo('10.86.0.0/24')), ['10.52.0.9 proto static']);

    // The foreign route goes away: the next pass adds podwire's own.
    ip('route', 'del', '10.86.0.0/24', 'proto', 'static');
    assert.deepEqual(await router.resync(), { added: 1, updated: 0, removed: 0, failed: 0, unchanged: 1 });
    assert.deepEqual(describe(routesTo('10.86.0.0/24')), ['10.52.0.3 proto 198']);
    assert.deepEqual(await router.update({ peers: [] }), { added: 0, updated: 0, removed: 2, failed: 0, unchanged: 0 });
    assert.deepEqual(JSON.parse(ip('-j', 'route', 'show', 'proto', '198')), []);
    assert.deepEqual(JSON.parse(ip('-6', '-j', 'route', 'show', 'proto', '198')), []);
  } finally {
    dumps.close();
    ip('link', 'del', 'prr0');
  }
});

test('a peer route delete names its gateway: of two proto-198 routes to one destination only that one goes; one already gone is fine', async () => {
  underlay('prd0', '10.53.0.1/24', 'fd53::1/64');
  try {
    ip('route', 'add', '10.87.0.0/24', 'via', '10.53.0.2', 'proto', '198', 'metric', '10');
    ip('route', 'add', '10.87.0.0/24', 'via', '10.53.0.3', 'proto', '198', 'metric', '20');
    ip('-6', 'route', 'add', 'fd87::/64', 'via', 'fd53::2', 'proto', '198', 'metric', '10');
    ip('-6', 'route', 'add', 'fd87::/64', 'via', 'fd53::3', 'proto', '198', 'metric', '20');
    const p = new BatchingHostProgrammer(rtnlRouteSender(sock), new InThreadLinkDeleter(sock));
    const del = (dst: string, gateway: string) => ({ op: 'delete' as const, route: { dst, gateway } });
    assert.deepEqual(await p.applyRouteChanges([del('10.87.0.0/24', '10.53.0.3'), del('fd87::/64', 'fd53::3')]), [{}, {}]);
    assert.deepEqual(describe(routesTo('10.87.0.0/24')), ['10.53.0.2 proto 198']);
    assert.deepEqual(describe(routesTo('fd87::/64')), ['fd53::2 proto 198']);
    // Already gone: success, and the other route is still not touched.
    assert.deepEqual(await p.applyRouteChanges([del('10.87.0.0/24', '10.53.0.3'), del('fd87::/64', 'fd53::3')]), [{}, {}]);
    assert.deepEqual(describe(routesTo('10.87.0.0/24')), ['10.53.0.2 proto 198']);
    assert.deepEqual(describe(routesTo('fd87::/64')), ['fd53::2 proto 198']);
  } finally {
    ip('link', 'del', 'prd0');
  }
});

test('a send that throws synchronously settles every change of it with the error and leaves no reply timer armed', async () => {
  // An RtnlSocket over a raw socket whose sendmsg fails at once.
  const raw = Object.assign(new EventEmitter(), {
    address: () => ({ port: 4242, groups: 0 }),
    send: () => {
      throw new Error('ENOBUFS: the send failed at once');
    },
    ref: () => undefined,
    unref: () => undefined,
    close: () => undefined,
  });
  const throwing = new RtnlSocket(raw as unknown as RawNetlinkSocket, 'test');
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timers();
  const p = new BatchingHostProgrammer(rtnlRouteSender(throwing), new InThreadLinkDeleter(throwing));
  const outcomes = await p.applyRouteChanges([
    { op: 'create', route: { dst: '10.88.0.0/24', gateway: '10.53.0.2' } },
    { op: 'delete', route: { dst: '10.88.1.0/24', gateway: '10.53.0.2' } },
    { op: 'create', podRoute: { address: '10.88.2.1', family: 4, oif: 7 } },
  ]);
  assert.equal(outcomes.length, 3);
  for (const o of outcomes) assert.match(o.error ?? '', /EIO \(send failed: ENOBUFS: the send failed at once\)/);
  assert.equal(timers(), before, 'no reply timer left armed');
  // The single-change path rejects its caller with the same error.
  await assert.rejects(p.changeRoute({ op: 'delete', route: { dst: '10.88.3.0/24', gateway: '10.53.0.2' } }), /ENOBUFS/);
  assert.equal(timers(), before);
  throwing.close();
});

test('pod routes go through the route batch: concurrent creates coalesce, each lands on its own veth (proto 199); a create never replaces and a delete only touches its own veth', async () => {
  const links = ['prp0', 'prp1'];
  for (const l of links) {
    ip('link', 'add', l, 'type', 'veth', 'peer', 'name', `${l}p`);
    ip('link', 'set', l, 'up');
  }
  try {
    const index = (name: string) => (JSON.parse(ip('-j', 'link', 'show', name)) as Array<{ ifindex: number }>)[0]?.ifindex ?? 0;
    const [i0, i1] = links.map(index);
    assert.ok(i0 && i1);
    const batches: number[] = [];
    const p = new BatchingHostProgrammer(rtnlRouteSender(sock), new InThreadLinkDeleter(sock), (kind, size) => {
      if (kind === 'route') batches.push(size);
    });
    const create = (address: string, family: 4 | 6, oif: number) => ({ op: 'create' as const, podRoute: { address, family, oif } });
    const pods = Array.from({ length: 40 }, (_, i) => create(`10.90.0.${i + 1}`, 4, i % 2 === 0 ? i0 : i1));
    const created = await Promise.all([...pods.map((c) => p.applyRouteChanges([c])), p.applyRouteChanges([create('fd90::5', 6, i1)])]);
    assert.deepEqual(
      created.flat(),
      Array.from({ length: 41 }, () => ({})),
    );
    assert.equal(
      batches.reduce((a, b) => a + b, 0),
      41,
    );
    assert.ok(batches.length <= 3 && batches[0] === 1, `first alone, the rest coalesced: ${JSON.stringify(batches)}`);
    const v4 = JSON.parse(ip('-j', 'route', 'show', 'proto', '199')) as Array<{ dst: string; dev: string; scope: string }>;
    assert.equal(v4.length, 40);
    for (const c of pods) {
      const row = v4.find((r) => r.dst === c.podRoute.address);
      assert.equal(row?.dev, c.podRoute.oif === i0 ? 'prp0' : 'prp1', c.podRoute.address);
      assert.equal(row?.scope, 'link');
    }
    const v6 = JSON.parse(ip('-6', '-j', 'route', 'show', 'proto', '199')) as Array<{ dst: string; dev: string }>;
    assert.deepEqual(
      v6.map((r) => [r.dst, r.dev]),
      [['fd90::5', 'prp1']],
    );

    // A create for an address routed already fails (EEXIST) and leaves the route where it
    // was; a delete through the other veth is "already gone" and leaves it too; deleting one
    // that is gone is fine; a device that does not exist fails only its own caller.
    const outcomes = await Promise.allSettled([
      p.applyRouteChanges([create('10.90.0.1', 4, i1)]),
      p.delPodRoutes([{ address: '10.90.0.1', family: 4 }], i1),
      p.delPodRoutes([{ address: '10.90.0.2', family: 4 }], i1),
      p.delPodRoutes([{ address: '10.90.0.77', family: 4 }], i0),
      p.applyRouteChanges([create('10.90.0.99', 4, 999_999)]),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'],
    );
    const [taken, , , , noDevice] = outcomes.map((o) => (o.status === 'fulfilled' ? o.value : undefined));
    assert.match(taken?.[0]?.error ?? '', /EEXIST/);
    assert.match(noDevice?.[0]?.error ?? '', /ENODEV/);
    const after = JSON.parse(ip('-j', 'route', 'show', 'proto', '199')) as Array<{ dst: string; dev: string }>;
    assert.equal(after.find((r) => r.dst === '10.90.0.1')?.dev, 'prp0', 'neither replaced nor deleted through another veth');
    assert.equal(
      after.find((r) => r.dst === '10.90.0.2'),
      undefined,
    );
    assert.equal(after.length, 39);
  } finally {
    for (const l of links) ip('link', 'del', l);
  }
});
