/**
 * Several interfaces in one pod netns, against the real kernel (a private "host" and "pod"
 * netns, as routed-veth.test.ts): two podwire interfaces (eth0 with the default routes, net1
 * with `ipam.routes`), each with its own host end, neighbour and onlink routes; CHECK per
 * interface; removing one leaves the other as ADD left it; another plugin's interface and
 * routes in the same netns are never touched. Every assertion reads the kernel with `ip -j`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CniError } from '../cni/cni-error';
import { parseIpamRoutes } from '../cni/ipam-routes';
import { InThreadLinkDeleter } from '../rtnl/link-deleter';
import { RtnlSockets } from '../rtnl/rtnl-sockets';
import { BatchingHostProgrammer } from './batching-host-programmer';
import type { PodNetworkSpec } from './datapath';
import { rtnlRouteSender } from './host-programmer';
import { NetnsOpener } from './netns';
import { RoutedVethDatapath } from './routed-veth';
import { TestNetns } from '../test-support/test-netns';

let HOST: TestNetns | undefined;
let POD: TestNetns | undefined;
const sockets = new RtnlSockets();
let datapath: RoutedVethDatapath | undefined;
const inNs = (ns: TestNetns | undefined, ...args: string[]) => {
  assert.ok(ns, 'the namespaces were made');
  return ns.ip(...args);
};
const json = <T>(ns: TestNetns | undefined, ...args: string[]): T => JSON.parse(inNs(ns, '-j', ...args)) as T;

interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  flags?: string[];
}
interface IpNeigh {
  dst: string;
  lladdr?: string;
  state?: string[];
}

function dp(): RoutedVethDatapath {
  assert.ok(datapath, 'the datapath was set up');
  return datapath;
}

before(() => {
  HOST = new TestNetns('mnh');
  POD = new TestNetns('mnp');
  const host = sockets.openIn(HOST.fd, 'test host requests');
  const dumps = sockets.openIn(HOST.fd, 'test host dumps');
  const programmer = new BatchingHostProgrammer(rtnlRouteSender(host), new InThreadLinkDeleter(host));
  datapath = new RoutedVethDatapath({ host, dumps }, programmer, new NetnsOpener(sockets), 'multiowner');
});
after(async () => {
  try {
    await datapath?.close();
  } finally {
    sockets.closeAll();
    // Deleting the namespaces takes every veth, address and route the tests made with them.
    for (const ns of [POD, HOST]) ns?.remove();
  }
});

const eth0 = (): PodNetworkSpec => ({
  netnsPath: POD?.path ?? '',
  podIfname: 'eth0',
  hostIfname: dp().hostIfname({ network: 'net-a', containerId: 'c1', ifname: 'eth0' }),
  mtu: 1500,
  addresses: [
    { address: '10.214.1.5', family: 4 },
    { address: 'fd14::1:5', family: 6 },
  ],
});

const NET1_ROUTES = parseIpamRoutes([{ dst: '10.214.2.0/24' }, { dst: '10.214.99.0/24', gw: '169.254.1.1' }, { dst: 'fd14:0:0:2::/64' }]);
const net1 = (over: Partial<PodNetworkSpec> = {}): PodNetworkSpec => ({
  netnsPath: POD?.path ?? '',
  podIfname: 'net1',
  hostIfname: dp().hostIfname({ network: 'net-b', containerId: 'c1', ifname: 'net1' }),
  mtu: 1500,
  addresses: [
    { address: '10.214.2.7', family: 4 },
    { address: 'fd14::2:7', family: 6 },
  ],
  ...(NET1_ROUTES ? { routes: NET1_ROUTES } : {}),
  ...over,
});

/** The pod's routes through one device (main table), IPv4 then IPv6, as "dst via gw flags". */
function podRoutesVia(dev: string): string[] {
  const show = (family: '-4' | '-6') =>
    json<IpRoute[]>(POD, family, 'route', 'show', 'dev', dev)
      .filter((r) => r.gateway !== undefined)
      .map((r) => `${r.dst} via ${r.gateway}${r.flags?.includes('onlink') ? ' onlink' : ''}`);
  return [...show('-4'), ...show('-6')];
}

test('two podwire interfaces in one netns: each its own host end, neighbours and onlink routes; CHECK passes for both', async () => {
  const a = await dp().setUp(eth0());
  const b = await dp().setUp(net1());
  assert.deepEqual(a.routes, [
    { dst: '0.0.0.0/0', gw: '169.254.1.1' },
    { dst: '::/0', gw: 'fe80::1' },
  ]);
  assert.deepEqual(b.routes, [
    { dst: '10.214.2.0/24', gw: '169.254.1.1' },
    { dst: '10.214.99.0/24', gw: '169.254.1.1' },
    { dst: 'fd14:0:0:2::/64', gw: 'fe80::1' },
  ]);
  assert.notEqual(a.interfaces[0]?.name, b.interfaces[0]?.name, 'separate host ends');
  assert.deepEqual(podRoutesVia('eth0'), ['default via 169.254.1.1 onlink', 'default via fe80::1 onlink']);
  assert.deepEqual(podRoutesVia('net1'), [
    '10.214.2.0/24 via 169.254.1.1 onlink',
    '10.214.99.0/24 via 169.254.1.1 onlink',
    'fd14:0:0:2::/64 via fe80::1 onlink',
  ]);
  // One permanent gateway neighbour per interface, each pointing at its own host end.
  for (const [dev, wired] of [
    ['eth0', a],
    ['net1', b],
  ] as const) {
    const hostMac = wired.interfaces[0]?.mac;
    const neigh = json<IpNeigh[]>(POD, 'neigh', 'show', 'dev', dev).filter((n) => n.state?.includes('PERMANENT'));
    assert.deepEqual(neigh.map((n) => [n.dst, n.lladdr]).sort(), [
      ['169.254.1.1', hostMac],
      ['fe80::1', hostMac],
    ]);
  }
  // Separate host routes, each to its own host end.
  const hostRoutes = json<IpRoute[]>(HOST, 'route', 'show', 'proto', '199')
    .map((r) => `${r.dst} dev ${r.dev}`)
    .sort();
  assert.deepEqual(hostRoutes, [`10.214.1.5 dev ${eth0().hostIfname}`, `10.214.2.7 dev ${net1().hostIfname}`]);
  await dp().check(eth0());
  await dp().check(net1());
});

