/**
 * The batched link deleter against real netlink, inside a network namespace of the test's own
 * (the socket is opened in it through the setns addon, so the host's links are never touched).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { RtNetlinkSocket } from 'netlink';
import { BatchingHostProgrammer } from './batching-host-programmer';
import { DirectHostProgrammer } from './host-programmer';
import { InThreadLinkDeleter } from './link-deleter';
import { NetnsOpener, PodNetns } from './netns';

const NS = `pwt-batch-${process.pid}`;
const opener = new NetnsOpener();
let ns: PodNetns;
let sock: RtNetlinkSocket;

const ip = (...args: string[]) => execFileSync('ip', ['-n', NS, ...args], { encoding: 'utf8' });
function vethIndexes(count: number, prefix: string): number[] {
  for (let i = 0; i < count; i++) ip('link', 'add', `${prefix}${i}`, 'type', 'veth', 'peer', 'name', `${prefix}p${i}`);
  const links = JSON.parse(ip('-j', 'link', 'show')) as Array<{ ifname: string; ifindex: number }>;
  return links.filter((l) => new RegExp(`^${prefix}\\d+$`).test(l.ifname)).map((l) => l.ifindex);
}
const remaining = (prefix: string) =>
  (JSON.parse(ip('-j', 'link', 'show')) as Array<{ ifname: string }>).filter((l) => l.ifname.startsWith(prefix)).length;

before(() => {
  execFileSync('ip', ['netns', 'add', NS]);
  ns = opener.openPod(`/var/run/netns/${NS}`);
  sock = opener.rtnetlinkIn(ns);
});
after(() => {
  sock.socket.close();
  opener.close(ns);
  execFileSync('ip', ['netns', 'del', NS]);
});

test('deletes that arrive while one is in flight are sent as one group delete', async () => {
  const batchSizes: number[] = [];
  const p = new BatchingHostProgrammer(new DirectHostProgrammer(sock), new InThreadLinkDeleter(sock), (kind, size) => {
    if (kind === 'link-delete') batchSizes.push(size);
  });
  const indexes = vethIndexes(40, 'bt');
  assert.equal(indexes.length, 40);
  await Promise.all(indexes.map((i) => p.deleteLink(i)));
  assert.equal(remaining('bt'), 0, 'every link (and its peer) is gone');
  assert.equal(batchSizes.reduce((a, b) => a + b, 0), 40);
  assert.equal(batchSizes[0], 1, 'the first delete goes alone');
  assert.ok(batchSizes.length <= 3, `coalesced into few batches: ${JSON.stringify(batchSizes)}`);
  const groups = JSON.parse(ip('-j', 'link', 'show')) as Array<{ group?: string }>;
  assert.ok(groups.every((l) => l.group === undefined || l.group === 'default'), 'no link left in a podwire group');
});

test('a link already gone settles fine for its caller and does not fail the batch', async () => {
  const p = new BatchingHostProgrammer(new DirectHostProgrammer(sock), new InThreadLinkDeleter(sock));
  const indexes = vethIndexes(5, 'bg');
  const first = indexes[0] ?? 0;
  ip('link', 'del', `bg0`);
  await Promise.all([p.deleteLink(first), ...indexes.slice(1).map((i) => p.deleteLink(i)), p.deleteLink(first)]);
  assert.equal(remaining('bg'), 0);
});

test('index 0 (which would mean every link) is refused', async () => {
  const p = new BatchingHostProgrammer(new DirectHostProgrammer(sock), new InThreadLinkDeleter(sock));
  await assert.rejects(p.deleteLink(0), /refusing/);
  await assert.rejects(p.deleteLink(-1), /refusing/);
});

interface IpRouteRow {
  dst: string;
  gateway?: string;
  protocol?: string;
}
const peerRoutes = () => (JSON.parse(ip('-j', 'route', 'show', 'proto', '198')) as IpRouteRow[]).map((r) => `${r.dst} via ${r.gateway ?? '-'}`).sort();

test('peer route changes: 300 replaces in one batch, each caller gets its own outcome, deletes only touch proto 198', async () => {
  ip('link', 'add', 'pru0', 'type', 'veth', 'peer', 'name', 'pru0p');
  ip('addr', 'add', '10.50.0.1/24', 'dev', 'pru0');
  ip('link', 'set', 'pru0', 'up');
  ip('link', 'set', 'pru0p', 'up');
  try {
    const batches: number[] = [];
    const p = new BatchingHostProgrammer(new DirectHostProgrammer(sock), new InThreadLinkDeleter(sock), (kind, size) => {
      if (kind === 'route') batches.push(size);
    });
    const routes = Array.from({ length: 300 }, (_, i) => ({ dst: `10.${60 + Math.floor(i / 256)}.${i % 256}.0/24`, gateway: `10.50.0.${2 + (i % 3)}` }));
    // One route whose gateway is not on any connected network: the kernel refuses it alone.
    const unreachable = { dst: '10.70.0.0/24', gateway: '10.99.0.9' };
    const outcomes = await p.applyRouteChanges([...routes.map((route) => ({ op: 'replace' as const, route })), { op: 'replace', route: unreachable }]);
    assert.equal(outcomes.filter((o) => o.error === undefined).length, 300);
    assert.match(outcomes[300]?.error ?? '', /ENETUNREACH|EINVAL/);
    assert.deepEqual(batches, [301], 'queued at once while idle: one batch');
    const kernel = peerRoutes();
    assert.equal(kernel.length, 300);
    assert.ok(kernel.includes('10.60.5.0/24 via 10.50.0.4'));

    // Replace changes the gateway in place; concurrent single changes coalesce and settle one by one.
    batches.length = 0;
    const single = await Promise.allSettled([
      p.changeRoute({ op: 'replace', route: { dst: '10.60.5.0/24', gateway: '10.50.0.9' } }),
      p.changeRoute({ op: 'replace', route: unreachable }),
      ...routes.slice(10, 60).map((route) => p.changeRoute({ op: 'delete', route })),
      p.changeRoute({ op: 'delete', route: { dst: '10.80.0.0/24', gateway: '10.50.0.2' } }),
    ]);
    assert.equal(single.filter((s) => s.status === 'rejected').length, 1, 'only the unreachable one fails');
    assert.equal(single[1]?.status, 'rejected');
    assert.equal(batches.reduce((a, b) => a + b, 0), 53);
    assert.ok(batches.length <= 3 && batches[0] === 1, `first alone, the rest coalesced: ${JSON.stringify(batches)}`);
    assert.ok(peerRoutes().includes('10.60.5.0/24 via 10.50.0.9'));
    assert.equal(peerRoutes().length, 250);

    // A route to the same destination that is not podwire's (proto static) survives a podwire delete.
    ip('route', 'add', '10.81.0.0/24', 'via', '10.50.0.2', 'proto', 'static');
    await p.changeRoute({ op: 'delete', route: { dst: '10.81.0.0/24', gateway: '10.50.0.2' } });
    assert.equal((JSON.parse(ip('-j', 'route', 'show', '10.81.0.0/24')) as IpRouteRow[]).length, 1);

    await p.applyRouteChanges(routes.map((route) => ({ op: 'delete' as const, route })));
    assert.deepEqual(peerRoutes(), []);
  } finally {
    ip('link', 'del', 'pru0');
  }
});

test('IPv6 peer routes: replace and delete', async () => {
  ip('link', 'add', 'pru6', 'type', 'veth', 'peer', 'name', 'pru6p');
  ip('addr', 'add', 'fd50::1/64', 'dev', 'pru6', 'nodad');
  ip('link', 'set', 'pru6', 'up');
  ip('link', 'set', 'pru6p', 'up');
  try {
    const p = new BatchingHostProgrammer(new DirectHostProgrammer(sock), new InThreadLinkDeleter(sock));
    await p.changeRoute({ op: 'replace', route: { dst: 'fd60:0:0:2::/64', gateway: 'fd50::2' } });
    const rows = JSON.parse(ip('-6', '-j', 'route', 'show', 'proto', '198')) as IpRouteRow[];
    assert.deepEqual(rows.map((r) => [r.dst, r.gateway]), [['fd60:0:0:2::/64', 'fd50::2']]);
    await p.changeRoute({ op: 'delete', route: { dst: 'fd60:0:0:2::/64', gateway: 'fd50::2' } });
    assert.deepEqual(JSON.parse(ip('-6', '-j', 'route', 'show', 'proto', '198')), []);
  } finally {
    ip('link', 'del', 'pru6');
  }
});

test('pod routes go through the route batch: concurrent adds coalesce, each lands on its own veth (proto 199), deletes settle per caller', async () => {
  const links = ['prp0', 'prp1'];
  for (const l of links) {
    ip('link', 'add', l, 'type', 'veth', 'peer', 'name', `${l}p`);
    ip('link', 'set', l, 'up');
  }
  try {
    const index = (name: string) => (JSON.parse(ip('-j', 'link', 'show', name)) as Array<{ ifindex: number }>)[0]?.ifindex ?? 0;
    const [i0, i1] = links.map(index);
    const batches: number[] = [];
    const p = new BatchingHostProgrammer(new DirectHostProgrammer(sock), new InThreadLinkDeleter(sock), (kind, size) => {
      if (kind === 'route') batches.push(size);
    });
    const pods = Array.from({ length: 40 }, (_, i) => ({ address: `10.90.0.${i + 1}`, family: 4 as const, oif: i % 2 === 0 ? i0! : i1! }));
    await Promise.all([...pods.map((a) => p.addPodRoute(a, a.oif)), p.addPodRoute({ address: 'fd90::5', family: 6 }, i1!)]);
    assert.equal(batches.reduce((a, b) => a + b, 0), 41);
    assert.ok(batches.length <= 3 && batches[0] === 1, `first alone, the rest coalesced: ${JSON.stringify(batches)}`);
    const v4 = JSON.parse(ip('-j', 'route', 'show', 'proto', '199')) as Array<{ dst: string; dev: string; scope: string }>;
    assert.equal(v4.length, 40);
    for (const a of pods) {
      const row = v4.find((r) => r.dst === a.address);
      assert.equal(row?.dev, a.oif === i0 ? 'prp0' : 'prp1', a.address);
      assert.equal(row?.scope, 'link');
    }
    const v6 = JSON.parse(ip('-6', '-j', 'route', 'show', 'proto', '199')) as Array<{ dst: string; dev: string }>;
    assert.deepEqual(v6.map((r) => [r.dst, r.dev]), [['fd90::5', 'prp1']]);

    // A replace moves the route to another veth; deleting one that is gone is fine; a device
    // that does not exist fails only its own caller.
    await p.addPodRoute({ address: '10.90.0.1', family: 4 }, i1!);
    const outcomes = await Promise.allSettled([
      p.delPodRoute({ address: '10.90.0.2', family: 4 }, i1),
      p.delPodRoute({ address: '10.90.0.77', family: 4 }, undefined),
      p.addPodRoute({ address: '10.90.0.99', family: 4 }, 999_999),
    ]);
    assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'fulfilled', 'rejected']);
    const after = JSON.parse(ip('-j', 'route', 'show', 'proto', '199')) as Array<{ dst: string; dev: string }>;
    assert.equal(after.find((r) => r.dst === '10.90.0.1')?.dev, 'prp1');
    assert.equal(after.find((r) => r.dst === '10.90.0.2'), undefined);
    assert.equal(after.length, 39);
  } finally {
    for (const l of links) ip('link', 'del', l);
  }
});
