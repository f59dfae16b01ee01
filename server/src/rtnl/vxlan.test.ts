/**
 * The VXLAN requests against the real kernel, in a network namespace of the test's own: the
 * device as `ip -d link` sees it, FDB entries and permanent neighbours added, dumped, deleted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RtnlSockets } from './rtnl-sockets';
import type { RtnlSocket } from './rtnl-socket';
import { addPermanentNeighbour, getLinkByName, setLinkAliasByName } from './requests';
import { decodeAll, decodeNeighbour } from './decode';
import { sendAll } from './operations';
import { addFdb, createVxlan, decodeFdb, decodeVxlan, deleteFdb, deleteNeighbour, dumpFdb, dumpNeighbours } from './vxlan';
import { TestNetns } from '../test-support/test-netns';
import { execFileSync } from 'node:child_process';

/** `bridge -n NS -j fdb show dev DEV`, parsed. */
function fdbOf(dev: string): Array<{ mac: string; dst?: string; ifname: string; state: string; flags: string[] }> {
  return JSON.parse(execFileSync('bridge', ['-n', NS.name, '-j', 'fdb', 'show', 'dev', dev], { encoding: 'utf8' })) as Array<{
    mac: string;
    dst?: string;
    ifname: string;
    state: string;
    flags: string[];
  }>;
}

let NS: TestNetns;
const sockets = new RtnlSockets();
let sock: RtnlSocket;

before(() => {
  NS = new TestNetns('vxlan');
  sock = sockets.openIn(NS.fd, `netns ${NS.name}`);
  NS.ip('link', 'add', 'under0', 'type', 'veth', 'peer', 'name', 'under0p');
  NS.ip('addr', 'add', '10.231.0.1/24', 'dev', 'under0');
  NS.ip('addr', 'add', 'fd99:231::1/64', 'dev', 'under0', 'nodad');
  NS.ip('link', 'set', 'under0', 'up');
});
after(() => {
  sockets.closeAll();
  NS?.remove();
});

interface IpLink {
  ifname: string;
  mtu: number;
  address: string;
  operstate: string;
  ifalias?: string;
  flags: string[];
  linkinfo: { info_kind: string; info_data: { id: number; local?: string; local6?: string; port: number; learning: boolean } };
}

test('a VXLAN device: VNI, local address, port, learning off, MAC, MTU, up, owner alias; read back decoded', async () => {
  await sendAll(sock, [
    createVxlan({ name: 'pwvx7', vni: 7, port: 4789, local: '10.231.0.1', mtu: 1450, mac: '0e:77:0a:e7:00:01' }),
    setLinkAliasByName('pwvx7', 'podwire:test'),
  ]);
  const [link] = NS.json<IpLink[]>('-d', 'link', 'show', 'pwvx7');
  assert.equal(link?.linkinfo.info_kind, 'vxlan');
  assert.equal(link?.linkinfo.info_data.id, 7);
  assert.equal(link?.linkinfo.info_data.local, '10.231.0.1');
  assert.equal(link?.linkinfo.info_data.port, 4789);
  assert.equal(link?.linkinfo.info_data.learning, false);
  assert.equal(link?.address, '0e:77:0a:e7:00:01');
  assert.equal(link?.mtu, 1450);
  assert.ok(link?.flags.includes('UP'));
  assert.equal(link?.ifalias, 'podwire:test');
  const [msg] = await sock.request(getLinkByName('pwvx7'));
  const vx = msg && decodeVxlan(msg);
  assert.deepEqual(vx && { vni: vx.vni, port: vx.port, local: vx.local, learning: vx.learning, name: vx.link.name, mac: vx.link.mac, alias: vx.link.alias }, {
    vni: 7,
    port: 4789,
    local: '10.231.0.1',
    learning: false,
    name: 'pwvx7',
    mac: '0e:77:0a:e7:00:01',
    alias: 'podwire:test',
  });
  const [lo] = await sock.request(getLinkByName('under0'));
  assert.equal(lo && decodeVxlan(lo), undefined, 'a veth is not a VXLAN device');
  await assert.rejects(sock.request(createVxlan({ name: 'pwvx7', vni: 7, port: 4789, local: '10.231.0.1', mtu: 1450, mac: '0e:77:0a:e7:00:01' })), /EEXIST/);
});

