/**
 * The warm pod-netns socket cache against real network namespaces of the test's own.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { NetnsOpener } from './netns';
import { PodSocketCache } from './pod-socket-cache';
import { takeSnapshot } from '../rtnl/snapshot';

const PREFIX = `pwt-psc-${process.pid}`;
const created: string[] = [];
const opener = new NetnsOpener();

function netns(suffix: string): string {
  const name = `${PREFIX}-${suffix}`;
  execFileSync('ip', ['netns', 'add', name]);
  created.push(name);
  return `/var/run/netns/${name}`;
}
function removeNetns(path: string): void {
  const name = path.split('/').at(-1) ?? '';
  execFileSync('ip', ['netns', 'del', name]);
  created.splice(created.indexOf(name), 1);
}
const openFds = () => fs.readdirSync('/proc/self/fd').length;

after(() => {
  for (const name of created) execFileSync('ip', ['netns', 'del', name]);
});

test('a second use of a netns reuses its socket; the socket lives inside the pod netns', async () => {
  const cache = new PodSocketCache(opener);
  const path = netns('a');
  const first = await cache.use(path, 'pwhost1', async (h) => h.sock);
  const fdsAfterFirst = openFds();
  const second = await cache.use(path, 'pwhost1', async (h) => {
    // Only the pod netns's loopback is visible through this socket.
    const { links } = await takeSnapshot(h.sock, ['links']);
    assert.deepEqual(links.map((l) => l.name), ['lo']);
    return h.sock;
  });
  assert.equal(second, first, 'same socket object');
  assert.equal(cache.size, 1);
  assert.equal(openFds(), fdsAfterFirst, 'no fd opened for the hit');
  cache.release('pwhost1');
  assert.equal(cache.size, 0, 'released with its last owner');
  cache.close();
});

test('an entry stays while another attachment in the netns still uses it', async () => {
  const cache = new PodSocketCache(opener);
  const path = netns('b');
  await cache.use(path, 'pwhostA', async () => undefined);
  await cache.use(path, 'pwhostB', async () => undefined);
  cache.release('pwhostA');
  assert.equal(cache.size, 1);
  cache.release('pwhostB');
  assert.equal(cache.size, 0);
});

test('a failing first user closes the entry; a removed netns is swept; the least recently used idle entry is evicted past the limit', async () => {
  const cache = new PodSocketCache(opener, 2);
  const p1 = netns('c1');
  const p2 = netns('c2');
  const p3 = netns('c3');
  await assert.rejects(cache.use(p1, 'h1', async () => Promise.reject(new Error('boom'))), /boom/);
  assert.equal(cache.size, 0, 'nothing wired there: closed after the failure');

  await cache.use(p1, 'h1', async () => undefined);
  await assert.rejects(cache.use(p1, 'h1b', async () => Promise.reject(new Error('boom'))), /boom/);
  assert.deepEqual(cache.cachedPaths(), [p1], 'kept: an attachment wired there still uses it');

  await cache.use(p2, 'h2', async () => undefined);
  await cache.use(p1, 'h1', async () => undefined);
  await cache.use(p3, 'h3', async () => undefined);
  assert.deepEqual(cache.cachedPaths(), [p1, p3], 'p2, the least recently used, was evicted');

  removeNetns(p3);
  assert.equal(cache.sweep(), 1, 'the removed netns entry is closed');
  assert.deepEqual(cache.cachedPaths(), [p1]);
  cache.close();
  assert.equal(cache.size, 0);
});

test('a call queued behind the teardown of the last attachment opens the netns afresh instead of failing', async () => {
  const cache = new PodSocketCache(opener);
  const path = netns('e');
  const wired = await cache.use(path, 'pwA', async (h) => h.sock);
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  // A call holding the netns's turn (one that will fail, so it wires nothing)...
  const holding = cache.use(path, 'pwX', async () => {
    await gate;
    throw new Error('failed');
  });
  // ...and a second interface's ADD queued behind it.
  const queued = cache.use(path, 'pwB', async (h) => h.sock);
  await new Promise((r) => setImmediate(r));
  cache.release('pwA'); // DEL of the last attachment wired there, while the turn is held
  release();
  await assert.rejects(holding, /failed/);
  const fresh = await queued;
  assert.notEqual(fresh, wired, 'the queued call got a fresh socket, not an error');
  assert.deepEqual(cache.cachedPaths(), [path], 'the fresh entry belongs to pwB');
  cache.release('pwB');
  assert.equal(cache.size, 0);
});

test('an attachment wired while the entry was being torn down keeps it', async () => {
  const cache = new PodSocketCache(opener);
  const path = netns('f');
  await cache.use(path, 'pwA', async () => undefined);
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const adding = cache.use(path, 'pwB', async () => gate);
  await new Promise((r) => setImmediate(r));
  cache.release('pwA');
  release();
  await adding;
  assert.deepEqual(cache.cachedPaths(), [path]);
  cache.close();
});

test('a path that is not a netns is refused and nothing is cached', async () => {
  const cache = new PodSocketCache(opener);
  await assert.rejects(cache.use('/proc/self/status', 'h', async () => undefined), /not a network namespace/);
  await assert.rejects(cache.use('/nonexistent/netns', 'h', async () => undefined), /cannot be opened/);
  assert.equal(cache.size, 0);
});

test('the same netns through another path name is the same entry (keyed by inode)', async () => {
  const cache = new PodSocketCache(opener);
  const path = netns('d');
  const link = `/tmp/${PREFIX}-bind`;
  fs.writeFileSync(link, '');
  try {
    execFileSync('mount', ['--bind', path, link]);
    try {
      const a = await cache.use(path, 'h', async (h) => h.sock);
      const b = await cache.use(link, 'h', async (h) => h.sock);
      assert.equal(a, b);
      assert.equal(cache.size, 1);
    } finally {
      cache.close();
      execFileSync('umount', [link]);
    }
  } finally {
    fs.rmSync(link, { force: true });
  }
});
