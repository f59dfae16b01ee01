import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AttrStream, FlagsNew, type StreamData, ifla, rt } from './netlink-parts';
import * as ipaddr from 'ipaddr.js';
import { addressBytes, afOf } from './addresses';
import {
  type RouteOp,
  type RouteSpec,
  addAddress,
  addPermanentNeighbour,
  changeRoute,
  createOnlinkRoute,
  createVeth,
  renameLink,
  setLinkAlias,
  setLinkAliasByName,
  setLinkDown,
  setLinkUp,
} from './requests';
import type { RtnlRequest } from './rtnl-socket';

// The reference: the same requests encoded with npm netlink's formatters, as requests.ts did
// before wire-encode.ts. Every direct encoding must give the same bytes. Between them the
// tests cover every request an ADD sends: the pair under its derived name in its owner's
// group (down, no host MAC), the alias by index, up, the host end's gateway addresses (replace), its routes
// to the pod (create: CREATE|EXCL), the pod end's addresses, neighbour entries and onlink
// routes; and the detach's down + rename.
const ref = {
  bytes: (a: string) => Buffer.from(ipaddr.parse(a).toByteArray()),
  mac: (m: string) => Buffer.from(m.split(':').map((h) => parseInt(h, 16))),
  stream(data: StreamData): Buffer {
    const s = new AttrStream();
    s.emit(data);
    return Buffer.concat(s.bufs);
  },
  link(data: rt.Link, attrs: ifla.LinkAttrs): Buffer {
    const out = new AttrStream();
    rt.formatLinkMessage({ kind: 'link', data, attrs }, out);
    return Buffer.concat(out.bufs);
  },
  veth(
    name: string,
    mtu: number,
    up: boolean,
    mac: string | undefined,
    peer: { name: string; netnsFd: number; mtu: number; mac: string },
    group?: number,
  ): Buffer {
    const p = Buffer.concat([
      rt.formatLink({}),
      ref.stream(ifla.formatLinkAttrs({ ifname: peer.name, netNsFd: peer.netnsFd, mtu: peer.mtu, address: ref.mac(peer.mac) })),
    ]);
    const linkinfo = ref.stream(ifla.formatInfo({ kind: 'veth', data: ref.stream(ifla.formatVethInfo({ peer: p })) }));
    return ref.link(up ? { flags: { up: true }, change: { up: true } } : {}, {
      ifname: name,
      mtu,
      linkinfo,
      ...(mac ? { address: ref.mac(mac) } : {}),
      ...(group ? { group } : {}),
    });
  },
  address(index: number, family: 4 | 6, address: string, prefixLen: number, scope: number | undefined, nodad: boolean): Buffer {
    const b = ref.bytes(address);
    const out = new AttrStream();
    rt.formatAddressMessage(
      {
        kind: 'address',
        data: { family: afOf(family), prefixlen: prefixLen, index, ...(scope ? { scope } : {}), flags: nodad ? { nodad: true } : {} },
        attrs: family === 6 ? { address: b } : { local: b, address: b },
      },
      out,
    );
    return Buffer.concat(out.bufs);
  },
  neigh(index: number, family: 4 | 6, dst: string, lladdr: string): Buffer {
    const out = new AttrStream();
    rt.formatNeighborMessage(
      { kind: 'neighbor', data: { family: afOf(family), ifindex: index, state: { permanent: true } }, attrs: { dst: ref.bytes(dst), lladdr: ref.mac(lladdr) } },
      out,
    );
    return Buffer.concat(out.bufs);
  },
  route(op: RouteOp, r: RouteSpec, onlink = false): Buffer {
    const out = new AttrStream();
    const data = {
      family: afOf(r.family),
      dstLen: r.dstLen,
      table: r.table,
      protocol: r.protocol,
      scope: op === 'delete' ? 255 : r.scope,
      type: r.type,
      ...(onlink ? { flags: { __unknown: 4 } } : {}),
    };
    const attrs = {
      ...(r.dstLen > 0 ? { dst: ref.bytes(r.dst) } : {}),
      ...(r.gateway ? { gateway: ref.bytes(r.gateway) } : {}),
      ...(r.oif ? { oif: r.oif } : {}),
    };
    rt.formatRouteMessage({ kind: 'route', data: data as rt.Route, attrs }, out);
    return Buffer.concat(out.bufs);
  },
};

