/**
 * The rtnetlink socket against the real kernel, inside a network namespace of the test's own
 * (its sockets are opened there through setns, so the host is never touched): typed errors,
 * multi-message sends, dumps, deadlines and closing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { RtnlError } from './rtnl-error';
import { formatMessage, parseMessages } from './netlink-parts';
import { type RawNetlinkSocket, RtnlSocket } from './rtnl-socket';
import { RtnlSockets } from './rtnl-sockets';
import { addAddress, addPermanentNeighbour, changeRoute, deleteLink, dumpOf, setLinkUp } from './requests';
import { findLink, sendAll } from './operations';
import { takeSnapshot } from './snapshot';
import { TestNetns } from '../test-support/test-netns';

let NS: TestNetns;
const sockets = new RtnlSockets();
let sock: RtnlSocket;
const ip = (...args: string[]) => NS.ip(...args);

before(() => {
  NS = new TestNetns('rtnl');
  sock = sockets.openIn(NS.fd, `netns ${NS.name}`);
  ip('link', 'add', 'rt0', 'type', 'veth', 'peer', 'name', 'rt0p');
});
after(() => {
  sockets.closeAll();
  NS?.remove();
});

test('a refused request is an RtnlError with the errno and its name; a missing link is undefined', async () => {
  await assert.rejects(
    sock.request(deleteLink(999_999)),
    (e: unknown) => e instanceof RtnlError && e.code === 'ENODEV' && e.errno === 19 && /RTM_DELLINK 999999/.test(e.message),
  );
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
  assert.deepEqual(
    snap.addressesOf(link.index).map((a) => `${a.address}/${a.prefixLen}`),
    ['10.61.0.1/24'],
  );
  assert.deepEqual(
    snap
      .neighboursOf(link.index)
      .filter((n) => n.permanent)
      .map((n) => [n.dst, n.lladdr]),
    [['10.61.0.9', '02:00:00:00:00:09']],
  );
  assert.ok(snap.routesVia(link.index).some((r) => r.dst === '10.62.0.0' && r.dstLen === 24 && r.gateway === '10.61.0.9' && r.protocol === 199));
  const onlyRoutes = await takeSnapshot(sock, ['routes']);
  assert.deepEqual(onlyRoutes.links, []);
  // Concurrent dumps on one socket run one after another (the kernel would refuse a second with EBUSY).
  const dumps = await Promise.all([sock.dump(dumpOf('links')), sock.dump(dumpOf('addresses')), sock.dump(dumpOf('links'))]);
  assert.equal(dumps[0].length, dumps[2].length);
  // A fresh namespace: nothing in its neighbour table.
  const fresh = new TestNetns('rtnl-e');
  try {
    const empty = sockets.openIn(fresh.fd, 'empty');
    try {
      assert.deepEqual((await takeSnapshot(empty, ['neighbours'])).neighbours, []);
    } finally {
      empty.close();
    }
  } finally {
    fresh.remove();
  }
});

test('a kernel that does not answer: ETIMEDOUT after the deadline; closing fails what waits with ECANCELED', async () => {
  const silent = Object.assign(new EventEmitter(), {
    address: () => ({ port: 1, groups: 0 }),
    send: () => undefined,
    ref: () => undefined,
    unref: () => undefined,
    close: () => undefined,
  });
  const mute = new RtnlSocket(silent as unknown as RawNetlinkSocket, 'mute', undefined, 50);
  await assert.rejects(mute.request(deleteLink(5)), (e: unknown) => e instanceof RtnlError && e.code === 'ETIMEDOUT' && /within 50 ms/.test(e.message));
  const waiting = mute.request(deleteLink(6));
  mute.close();
  await assert.rejects(waiting, (e: unknown) => e instanceof RtnlError && e.code === 'ECANCELED');
  await assert.rejects(mute.request(deleteLink(7)), (e: unknown) => e instanceof RtnlError && e.code === 'ECANCELED');
});

test('RtnlSockets tracks what it opened and closes it all', () => {
  const own = new RtnlSockets();
  const a = own.openIn(NS.fd, 'a');
  own.openIn(NS.fd, 'b');
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

/** A raw socket whose kernel is a script: it answers each sent message with `reply(msg)`. */
function scriptedKernel(reply: (msg: { type: number; seq: number; flags: number }, attempt: number) => Buffer[] | undefined) {
  const raw = new EventEmitter() as EventEmitter & Record<string, unknown>;
  let attempt = 0;
  Object.assign(raw, {
    address: () => ({ port: 1, groups: 0 }),
    ref: () => undefined,
    unref: () => undefined,
    close: () => undefined,
    send: (frames: Uint8Array[]) => {
      for (const m of parseMessages(Buffer.concat(frames))) {
        const out = reply(m, attempt++);
        if (out) setImmediate(() => raw.emit('message', Buffer.concat(out)));
      }
    },
  });
  return raw as unknown as RawNetlinkSocket;
}
const frame = (type: number, seq: number, flags: number, data: Buffer) => Buffer.concat(formatMessage({ type, flags, seq, port: 0, data }));
const errno = (n: number) => {
  const b = Buffer.alloc(20);
  b.writeInt32LE(-n, 0);
  return b;
};
const linkPayload = (index: number) => {
  const b = Buffer.alloc(16);
  b.writeInt32LE(index, 4);
  return b;
};