test('an IPv6 underlay: IFLA_VXLAN_LOCAL6', async () => {
  await sendAll(sock, [createVxlan({ name: 'pwvx8', vni: 8, port: 8472, local: 'fd99:231::1', mtu: 1430, mac: '0e:77:0a:e7:00:02' })]);
  const [link] = NS.json<IpLink[]>('-d', 'link', 'show', 'pwvx8');
  assert.equal(link?.linkinfo.info_data.local6, 'fd99:231::1');
  assert.equal(link?.linkinfo.info_data.port, 8472);
  const [msg] = await sock.request(getLinkByName('pwvx8'));
  assert.equal(msg && decodeVxlan(msg)?.local, 'fd99:231::1');
});

test('FDB entries and permanent neighbours on the device: added (replace is idempotent), dumped, deleted', async () => {
  const [msg] = await sock.request(getLinkByName('pwvx7'));
  const index = (msg && decodeVxlan(msg)?.link.index) ?? 0;
  assert.ok(index > 0);
  const entry = { index, mac: '0e:77:0a:e7:00:02', dst: '10.231.0.2' };
  await sendAll(sock, [addFdb(entry), addFdb(entry), addFdb({ index, mac: '0e:77:0a:e7:00:03', dst: '10.231.5.3' })]);
  await sendAll(sock, [
    addPermanentNeighbour({ index, family: 4, dst: '10.232.2.0', lladdr: entry.mac }),
    addPermanentNeighbour({ index, family: 6, dst: 'fd99:232:2::', lladdr: entry.mac }),
  ]);
  const fdb = fdbOf('pwvx7');
  assert.deepEqual(
    fdb
      .filter((f) => f.dst)
      .map((f) => `${f.mac} ${f.dst} ${f.state} ${f.flags.join(',')}`)
      .sort(),
    ['0e:77:0a:e7:00:02 10.231.0.2 permanent self', '0e:77:0a:e7:00:03 10.231.5.3 permanent self'],
  );
  const dumped = decodeAll(await sock.dump(dumpFdb()), decodeFdb).filter((f) => f.index === index && f.dst);
  assert.deepEqual(dumped.map((f) => `${f.mac} ${f.dst} ${f.permanent}`).sort(), ['0e:77:0a:e7:00:02 10.231.0.2 true', '0e:77:0a:e7:00:03 10.231.5.3 true']);
  const neigh = [...decodeAll(await sock.dump(dumpNeighbours(4)), decodeNeighbour), ...decodeAll(await sock.dump(dumpNeighbours(6)), decodeNeighbour)].filter(
    (n) => n.index === index && n.permanent,
  );
  assert.deepEqual(neigh.map((n) => `${n.dst} ${n.lladdr} ${n.permanent}`).sort(), [
    '10.232.2.0 0e:77:0a:e7:00:02 true',
    'fd99:232:2:: 0e:77:0a:e7:00:02 true',
  ]);
  await sendAll(sock, [deleteFdb({ index, mac: '0e:77:0a:e7:00:03', dst: '10.231.5.3' }), deleteNeighbour({ index, family: 6, dst: 'fd99:232:2::' })]);
  const after = fdbOf('pwvx7').filter((f) => f.dst);
  assert.deepEqual(
    after.map((f) => f.mac),
    ['0e:77:0a:e7:00:02'],
  );
  assert.deepEqual(
    NS.json<Array<{ dst: string }>>('-6', 'neigh', 'show', 'dev', 'pwvx7').filter((n) => n.dst.startsWith('fd99')),
    [],
  );
});