const payload = (r: RtnlRequest): Buffer => Buffer.concat(r.payload);
// Every length 1-15 (the attribute padding), with the shapes podwire uses: derived host names
// (pw + 12 hex), detached ones (pz + hex index), pod ifnames.
const names = ['a', 'ab', 'abc', 'eth0', 'net1', 'pz1f', 'pw12345', 'pzabcdef', 'pw0123456789ab', 'py0123456789ab', 'pw0123456789abc', 'x'.repeat(15)];
for (let n = 1; n <= 15; n++) names.push('n'.repeat(n));
const macs = ['02:11:22:33:44:55', 'fe:00:00:00:00:01'];

test('veth pairs: the same bytes as npm netlink, every name length (attribute padding), up or not, with or without a MAC and a group', () => {
  for (const name of names)
    for (const peer of names)
      for (const up of [true, false])
        for (const mac of [undefined, macs[1]])
          for (const group of [undefined, 0x6abcdef1]) {
            const spec = {
              name,
              mtu: 1450,
              up,
              ...(mac ? { mac } : {}),
              ...(group ? { group } : {}),
              peer: { name: peer, netnsFd: 37, mtu: 1450, mac: macs[0] as string },
            };
            const r = createVeth(spec);
            assert.deepEqual(payload(r), ref.veth(name, 1450, up, mac, spec.peer, group), `${name}/${peer} up=${up} mac=${mac} group=${group}`);
            assert.equal(r.flags, FlagsNew.CREATE | FlagsNew.EXCL | 0x08);
          }
});

test('alias by name and by index, rename, link up and down: the same bytes as npm netlink', () => {
  const indexes = [1, 7, 65_536, 2 ** 31 - 1];
  for (const index of indexes)
    for (const alias of ['p', 'podwire:abcdef', `podwire:${'z'.repeat(40)}`]) {
      const r = setLinkAlias(index, alias);
      assert.deepEqual(payload(r), ref.link({ index }, { ifalias: alias }), `${index} alias ${alias}`);
      assert.equal(r.flags, 0);
    }
  for (const name of names)
    for (const alias of ['p', 'podwire:abcdef', `podwire:${'z'.repeat(40)}`]) {
      const r = setLinkAliasByName(name, alias);
      assert.deepEqual(payload(r), ref.link({}, { ifname: name, ifalias: alias }), `${name} alias ${alias}`);
      assert.equal(r.flags, 0);
    }
  for (const index of indexes)
    for (const name of names) {
      const r = renameLink(index, name);
      assert.deepEqual(payload(r), ref.link({ index }, { ifname: name }), `${index} name ${name}`);
      assert.equal(r.flags, 0);
    }
  for (const index of indexes) {
    assert.deepEqual(payload(setLinkUp(index)), ref.link({ index, flags: { up: true }, change: { up: true } }, {}));
    assert.deepEqual(payload(setLinkDown(index)), ref.link({ index, flags: {}, change: { up: true } }, {}));
  }
});

test('link requests refuse index 0 (a request for every link) and non-integers', () => {
  for (const index of [0, -1, 1.5, NaN]) {
    assert.throws(() => renameLink(index, 'eth0'));
    assert.throws(() => setLinkAlias(index, 'podwire:x'));
    assert.throws(() => setLinkUp(index));
    assert.throws(() => setLinkDown(index));
  }
});

