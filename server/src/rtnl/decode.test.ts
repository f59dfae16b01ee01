/**
 * podwire's own decoders against npm netlink's generic parser, on real dumps of a network
 * namespace of the test's own (links, addresses, routes, neighbours of both families), and
 * the address text against ipaddr.js.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as ipaddr from 'ipaddr.js';
import { rt } from './netlink-parts';
import { addressText, decodeAddress, decodeLink, decodeNeighbour, decodeRoute, eachAttr } from './decode';
import { dumpOf, getLinkByName } from './requests';
import { RtnlSockets } from './rtnl-sockets';
import type { NetlinkMessage, RtnlSocket } from './rtnl-socket';
import { TestNetns } from '../test-support/test-netns';

let NS: TestNetns;
const sockets = new RtnlSockets();
let sock: RtnlSocket;
const ip = (...args: string[]) => NS.ip(...args);

before(() => {
  NS = new TestNetns('wire');
  sock = sockets.openIn(NS.fd, NS.name);
  ip('link', 'add', 'wd0', 'mtu', '1400', 'type', 'veth', 'peer', 'name', 'wd0p');
  ip('link', 'set', 'wd0', 'alias', 'podwire:abc');
  ip('link', 'set', 'wd0', 'group', '1610612737');
  ip('link', 'set', 'wd0', 'up');
  ip('link', 'set', 'wd0p', 'up');
  ip('addr', 'add', '10.91.0.1/24', 'dev', 'wd0');
  ip('addr', 'add', 'fd91::1/64', 'dev', 'wd0', 'nodad');
  ip('route', 'add', '10.92.0.0/16', 'via', '10.91.0.9', 'proto', '198');
  ip('route', 'add', '10.91.0.7/32', 'dev', 'wd0', 'proto', '199', 'table', '1000');
  ip('-6', 'route', 'add', 'fd92::/48', 'via', 'fd91::9', 'proto', '198');
  ip('neigh', 'add', '10.91.0.9', 'lladdr', '02:00:00:00:00:09', 'dev', 'wd0', 'nud', 'permanent');
  ip('-6', 'neigh', 'add', 'fd91::9', 'lladdr', '02:00:00:00:00:0a', 'dev', 'wd0', 'nud', 'reachable');
});
after(() => {
  sockets.closeAll();
  NS?.remove();
});

const text = (b: Buffer | undefined): string => (b ? ipaddr.fromByteArray([...b]).toString() : '');

test('links: index, name, mac, up, operstate, mtu, alias and group as npm netlink reads them', async () => {
  const msgs = await sock.dump(dumpOf('links'));
  assert.ok(msgs.length >= 3);
  for (const m of msgs) {
    const mine = decodeLink(m);
    const theirs = rt.parseMessage(m.type, m.data);
    assert.ok(mine && theirs.kind === 'link');
    assert.deepEqual(mine, {
      index: theirs.data.index,
      name: theirs.attrs.ifname,
      mac: [...(theirs.attrs.address ?? [])].map((x) => x.toString(16).padStart(2, '0')).join(':'),
      up: Boolean(theirs.data.flags?.up),
      operState: theirs.attrs.operstate,
      mtu: theirs.attrs.mtu,
      alias: theirs.attrs.ifalias ?? '',
      group: theirs.attrs.group ?? 0,
      peerIndex: theirs.attrs.link?.readUInt32LE(0) ?? 0,
    });
  }
  const wd0 = msgs.map(decodeLink).find((l) => l?.name === 'wd0');
  assert.equal(wd0?.alias, 'podwire:abc');
  assert.equal(wd0?.group, 0x60000001);
  assert.equal(wd0?.peerIndex, msgs.map(decodeLink).find((l) => l?.name === 'wd0p')?.index, "a veth's IFLA_LINK is its peer");
});

/** The attribute types nested in IFLA_AF_SPEC (26) → AF_INET6 (10) of a link message. */
function inet6AttrTypes(data: Buffer): number[] {
  const types: number[] = [];
  eachAttr(data, 16, (type, start, end) => {
    if (type !== 26) return;
    eachAttr(data.subarray(0, end), start, (family, fStart, fEnd) => {
      if (family === 10) eachAttr(data.subarray(0, fEnd), fStart, (t) => types.push(t));
    });
  });
  return types;
}