test('CHECK of an interface with ipam.routes names a missing configured route and no other interface', async () => {
  inNs(POD, 'route', 'del', '10.214.99.0/24', 'dev', 'net1');
  try {
    await assert.rejects(dp().check(net1()), (e: unknown) => {
      assert.ok(e instanceof CniError);
      assert.equal(e.code, 104);
      assert.equal(e.details, 'route 10.214.99.0/24 via 169.254.1.1 dev net1 is missing');
      return true;
    });
    await dp().check(eth0());
  } finally {
    inNs(POD, 'route', 'add', '10.214.99.0/24', 'via', '169.254.1.1', 'dev', 'net1', 'onlink');
  }
  await dp().check(net1());
});

test('a third interface without ipam.routes meets the default route eth0 holds: 103 with the remedy, rolled back, eth0 and net1 untouched', async () => {
  const third = net1({
    podIfname: 'net2',
    hostIfname: dp().hostIfname({ network: 'net-c', containerId: 'c1', ifname: 'net2' }),
    addresses: [{ address: '10.214.3.9', family: 4 }],
    routes: undefined,
  });
  await assert.rejects(dp().setUp(third), (e: unknown) => {
    assert.ok(e instanceof CniError);
    assert.equal(e.code, 103);
    assert.match(e.message, /a route for net2 already exists in the pod/);
    assert.match(e.details, /EEXIST.*give this network "ipam\.routes"/);
    return true;
  });
  assert.deepEqual(
    json<Array<{ ifname: string }>>(POD, 'link', 'show')
      .map((l) => l.ifname)
      .sort(),
    ['eth0', 'lo', 'net1'],
  );
  assert.deepEqual(
    json<Array<{ ifname: string }>>(HOST, 'link', 'show')
      .map((l) => l.ifname)
      .sort(),
    ['lo', eth0().hostIfname, net1().hostIfname].sort(),
  );
  await dp().check(eth0());
  await dp().check(net1());
});

test('a configured route of a family the pod has no address of is code 7', async () => {
  const v4only = net1({
    podIfname: 'net3',
    hostIfname: dp().hostIfname({ network: 'net-d', containerId: 'c1', ifname: 'net3' }),
    addresses: [{ address: '10.214.4.9', family: 4 }],
    routes: parseIpamRoutes([{ dst: 'fd14:0:0:4::/64' }]),
  });
  await assert.rejects(dp().setUp(v4only), (e: unknown) => e instanceof CniError && e.code === 7 && /IPv6 route fd14:0:0:4::\/64/.test(e.message));
  assert.deepEqual(
    json<Array<{ ifname: string }>>(POD, 'link', 'show')
      .map((l) => l.ifname)
      .sort(),
    ['eth0', 'lo', 'net1'],
  );
});

test('removing eth0 leaves net1 as ADD left it (routes, neighbours, host route); then eth0 can come back', async () => {
  await dp().tearDown(eth0().hostIfname);
  assert.deepEqual(podRoutesVia('net1'), [
    '10.214.2.0/24 via 169.254.1.1 onlink',
    '10.214.99.0/24 via 169.254.1.1 onlink',
    'fd14:0:0:2::/64 via fe80::1 onlink',
  ]);
  assert.deepEqual(
    json<IpRoute[]>(HOST, 'route', 'show', 'proto', '199').map((r) => r.dst),
    ['10.214.2.7'],
  );
  await dp().check(net1());
  assert.deepEqual(await dp().podProblems(net1()), []);
  await dp().setUp(eth0());
  await dp().check(eth0());
  await dp().check(net1());
});

test("another plugin's interface with its own default route: podwire with ipam.routes never touches it", async () => {
  await dp().tearDown(eth0().hostIfname);
  await dp().tearDown(net1().hostIfname);
  // "Another plugin": a veth in the pod with an address and the default route, as bridge would leave it.
  inNs(POD, 'link', 'add', 'ext0', 'type', 'veth', 'peer', 'name', 'ext0p');
  inNs(POD, 'addr', 'add', '10.214.200.2/24', 'dev', 'ext0');
  inNs(POD, 'link', 'set', 'ext0', 'up');
  inNs(POD, 'route', 'add', 'default', 'via', '10.214.200.1', 'dev', 'ext0', 'onlink');
  const foreign = () => ({
    routes: json<IpRoute[]>(POD, 'route', 'show', 'dev', 'ext0'),
    addrs: json<Array<{ addr_info: unknown[] }>>(POD, 'addr', 'show', 'dev', 'ext0'),
  });
  const before = foreign();
  try {
    await dp().setUp(net1());
    await dp().check(net1());
    assert.deepEqual(foreign(), before);
    assert.deepEqual(
      json<IpRoute[]>(POD, 'route', 'show', 'default').map((r) => `${r.gateway} dev ${r.dev}`),
      ['10.214.200.1 dev ext0'],
    );
    await dp().tearDown(net1().hostIfname);
    assert.deepEqual(foreign(), before, 'and DEL does not either');
  } finally {
    inNs(POD, 'link', 'del', 'ext0');
  }
});