test('a receive error fails what waits with its errno instead of crashing; the socket goes on', async () => {
  let answer = false;
  const raw = scriptedKernel((m) => (answer ? [frame(2, m.seq, 0, errno(0))] : undefined));
  const s = new RtnlSocket(raw, 'scripted', undefined, 2_000);
  const waiting = s.request(deleteLink(5));
  (raw as unknown as EventEmitter).emit('error', Object.assign(new Error('recvmsg: ENOBUFS'), { errno: -105 }));
  await assert.rejects(waiting, (e: unknown) => e instanceof RtnlError && e.code === 'ENOBUFS');
  answer = true;
  assert.deepEqual(await s.request(deleteLink(6)), []);
  s.close();
});

test('a dump interrupted by a change (NLM_F_DUMP_INTR) is tried again; DONE carrying an errno fails it', async () => {
  const raw = scriptedKernel((m, attempt) => {
    if (m.type !== 18) return undefined;
    const intr = attempt === 0 ? 0x10 : 0;
    return [frame(16, m.seq, 0x2 | intr, linkPayload(attempt + 1)), frame(3, m.seq, 0x2, Buffer.alloc(4))];
  });
  const s = new RtnlSocket(raw, 'scripted', undefined, 2_000);
  const msgs = await s.dump(dumpOf('links'));
  assert.equal(msgs.length, 1);
  assert.equal(msgs[0]?.data.readInt32LE(4), 2, 'the second, uninterrupted dump');
  s.close();
  const failing = new RtnlSocket(
    scriptedKernel((m) => [frame(3, m.seq, 0x2, errno(16).subarray(0, 4))]),
    'scripted',
    undefined,
    2_000,
  );
  await assert.rejects(failing.dump(dumpOf('routes')), (e: unknown) => e instanceof RtnlError && e.code === 'EBUSY');
  failing.close();
});

test('a dump interrupted on every try fails EINTR, unless the caller accepts the read as it was: then the last try is the answer', async () => {
  const alwaysInterrupted = () =>
    scriptedKernel((m, attempt) =>
      m.type === 18 ? [frame(16, m.seq, 0x2 | 0x10, linkPayload(attempt + 1)), frame(3, m.seq, 0x2, Buffer.alloc(4))] : undefined,
    );
  const strict = new RtnlSocket(alwaysInterrupted(), 'scripted', undefined, 2_000);
  await assert.rejects(strict.dump(dumpOf('links')), (e: unknown) => e instanceof RtnlError && e.code === 'EINTR');
  strict.close();
  const lenient = new RtnlSocket(alwaysInterrupted(), 'scripted', undefined, 2_000);
  let told = 0;
  const msgs = await lenient.dump(dumpOf('links'), { interrupted: 'accept', onInterrupted: () => told++ });
  assert.equal(told, 1);
  assert.equal(msgs.length, 1);
  assert.equal(msgs[0]?.data.readInt32LE(4), 20, 'the last of the 20 tries');
  lenient.close();
});