test('link dumps and lookups ask the kernel to leave the IPv6 counters out (RTEXT_FILTER_SKIP_STATS)', async () => {
  const wd0 = (msgs: readonly NetlinkMessage[]) => msgs.find((m) => decodeLink(m)?.name === 'wd0');
  const dumped = wd0(await sock.dump(dumpOf('links')));
  const [looked] = await sock.request(getLinkByName('wd0'));
  for (const [what, m] of [
    ['dump', dumped],
    ['lookup', looked],
  ] as const) {
    assert.ok(m, `${what}: wd0 answered`);
    const types = inet6AttrTypes(m.data);
    assert.ok(types.includes(1), `${what}: IFLA_INET6_FLAGS still there (${types.join(',')})`);
    assert.ok(!types.includes(3), `${what}: no IFLA_INET6_STATS`);
    assert.ok(!types.includes(6), `${what}: no IFLA_INET6_ICMP6STATS`);
  }
});

test('addresses, routes (incl. a table above 255) and neighbours of both families', async () => {
  const addrs = await sock.dump(dumpOf('addresses'));
  for (const m of addrs) {
    const theirs = rt.parseMessage(m.type, m.data);
    assert.ok(theirs.kind === 'address');
    assert.deepEqual(decodeAddress(m), {
      index: theirs.data.index,
      family: theirs.data.family === 10 ? 6 : 4,
      address: text(theirs.attrs.local ?? theirs.attrs.address),
      prefixLen: theirs.data.prefixlen,
    });
  }
  assert.ok(addrs.map(decodeAddress).some((a) => a?.address === 'fd91::1' && a.prefixLen === 64));
  const routes = await sock.dump(dumpOf('routes'));
  let checked = 0;
  for (const m of routes) {
    const theirs = rt.parseMessage(m.type, m.data);
    assert.ok(theirs.kind === 'route');
    const mine = decodeRoute(m);
    if (theirs.data.family !== 2 && theirs.data.family !== 10) continue;
    assert.ok(mine);
    assert.equal(mine.dstLen, theirs.data.dstLen);
    assert.equal(mine.dst, theirs.attrs.dst ? text(theirs.attrs.dst) : mine.family === 6 ? '::' : '0.0.0.0');
    assert.equal(mine.gateway, text(theirs.attrs.gateway));
    assert.equal(mine.oif, theirs.attrs.oif ?? 0);
    assert.equal(mine.table, theirs.attrs.table ?? theirs.data.table);
    checked++;
  }
  assert.ok(checked >= 5);
  const decoded = routes.map(decodeRoute);
  assert.ok(decoded.some((r) => r?.dst === '10.92.0.0' && r.dstLen === 16 && r.gateway === '10.91.0.9' && r.protocol === 198));
  assert.ok(decoded.some((r) => r?.dst === '10.91.0.7' && r.table === 1000 && r.protocol === 199));
  assert.ok(decoded.some((r) => r?.family === 6 && r.dst === 'fd92::' && r.gateway === 'fd91::9'));
  const neigh = (await sock.dump(dumpOf('neighbours'))).map(decodeNeighbour);
  assert.deepEqual(
    neigh
      .filter((n) => n?.lladdr.startsWith('02:00:00:00:00:'))
      .map((n) => [n?.dst, n?.lladdr, n?.permanent])
      .sort(),
    [
      ['10.91.0.9', '02:00:00:00:00:09', true],
      ['fd91::9', '02:00:00:00:00:0a', false],
    ],
  );
});

test('address text matches ipaddr.js (RFC 5952) for edge cases and random addresses', () => {
  const cases = [
    '::',
    '::1',
    '1::',
    'fe80::1',
    '2001:db8::1:0:0:1',
    '2001:0:0:1::1',
    '1:0:0:2:0:0:0:3',
    'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    '::ffff:10.1.2.3',
    '0.0.0.0',
    '255.1.0.9',
  ];
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % 65536;
  };
  for (let i = 0; i < 500; i++) cases.push(Array.from({ length: 8 }, () => (rnd() < 20000 ? 0 : rnd()).toString(16)).join(':'));
  for (const c of cases) {
    const bytes = Buffer.from(ipaddr.parse(c).toByteArray());
    assert.equal(addressText(bytes, 0, bytes.length), ipaddr.fromByteArray([...bytes]).toString(), c);
  }
});
