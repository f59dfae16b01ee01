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
