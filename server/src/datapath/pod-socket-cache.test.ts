/**
 * The warm pod-netns socket cache against real network namespaces of the test's own.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { NetnsOpener } from './netns';
import { PodSocketCache } from './pod-socket-cache';

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
    const links = await h.sock.getLinks({}, {}, {});
    assert.deepEqual(links.map((l) => l.attrs.ifname), ['lo']);
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

test('a failing user closes the entry; a removed netns is swept; the oldest idle entry is evicted past the limit', async () => {
  const cache = new PodSocketCache(opener, 2);
  const p1 = netns('c1');
  const p2 = netns('c2');
  const p3 = netns('c3');
  await assert.rejects(cache.use(p1, 'h1', async () => Promise.reject(new Error('boom'))), /boom/);
  assert.equal(cache.size, 0, 'closed after the failure');

  await cache.use(p1, 'h1', async () => undefined);
  await cache.use(p2, 'h2', async () => undefined);
  await cache.use(p3, 'h3', async () => undefined);
  assert.equal(cache.size, 2, 'limit kept');

  removeNetns(p3);
  assert.equal(cache.sweep(), 1, 'the removed netns entry is closed');
  assert.equal(cache.size, 1);
  cache.close();
  assert.equal(cache.size, 0);
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