test('a reply that comes after its request timed out is dropped; the next request gets its own', async () => {
  let late: Buffer | undefined;
  const raw = scriptedKernel((m, attempt) => {
    if (attempt === 0) {
      late = frame(2, m.seq, 0, errno(17)); // the first request's answer, held back
      return undefined;
    }
    return [...(late ? [late] : []), frame(2, m.seq, 0, errno(0))];
  });
  const s = new RtnlSocket(raw, 'scripted', undefined, 30);
  await assert.rejects(s.request(deleteLink(5)), (e: unknown) => e instanceof RtnlError && e.code === 'ETIMEDOUT');
  assert.deepEqual(await s.request(deleteLink(6)), [], 'the late EEXIST did not answer this one');
  s.close();
});

test('a route delete that finds its route gone is done (no error), in a send with one that fails for another reason; a link delete still answers ENODEV', async () => {
  const gone = { family: 4 as const, dst: '10.64.0.0', dstLen: 24, table: 254, protocol: 199, scope: 0, type: 1 };
  const outcomes = await sock.exchange([
    changeRoute('delete', gone),
    changeRoute('delete', { ...gone, dst: '10.64.1.0', table: 4_000_000_000 }),
    changeRoute('delete', { ...gone, dst: '10.64.2.0', oif: 999_999 }),
    deleteLink(999_998),
  ]);
  assert.deepEqual(
    outcomes.map((o) => o.error?.code ?? 'done'),
    ['done', 'done', 'done', 'ENODEV'],
    'ESRCH (no such route), ENOENT (no such table), ENODEV (no such device) are all "gone"; a link delete does not opt in',
  );
  await assert.rejects(sock.request({ ...changeRoute('delete', gone), goneIsDone: false }), (e: unknown) => e instanceof RtnlError && e.code === 'ESRCH');
});

test('only the last change of a send asks for an acknowledgement; the ones before it settle by the replies after them, a failure still its own', async () => {
  const sent: Array<{ seq: number; ack: boolean }> = [];
  // The kernel's rule: acknowledge what asks for it (NLM_F_ACK, 0x4), answer every failure.
  const raw = scriptedKernel((m) => {
    const ack = (m.flags & 0x4) !== 0;
    sent.push({ seq: m.seq, ack });
    const index = sent.length;
    if (index === 2) return [frame(2, m.seq, 0, errno(17))];
    return ack ? [frame(2, m.seq, 0, errno(0))] : undefined;
  });
  const s = new RtnlSocket(raw, 'scripted', undefined, 2_000);
  const outcomes = await s.exchange([deleteLink(5), deleteLink(6), deleteLink(7), deleteLink(8)]);
  assert.deepEqual(
    sent.map((x) => x.ack),
    [false, false, false, true],
  );
  assert.deepEqual(
    outcomes.map((o) => o.error?.code ?? 'ok'),
    ['ok', 'EEXIST', 'ok', 'ok'],
  );
  // A send of one change asks for its acknowledgement.
  assert.deepEqual(await s.request(deleteLink(9)), []);
  assert.equal(sent.at(-1)?.ack, true);
  s.close();
});

test("one deadline for a send's requests: none answered, every one fails with ETIMEDOUT; one answered in time is not failed by it", async () => {
  const s = new RtnlSocket(
    scriptedKernel(() => undefined),
    'scripted',
    undefined,
    30,
  );
  const outcomes = await s.exchange([deleteLink(5), deleteLink(6), deleteLink(7)]);
  assert.deepEqual(
    outcomes.map((o) => o.error?.code),
    ['ETIMEDOUT', 'ETIMEDOUT', 'ETIMEDOUT'],
  );
  s.close();
  const answered = new RtnlSocket(
    scriptedKernel((m) => [frame(2, m.seq, 0, errno(0))]),
    'scripted',
    undefined,
    30,
  );
  assert.deepEqual(
    (await answered.exchange([deleteLink(5), deleteLink(6)])).map((o) => o.error?.code ?? 'ok'),
    ['ok', 'ok'],
  );
  await new Promise((r) => setTimeout(r, 60));
  answered.close();
});
