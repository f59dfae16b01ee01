/**
 * The rtnetlink socket against the real kernel, inside a network namespace of the test's own
 * (its sockets are opened there through setns, so the host is never touched): typed errors,
 * multi-message sends, dumps, deadlines and closing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import { RtnlError } from './rtnl-error';
import { RawNetlinkSocket, RtnlSocket } from './rtnl-socket';
import { RtnlSockets } from './rtnl-sockets';
import { addAddress, addPermanentNeighbour, changeRoute, deleteLink, dumpOf, setLinkUp } from './requests';
import { findLink, sendAll } from './operations';
import { takeSnapshot } from './snapshot';

const NS = `pwt-rtnl-${process.pid}`;
const sockets = new RtnlSockets();
let nsFd: number;
let sock: RtnlSocket;
const ip = (...args: string[]) => execFileSync('ip', ['-n', NS, ...args], { encoding: 'utf8' });

before(() => {
  execFileSync('ip', ['netns', 'add', NS]);
  nsFd = fs.openSync(`/var/run/netns/${NS}`, 'r');
  sock = sockets.openIn(nsFd, `netns ${NS}`);
  ip('link', 'add', 'rt0', 'type', 'veth', 'peer', 'name', 'rt0p');
});
after(() => {
  sockets.closeAll();
  fs.closeSync(nsFd);
  execFileSync('ip', ['netns', 'del', NS]);
});

test('a refused request is an RtnlError with the errno and its name; a missing link is undefined', async () => {
  await assert.rejects(sock.request(deleteLink(999_999)), (e: unknown) => e instanceof RtnlError && e.code === 'ENODEV' && e.errno === 19 && /RTM_DELLINK 999999/.test(e.message));
  assert.equal(await findLink(sock, 'nope0'), undefined);
  const lo = await findLink(sock, 'lo');
  assert.equal(lo?.index, 1);
});

test('one multi-message send: a neighbour (not 4-byte aligned) followed by routes, every message answered in order', async () => {
  const link = await findLink(sock, 'rt0');
  assert.ok(link);
  await sendAll(sock, [
    setLinkUp(link.index),
    addAddress({ index: link.index, family: 4, address: '10.61.0.1', prefixLen: 24 }, 'create'),
    addPermanentNeighbour({ index: link.index, family: 4, dst: '10.61.0.9', lladdr: '02:00:00:00:00:09' }),
    changeRoute('create', { family: 4, dst: '10.62.0.0', dstLen: 24, gateway: '10.61.0.9', table: 254, protocol: 199, scope: 0, type: 1 }),
    changeRoute('create', { family: 4, dst: '10.63.0.0', dstLen: 24, gateway: '10.61.0.9', table: 254, protocol: 199, scope: 0, type: 1 }),
  ]);
  const routes = JSON.parse(ip('-j', 'route', 'show', 'proto', '199')) as Array<{ dst: string }>;
  assert.deepEqual(routes.map((r) => r.dst).sort(), ['10.62.0.0/24', '10.63.0.0/24']);
  const outcomes = await sock.exchange([
    changeRoute('create', { family: 4, dst: '10.62.0.0', dstLen: 24, gateway: '10.61.0.9', table: 254, protocol: 199, scope: 0, type: 1 }),
    changeRoute('delete', { family: 4, dst: '10.63.0.0', dstLen: 24, table: 254, protocol: 199, scope: 0, type: 1 }),
  ]);
  assert.equal(outcomes[0]?.error?.code, 'EEXIST', 'the first fails alone');
  assert.equal(outcomes[1]?.error, undefined);
});

test('a snapshot: one dump per table, decoded, looked up by link; an empty table is an empty list', async () => {
  const snap = await takeSnapshot(sock);
  const link = snap.link('rt0');
  assert.ok(link);
  assert.equal(snap.linkAt(link.index)?.name, 'rt0');
  assert.equal(link.up, true);
  assert.match(link.mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  assert.deepEqual(snap.addressesOf(link.index).map((a) => `${a.address}/${a.prefixLen}`), ['10.61.0.1/24']);
  assert.deepEqual(snap.neighboursOf(link.index).filter((n) => n.permanent).map((n) => [n.dst, n.lladdr]), [['10.61.0.9', '02:00:00:00:00:09']]);
  assert.ok(snap.routesVia(link.index).some((r) => r.dst === '10.62.0.0' && r.dstLen === 24 && r.gateway === '10.61.0.9' && r.protocol === 199));
  const onlyRoutes = await takeSnapshot(sock, ['routes']);
  assert.deepEqual(onlyRoutes.links, []);
  // Concurrent dumps on one socket run one after another (the kernel would refuse a second with EBUSY).
  const dumps = await Promise.all([sock.dump(dumpOf('links')), sock.dump(dumpOf('addresses')), sock.dump(dumpOf('links'))]);
  assert.equal(dumps[0].length, dumps[2].length);
  // A fresh namespace: nothing in its neighbour table.
  const NS2 = `${NS}-e`;
  execFileSync('ip', ['netns', 'add', NS2]);
  const fd2 = fs.openSync(`/var/run/netns/${NS2}`, 'r');
  const empty = sockets.openIn(fd2, 'empty');
  try {
    assert.deepEqual((await takeSnapshot(empty, ['neighbours'])).neighbours, []);
  } finally {
    empty.close();
    fs.closeSync(fd2);
    execFileSync('ip', ['netns', 'del', NS2]);
  }
});

test('a kernel that does not answer: ETIMEDOUT after the deadline; closing fails what waits with ECANCELED', async () => {
  const silent = Object.assign(new EventEmitter(), { address: () => ({ port: 1, groups: 0 }), send: () => undefined, ref: () => undefined, unref: () => undefined, close: () => undefined });
  const mute = new RtnlSocket(silent as unknown as RawNetlinkSocket, 'mute', undefined, 50);
  await assert.rejects(mute.request(deleteLink(5)), (e: unknown) => e instanceof RtnlError && e.code === 'ETIMEDOUT' && /within 50 ms/.test(e.message));
  const waiting = mute.request(deleteLink(6));
  mute.close();
  await assert.rejects(waiting, (e: unknown) => e instanceof RtnlError && e.code === 'ECANCELED');
  await assert.rejects(mute.request(deleteLink(7)), (e: unknown) => e instanceof RtnlError && e.code === 'ECANCELED');
});

test('RtnlSockets tracks what it opened and closes it all', () => {
  const own = new RtnlSockets();
  const a = own.openIn(nsFd, 'a');
  own.openIn(nsFd, 'b');
  assert.equal(own.size, 2);
  a.close();
  assert.equal(own.size, 1);
  own.closeAll();
  assert.equal(own.size, 0);
  assert.equal(a.isClosed, true);
});

test('index 0 is refused before anything is sent (it would mean every link)', () => {
  assert.throws(() => deleteLink(0), /refusing/);
  assert.throws(() => setLinkUp(-1), /refusing/);
});