test('addresses: IPv4 (local + address) and IPv6, scopes, nodad, create or replace', () => {
  const cases: Array<[4 | 6, string, number]> = [
    [4, '10.252.0.5', 32],
    [4, '169.254.1.1', 32],
    [4, '0.0.0.0', 8],
    [4, '255.255.255.255', 32],
    [6, 'fd00:1::5', 128],
    [6, 'fe80::1', 64],
  ];
  for (const [family, address, prefixLen] of cases)
    for (const scope of [undefined, 254])
      for (const nodad of [false, true])
        for (const mode of ['create', 'replace'] as const) {
          const r = addAddress({ index: 9, family, address, prefixLen, ...(scope ? { scope } : {}), nodad }, mode);
          assert.deepEqual(payload(r), ref.address(9, family, address, prefixLen, scope, nodad), `${address} scope=${scope} nodad=${nodad}`);
          assert.equal(r.flags, FlagsNew.CREATE | (mode === 'create' ? FlagsNew.EXCL : FlagsNew.REPLACE));
        }
});

test('permanent neighbours, IPv4 and IPv6', () => {
  for (const [family, dst] of [
    [4, '169.254.1.1'],
    [6, 'fe80::1'],
  ] as const)
    for (const mac of macs) assert.deepEqual(payload(addPermanentNeighbour({ index: 3, family, dst, lladdr: mac })), ref.neigh(3, family, dst, mac));
});

test('routes: create / replace / delete, with and without destination, gateway, device; onlink routes', () => {
  const specs: RouteSpec[] = [];
  for (const [family, dst, dstLen, gw] of [
    [4, '10.252.0.5', 32, '10.0.0.1'],
    [4, '10.244.2.0', 24, '192.168.7.2'],
    [4, '0.0.0.0', 0, '169.254.1.1'],
    [6, 'fd00:1::5', 128, 'fd00:9::1'],
    [6, '::', 0, 'fe80::1'],
  ] as const)
    for (const gateway of [undefined, gw])
      for (const oif of [undefined, 12])
        for (const scope of [0, 253])
          specs.push({ family, dst, dstLen, ...(gateway ? { gateway } : {}), ...(oif ? { oif } : {}), table: 254, protocol: 199, scope, type: 1 });
  const flags = { create: FlagsNew.CREATE | FlagsNew.EXCL, replace: FlagsNew.CREATE | FlagsNew.REPLACE, delete: 0 };
  for (const spec of specs)
    for (const op of ['create', 'replace', 'delete'] as const) {
      const r = changeRoute(op, spec);
      assert.deepEqual(payload(r), ref.route(op, spec), `${op} ${JSON.stringify(spec)}`);
      assert.equal(r.flags, flags[op]);
      assert.equal(r.type, op === 'delete' ? rt.MessageType.DELROUTE : rt.MessageType.NEWROUTE);
    }
  for (const spec of specs) {
    if (!spec.gateway || !spec.oif) continue;
    const onlink = { ...spec, gateway: spec.gateway, oif: spec.oif, protocol: 3, scope: 0 };
    assert.deepEqual(payload(createOnlinkRoute(onlink)), ref.route('create', onlink, true));
  }
});

test('addressBytes reads every text as ipaddr.parse does: the same bytes, or a throw for both', () => {
  assert.deepEqual(addressBytes('10.1.2.3'), Buffer.from([10, 1, 2, 3]));
  const texts = [
    '10.1.2.3',
    '0.0.0.0',
    '255.255.255.255',
    '010.1.2.3',
    '0x0a.1.2.3',
    '10.1.2',
    '10.1.2.256',
    '10.1.2.x',
    '',
    'nonsense',
    '1.2.3.4.5',
    'fd00::1',
    '::ffff:10.1.2.3',
    'fe80::1',
  ];
  for (const text of texts) {
    let expected: Buffer | undefined;
    try {
      expected = ref.bytes(text);
    } catch {
      expected = undefined;
    }
    if (expected === undefined) assert.throws(() => addressBytes(text), text);
    else assert.deepEqual(addressBytes(text), expected, text);
  }
});
