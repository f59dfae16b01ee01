/**
 * Sockets inside pod netns, held only while calls use them, against real network namespaces
 * of the test's own.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { NetnsOpener } from './netns';
import { PodNetnsSockets } from './pod-netns-sockets';
import { takeSnapshot } from '../rtnl/snapshot';
import { TestNetns } from '../test-support/test-netns';

const PREFIX = `pwt-pns-${process.pid}`;
const created: TestNetns[] = [];
const opener = new NetnsOpener();

/** A netns of this test's own (removed in after(), failure or not). */
function netns(suffix: string): TestNetns {
  const ns = new TestNetns(`pns-${suffix}`);
  created.push(ns);
  return ns;
}
const openFds = () => fs.readdirSync('/proc/self/fd').length;
const hostLinks = (): string[] =>
  (JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as Array<{ ifname: string }>).map((l) => l.ifname);

after(() => {
  for (const ns of created) ns.remove();
});

test('a call gets a socket inside the pod netns; nothing stays open after it', async () => {
  const sockets = new PodNetnsSockets(opener);
  const path = netns('a').path;
  const fdsBefore = openFds();
  await sockets.use(path, async (h) => {
    // Only the pod netns's loopback is visible through this socket.
    const { links } = await takeSnapshot(h.sock, ['links']);
    assert.deepEqual(
      links.map((l) => l.name),
      ['lo'],
    );
    assert.equal(sockets.size, 1);
  });
  assert.equal(sockets.size, 0);
  assert.equal(openFds(), fdsBefore, 'the netns fd and the socket are closed');
  sockets.close();
});

test('concurrent calls into one netns share one entry and take turns; the last one out closes it', async () => {
  const sockets = new PodNetnsSockets(opener);
  const path = netns('b').path;
  const order: string[] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const first = sockets.use(path, async (h) => {
    order.push('first in');
    await gate;
    order.push('first out');
    return h.sock;
  });
  const second = sockets.use(path, async (h) => {
    order.push('second in');
    return h.sock;
  });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(sockets.size, 1, 'one entry for both');
  release();
  const [a, b] = await Promise.all([first, second]);
  assert.equal(a, b, 'the same socket');
  assert.deepEqual(order, ['first in', 'first out', 'second in'], 'one at a time');
  assert.equal(sockets.size, 0);
  assert.equal(a.isClosed, true);
  sockets.close();
});

test('a netns the runtime removes goes at once, with the veth pair wired into it (nothing of ours pins it)', async () => {
  const sockets = new PodNetnsSockets(opener);
  const ns = netns('c');
  const path = ns.path;
  const hostEnd = `pwtpns${process.pid % 100000}`;
  execFileSync('ip', ['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name]);
  try {
    await sockets.use(path, async (h) => {
      const { links } = await takeSnapshot(h.sock, ['links']);
      assert.deepEqual(links.map((l) => l.name).sort(), ['eth0', 'lo']);
    });
    ns.remove();
    // The kernel destroys the namespace (and the pair with it) once nothing holds it.
    for (const until = Date.now() + 10_000; hostLinks().includes(hostEnd) && Date.now() < until; ) await new Promise((r) => setTimeout(r, 10));
    assert.equal(hostLinks().includes(hostEnd), false, 'the host end went with the removed netns');
  } finally {
    if (hostLinks().includes(hostEnd)) execFileSync('ip', ['link', 'del', hostEnd]);
  }
  sockets.close();
});

test('a failing call closes its entry too', async () => {
  const sockets = new PodNetnsSockets(opener);
  const path = netns('d').path;
  await assert.rejects(
    sockets.use(path, async () => Promise.reject(new Error('boom'))),
    /boom/,
  );
  assert.equal(sockets.size, 0);
  sockets.close();
});

test('a path that is not a netns is refused and nothing is opened', async () => {
  const sockets = new PodNetnsSockets(opener);
  const fdsBefore = openFds();
  await assert.rejects(
    sockets.use('/etc/hostname', async () => undefined),
    (e: unknown) => e instanceof Error && /not a network namespace/.test(e.message),
  );
  await assert.rejects(
    sockets.use('/nonexistent/netns', async () => undefined),
    (e: unknown) => e instanceof Error && /cannot be opened/.test(e.message),
  );
  assert.equal(sockets.size, 0);
  assert.equal(openFds(), fdsBefore);
});

test('the same netns through another path name, used at the same time, is the same entry (keyed by inode)', async () => {
  const sockets = new PodNetnsSockets(opener);
  const path = netns('e').path;
  const other = `/tmp/${PREFIX}-alias`;
  fs.writeFileSync(other, '');
  execFileSync('mount', ['--bind', path, other]);
  try {
    let inner: Promise<unknown> = Promise.resolve();
    const outer = await sockets.use(path, async (h1) => {
      // (the inner call waits for this one's turn to end)
      inner = sockets.use(other, async (h2) => h2.sock);
      await new Promise((r) => setTimeout(r, 10));
      assert.equal(sockets.size, 1);
      return h1.sock;
    });
    assert.equal(await inner, outer, 'one socket for both paths');
  } finally {
    execFileSync('umount', [other]);
    fs.rmSync(other);
  }
  assert.equal(sockets.size, 0);
  sockets.close();
});

test('the path is stat()ed to find a running entry only while some call is inside a netns', async () => {
  const stats: string[] = [];
  const statPath = (p: string) => {
    stats.push(p);
    try {
      return fs.statSync(p);
    } catch {
      return undefined;
    }
  };
  const sockets = new PodNetnsSockets(opener, statPath);
  const path = netns('stat').path;
  await sockets.use(path, async () => undefined);
  await sockets.use(path, async () => undefined);
  assert.deepEqual(stats, [], 'sequential calls: nothing to share, no stat');
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const first = sockets.use(path, async (h) => {
    await gate;
    return h.sock;
  });
  const second = sockets.use(path, async (h) => h.sock);
  release();
  const [a, b] = await Promise.all([first, second]);
  assert.equal(a, b, 'the second call found the running entry');
  assert.deepEqual(stats, [path], 'the second call stat()ed the path once');
  sockets.close();
});
