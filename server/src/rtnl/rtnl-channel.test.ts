/**
 * Synchronous rtnetlink sockets (rtnl-channel.ts, RtnlSocket over a channel) against the real
 * kernel, inside a network namespace of the test's own: each send settled when its call
 * returns, refusals typed, multi-message sends answered in order, dumps whole; and, with a
 * channel that misbehaves, deadlines and read failures. Also the request framing, byte for
 * byte npm netlink's.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMessage } from 'netlink';
import { RtnlError } from './rtnl-error';
import { RtnlSocket } from './rtnl-socket';
import { RtnlSockets } from './rtnl-sockets';
import type { RtnlChannel } from './rtnl-channel';
import { frameRequests } from './request-frames';
import { addAddress, addPermanentNeighbour, changeRoute, deleteLink, getLinkByName, setLinkUp } from './requests';
import { findLink, sendAll } from './operations';
import { takeSnapshot } from './snapshot';
import { TestNetns } from '../test-support/test-netns';

let NS: TestNetns;
const sockets = new RtnlSockets(undefined, 2_000, true);
let sock: RtnlSocket;

before(() => {
  NS = new TestNetns('rtch');
  sock = sockets.openIn(NS.fd, `netns ${NS.name}`);
  NS.ip('link', 'add', 'rc0', 'type', 'veth', 'peer', 'name', 'rc0p');
});
after(() => {
  sockets.closeAll();
  NS?.remove();
});

test('frames: each request as npm netlink frames it, padded to 4 bytes between messages, ACK on the last change only', () => {
  const requests = [
    addPermanentNeighbour({ index: 7, family: 4, dst: '10.61.0.9', lladdr: '02:00:00:00:00:09' }),
    setLinkUp(7),
    getLinkByName('odd'),
    deleteLink(9),
  ];
  const seqs = [11, 12, 13, 14];
  const expected: Uint8Array[] = [];
  requests.forEach((r, j) => {
    const ack = r.expect === 'ack' && j === requests.length - 1 ? 0x04 : 0;
    const frame = Buffer.concat(formatMessage({ type: r.type, flags: 0x01 | ack | r.flags, seq: seqs[j] ?? 0, port: 4242, data: Buffer.concat(r.payload) }));
    expected.push(frame);
    if (j < requests.length - 1 && frame.length % 4 !== 0) expected.push(new Uint8Array(4 - (frame.length % 4)));
  });
  assert.deepEqual(frameRequests(requests, seqs, 4242), Buffer.concat(expected));
});

test('one write per send, refusals typed, later messages seeing earlier ones, a failure its own', async () => {
  const writes = sock.writes;
  const e = await sock.request(deleteLink(999_999)).catch((err: unknown) => err);
  assert.ok(e instanceof RtnlError && e.code === 'ENODEV' && /RTM_DELLINK 999999/.test(e.message));
  assert.equal(sock.writes, writes + 1);
  assert.equal(await findLink(sock, 'nope0'), undefined);
  const link = await findLink(sock, 'rc0');
  assert.ok(link);
  await sendAll(sock, [
    setLinkUp(link.index),
    addAddress({ index: link.index, family: 4, address: '10.61.0.1', prefixLen: 24 }, 'create'),
    addPermanentNeighbour({ index: link.index, family: 4, dst: '10.61.0.9', lladdr: '02:00:00:00:00:09' }),
    changeRoute('create', { family: 4, dst: '10.62.0.0', dstLen: 24, gateway: '10.61.0.9', table: 254, protocol: 199, scope: 0, type: 1 }),
  ]);
  const routes = JSON.parse(NS.ip('-j', 'route', 'show', 'proto', '199')) as Array<{ dst: string }>;
  assert.deepEqual(
    routes.map((r) => r.dst),
    ['10.62.0.0/24'],
  );
  const outcomes = await sock.exchange([
    changeRoute('create', { family: 4, dst: '10.62.0.0', dstLen: 24, gateway: '10.61.0.9', table: 254, protocol: 199, scope: 0, type: 1 }),
    changeRoute('delete', { family: 4, dst: '10.62.0.0', dstLen: 24, table: 254, protocol: 199, scope: 0, type: 1 }),
  ]);
  assert.equal(outcomes[0]?.error?.code, 'EEXIST', 'the first fails alone');
  assert.equal(outcomes[1]?.error, undefined);
  assert.equal(NS.ip('route', 'show', 'proto', '199').trim(), '');
});

test('a dump read whole in one call: every link, address and route, as ip sees them', async () => {
  for (let i = 0; i < 20; i++) NS.ip('link', 'add', `rcd${i}`, 'type', 'veth', 'peer', 'name', `rcd${i}p`);
  const snap = await takeSnapshot(sock);
  const names = (JSON.parse(NS.ip('-j', 'link', 'show')) as Array<{ ifname: string }>).map((l) => l.ifname).sort();
  assert.deepEqual(snap.links.map((l) => l.name).sort(), names);
  assert.deepEqual(
    snap.addressesOf(snap.link('rc0')?.index ?? -1).map((a) => `${a.address}/${a.prefixLen}`),
    ['10.61.0.1/24'],
  );
});

/** A channel answering from a script: each exchange's outcome in turn (a Buffer, or an errno thrown). */
function scripted(steps: Array<Buffer | number>): RtnlChannel & { closed: boolean } {
  return {
    port: 1,
    closed: false,
    exchange() {
      const step = steps.shift() ?? Buffer.alloc(0);
      if (typeof step === 'number') throw Object.assign(new Error(`recv: errno ${step}`), { errno: step });
      return step;
    },
    close() {
      this.closed = true;
    },
  };
}

test('a missing reply: waited for up to the deadline, then ETIMEDOUT; a failed read fails the send with its errno; closing closes the channel', async () => {
  const mute = new RtnlSocket(scripted([]), 'mute', undefined, 30);
  const t0 = performance.now();
  await assert.rejects(mute.request(deleteLink(5)), (e: unknown) => e instanceof RtnlError && e.code === 'ETIMEDOUT' && /within 30 ms/.test(e.message));
  assert.ok(performance.now() - t0 >= 25);
  const ENOBUFS = 105;
  const channel = scripted([ENOBUFS]);
  const lossy = new RtnlSocket(channel, 'lossy', undefined, 30);
  const outcomes = await lossy.exchange([setLinkUp(3), setLinkUp(4)]);
  assert.deepEqual(
    outcomes.map((o) => o.error?.code),
    ['ENOBUFS', 'ENOBUFS'],
  );
  lossy.close();
  assert.equal(channel.closed, true);
  await assert.rejects(lossy.request(deleteLink(7)), (e: unknown) => e instanceof RtnlError && e.code === 'ECANCELED');
});
