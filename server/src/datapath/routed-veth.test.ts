/**
 * The routed veth datapath against the real kernel, in the style of the reference ptp
 * plugin's tests: a "host" and a "pod" network namespace of the test's own, the datapath's
 * host sockets opened inside the former (through setns), so the real host is never touched.
 * Every assertion reads the kernel with `ip -j`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as os from 'node:os';
import { CniError } from '../cni/cni-error';
import { InThreadLinkDeleter } from '../rtnl/link-deleter';
import { RtnlSockets } from '../rtnl/rtnl-sockets';
import { BatchingHostProgrammer } from './batching-host-programmer';
import type { PodNetworkSpec } from './datapath';
import { rtnlRouteSender } from './host-programmer';
import { ownerGroup } from './link-identity';
import { NetnsOpener } from './netns';
import { RoutedVethDatapath, type RoutedVethSockets } from './routed-veth';
import { Protocol, RawNetlinkSocket } from '../rtnl/netlink-parts';
import { type RtnlOutcome, type RtnlRequest, RtnlSocket } from '../rtnl/rtnl-socket';
import { RtnlError } from '../rtnl/rtnl-error';
import type { HostProgrammer } from './host-programmer';
import { TestNetns } from '../test-support/test-netns';

let HOST: TestNetns;
let POD: TestNetns;
/** A second pod (another attachment's). */
let POD2: TestNetns;
const sockets = new RtnlSockets();
let datapath: RoutedVethDatapath;
let programmer: BatchingHostProgrammer;
let hostSockets: RoutedVethSockets;
const inNs = (ns: TestNetns, ...args: string[]) => ns.ip(...args);
const json = <T>(ns: TestNetns, ...args: string[]): T => ns.json<T>(...args);

before(() => {
  HOST = new TestNetns('rvh');
  POD = new TestNetns('rvp');
  POD2 = new TestNetns('rvq');
  const host = sockets.openIn(HOST.fd, 'test host requests');
  const dumps = sockets.openIn(HOST.fd, 'test host dumps');
  programmer = new BatchingHostProgrammer(rtnlRouteSender(host), new InThreadLinkDeleter(host));
  hostSockets = { host, dumps };
  datapath = new RoutedVethDatapath(hostSockets, programmer, new NetnsOpener(sockets), 'testowner');
});
after(async () => {
  try {
    await datapath?.close();
  } finally {
    sockets.closeAll();
    for (const ns of [POD, POD2, HOST]) ns?.remove();
  }
});

const spec = (over: Partial<PodNetworkSpec> = {}): PodNetworkSpec => ({
  netnsPath: POD.path,
  podIfname: 'eth0',
  hostIfname: datapath.hostIfname({ network: 'net', containerId: 'c1', ifname: 'eth0' }),
  mtu: 1400,
  addresses: [
    { address: '10.71.0.5', family: 4 },
    { address: 'fd71::5', family: 6 },
  ],
  ...over,
});

interface IpAddr {
  ifname: string;
  operstate?: string;
  mtu?: number;
  ifalias?: string;
  group?: string;
  address?: string;
  addr_info: Array<{ local: string; prefixlen: number }>;
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
}

test('ADD wires both ends as the routed layout says, in 3 writes and 2 round trips; the result names them; CHECK passes', async () => {
  const s = spec();
  const writesBefore = sockets.writes;
  const wired = await datapath.setUp(s);
  // (1) the pair created under its derived name in its owner's group; (2) at once: the pod
  // end's programming, and the host end's alias, up, gateway addresses and routes to the
  // pod, one write each.
  assert.equal(sockets.writes - writesBefore, 3, 'writes per ADD');
  const [hostLink] = json<IpAddr[]>(HOST, 'addr', 'show', s.hostIfname);
  const [hostDetail] = json<IpAddr[]>(HOST, 'link', 'show', s.hostIfname);
  const [podLink] = json<IpAddr[]>(POD, 'addr', 'show', 'eth0');
  assert.ok(hostLink && podLink);
  assert.equal(hostDetail?.ifalias, 'podwire:testowner', 'the owner tag reconcile looks for');
  assert.equal(hostDetail?.group, String(ownerGroup('testowner')), 'the owner tag it was created with');
  assert.equal(hostLink.mtu, 1400);
  assert.deepEqual(
    hostLink.addr_info
      .map((a) => `${a.local}/${a.prefixlen}`)
      .filter((a) => !a.startsWith('fe80::') || a === 'fe80::1/64')
      .sort(),
    ['169.254.1.1/32', 'fe80::1/64'],
  );
  assert.deepEqual(
    podLink.addr_info.filter((a) => !a.local.startsWith('fe80')).map((a) => `${a.local}/${a.prefixlen}`),
    ['10.71.0.5/32', 'fd71::5/128'],
  );
  assert.deepEqual(wired.interfaces, [
    { name: s.hostIfname, mac: hostLink.address, mtu: 1400 },
    { name: 'eth0', mac: podLink.address, mtu: 1400, sandbox: POD.path },
  ]);
  assert.deepEqual(wired.ips, [
    { address: '10.71.0.5/32', gateway: '169.254.1.1', interface: 1 },
    { address: 'fd71::5/128', gateway: 'fe80::1', interface: 1 },
  ]);
  assert.deepEqual(wired.routes, [
    { dst: '0.0.0.0/0', gw: '169.254.1.1' },
    { dst: '::/0', gw: 'fe80::1' },
  ]);
  assert.deepEqual(
    json<IpRoute[]>(HOST, 'route', 'show', 'proto', '199').map((r) => `${r.dst} dev ${r.dev}`),
    [`10.71.0.5 dev ${s.hostIfname}`],
  );
  assert.deepEqual(
    json<IpRoute[]>(HOST, '-6', 'route', 'show', 'proto', '199').map((r) => `${r.dst} dev ${r.dev}`),
    [`fd71::5 dev ${s.hostIfname}`],
  );
  assert.deepEqual(
    json<IpRoute[]>(POD, 'route', 'show', 'default').map((r) => r.gateway),
    ['169.254.1.1'],
  );
  assert.deepEqual(
    json<IpRoute[]>(POD, '-6', 'route', 'show', 'default').map((r) => r.gateway),
    ['fe80::1'],
  );
  await datapath.check(s);
  assert.deepEqual(await datapath.podProblems(s), []);
});

test('CHECK and the pod verification name what is broken', async () => {
  const s = spec();
  inNs(POD, 'route', 'del', 'default');
  inNs(HOST, 'route', 'del', '10.71.0.5/32');
  await assert.rejects(datapath.check(s), (e: unknown) => {
    assert.ok(e instanceof CniError);
    assert.equal(e.code, 104);
    assert.match(e.details, /host route 10\.71\.0\.5\/32 dev pw[0-9a-f]+ is missing/);
    assert.match(e.details, /default route via 169\.254\.1\.1 dev eth0 is missing/);
    return true;
  });
  assert.deepEqual(await datapath.podProblems(s), ['default route via 169.254.1.1 dev eth0 is missing']);
});

test("reconcile's host view: owned links, host problems and stray routes from one read; strays removed", async () => {
  const s = spec();
  inNs(HOST, 'route', 'add', '10.71.0.99/32', 'dev', s.hostIfname, 'proto', '199');
  inNs(HOST, '-6', 'route', 'add', 'fd71::99/128', 'dev', s.hostIfname, 'proto', '199');
  const view = await datapath.readHost();
  assert.deepEqual(
    view.ownedLinks().map((l) => l.name),
    [s.hostIfname],
  );
  assert.deepEqual(view.hostProblems(s), [`host route 10.71.0.5/32 dev ${s.hostIfname} is missing`]);
  const stray = view.strayRoutes([s]);
  assert.deepEqual(stray.map((r) => r.address).sort(), ['10.71.0.99', 'fd71::99']);
  // Only the strays go: the pod's own IPv6 route stays (its IPv4 one was deleted above), and
  // so does an IPv4 route put back for it.
  inNs(HOST, 'route', 'add', '10.71.0.5/32', 'dev', s.hostIfname, 'proto', '199');
  assert.deepEqual(await datapath.removeStrayRoutes(stray), []);
  assert.deepEqual(
    json<IpRoute[]>(HOST, 'route', 'show', 'proto', '199').map((r) => r.dst),
    ['10.71.0.5'],
  );
  assert.deepEqual(
    json<IpRoute[]>(HOST, '-6', 'route', 'show', 'proto', '199').map((r) => r.dst),
    ['fd71::5'],
  );
  // An attachment the view is not told about: its link is an orphan, no stray routes are reported for it.
  assert.deepEqual(view.strayRoutes([]), []);
});

test('DEL removes the pair and every route through it; a second DEL is fine', async () => {
  const s = spec();
  await datapath.tearDown(s.hostIfname);
  assert.deepEqual(
    json<IpAddr[]>(HOST, 'link', 'show').map((l) => l.ifname),
    ['lo'],
  );
  assert.deepEqual(
    json<IpAddr[]>(POD, 'link', 'show').map((l) => l.ifname),
    ['lo'],
  );
  assert.deepEqual(json<IpRoute[]>(HOST, '-6', 'route', 'show', 'proto', '199'), []);
  await datapath.tearDown(s.hostIfname);
});

test('detach (DEL): host routes gone and host end renamed down at once; an ADD of the same key succeeds at once; the pair is gone soon after (1 s when idle)', async () => {
  const s = spec();
  await datapath.setUp(s);
  const [before] = json<Array<IpAddr & { ifindex: number }>>(HOST, 'link', 'show', s.hostIfname);
  assert.ok(before);
  const t0 = performance.now();
  await datapath.detach(s.hostIfname, s.addresses);
  const detachMs = performance.now() - t0;
  assert.equal(
    json<IpAddr[]>(HOST, 'link', 'show').some((l) => l.ifname === s.hostIfname),
    false,
    'the name is free at once',
  );
  assert.deepEqual(json<IpRoute[]>(HOST, 'route', 'show', 'proto', '199'), []);
  assert.deepEqual(json<IpRoute[]>(HOST, '-6', 'route', 'show', 'proto', '199'), []);
  assert.equal(datapath.pendingDestructions(), 1);
  // The same key again, before the old pair is destroyed: its pod end still holds "eth0".
  const again = await datapath.setUp(s);
  assert.equal(again.interfaces[0]?.name, s.hostIfname);
  assert.deepEqual(
    json<IpAddr[]>(POD, 'link', 'show', 'type', 'veth').map((l) => l.ifname),
    ['eth0'],
  );
  await datapath.check(s);
  await datapath.detach(s.hostIfname, s.addresses);
  let goneMs = 0;
  // The kernel drops the links from its dumps before it acks the group delete (the
  // RCU wait sits between the two), so the reaper's count reaches 0 a little later
  // than the dump goes empty: wait for both, within the same second.
  while (json<IpAddr[]>(HOST, 'link', 'show', 'type', 'veth').length > 0 || datapath.pendingDestructions() > 0) {
    goneMs = performance.now() - t0;
    assert.ok(
      // 1 s on an idle machine; 3 s of room while other test files run at the same time.
      goneMs < 3_000 + detachMs,
      `the detached pairs are destroyed within 3 s (${Math.round(goneMs)} ms so far, ${datapath.pendingDestructions()} pending)`,
    );
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.deepEqual(json<IpAddr[]>(POD, 'link', 'show', 'type', 'veth'), []);
});

test('a failure midway rolls back everything it did (a route already in the pod: EEXIST)', async () => {
  inNs(POD, 'link', 'set', 'lo', 'up');
  // A default route the pod already has (another interface's): podwire's own default route, its last step, meets EEXIST.
  inNs(POD, 'route', 'add', 'default', 'dev', 'lo');
  try {
    await assert.rejects(
      datapath.setUp(spec({ addresses: [{ address: '10.71.0.6', family: 4 }] })),
      (e: unknown) => e instanceof CniError && e.code === 103 && /EEXIST/.test(e.details),
    );
    assert.deepEqual(
      json<IpAddr[]>(HOST, 'link', 'show').map((l) => l.ifname),
      ['lo'],
    );
    assert.deepEqual(
      json<IpAddr[]>(POD, 'link', 'show').map((l) => l.ifname),
      ['lo'],
    );
    assert.deepEqual(json<IpRoute[]>(HOST, 'route', 'show', 'proto', '199'), []);
  } finally {
    inNs(POD, 'route', 'del', 'default', 'dev', 'lo');
  }
});

test('ADD refuses an interface name already in the pod (102) and leaves it alone', async () => {
  inNs(POD, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'other0');
  try {
    await assert.rejects(datapath.setUp(spec()), (e: unknown) => e instanceof CniError && e.code === 102);
    assert.deepEqual(
      json<IpAddr[]>(HOST, 'link', 'show').map((l) => l.ifname),
      ['lo'],
    );
    assert.deepEqual(
      json<IpAddr[]>(POD, 'link', 'show')
        .map((l) => l.ifname)
        .sort(),
      ['eth0', 'lo', 'other0'],
    );
  } finally {
    inNs(POD, 'link', 'del', 'eth0');
  }
});

test("a host end left by a crashed ADD of the same key (its derived name, this server's tag, no pod end) is replaced, not refused", async () => {
  const s = spec({ addresses: [{ address: '10.71.0.7', family: 4 }] });
  inNs(HOST, 'link', 'add', s.hostIfname, 'type', 'veth', 'peer', 'name', 'debris0');
  inNs(HOST, 'link', 'set', s.hostIfname, 'alias', 'podwire:testowner');
  const wired = await datapath.setUp(s);
  const [host] = json<Array<IpAddr & { link_netnsid?: number }>>(HOST, 'link', 'show', s.hostIfname);
  assert.equal(host?.link_netnsid !== undefined, true, 'the name is held by a pair reaching into the pod now');
  assert.equal(
    json<IpAddr[]>(HOST, 'link', 'show').some((l) => l.ifname === 'debris0'),
    false,
    'the debris went whole',
  );
  assert.equal(wired.interfaces[0]?.mac, host?.address);
  await datapath.check(s);
  await datapath.tearDown(s.hostIfname);
  assert.deepEqual(
    json<IpAddr[]>(HOST, 'link', 'show').map((l) => l.ifname),
    ['lo'],
  );
});

test("a host end a crash left between the ADD's two writes (derived name, this server's group, no alias) is reconcile's and the next ADD replaces it", async () => {
  const s = spec({ addresses: [{ address: '10.71.0.9', family: 4 }] });
  inNs(HOST, 'link', 'add', s.hostIfname, 'group', String(ownerGroup('testowner')), 'type', 'veth', 'peer', 'name', 'debris1');
  assert.deepEqual(
    (await datapath.readHost()).ownedLinks().map((l) => l.name),
    [s.hostIfname],
    'reconcile counts it as its own',
  );
  await datapath.setUp(s);
  assert.equal(
    json<IpAddr[]>(HOST, 'link', 'show').some((l) => l.ifname === 'debris1'),
    false,
    'the debris went whole',
  );
  await datapath.check(s);
  await datapath.tearDown(s.hostIfname);
  assert.deepEqual(
    json<IpAddr[]>(HOST, 'link', 'show').map((l) => l.ifname),
    ['lo'],
  );
});

/** The host's links other than lo, as "name alias". */
const hostLinkNames = () =>
  json<IpAddr[]>(HOST, 'link', 'show')
    .filter((l) => l.ifname !== 'lo')
    .map((l) => `${l.ifname}${l.ifalias ? ` ${l.ifalias}` : ''}`);

for (const foreign of [
  { what: 'an untagged', alias: undefined, group: undefined },
  { what: "another server's", alias: 'podwire:otherowner', group: undefined },
  { what: "another server's, before its alias,", alias: undefined, group: ownerGroup('otherowner') },
  { what: "this server's group but another alias:", alias: 'someone-else', group: ownerGroup('testowner') },
]) {
  test(`${foreign.what} link holding the derived host name is never tagged or removed: ADD fails (102) naming it, DEL, tearDown and reconcile leave it`, async () => {
    const s = spec({ addresses: [{ address: '10.71.0.8', family: 4 }] });
    inNs(HOST, 'link', 'add', s.hostIfname, 'type', 'veth', 'peer', 'name', 'foreign0');
    if (foreign.alias) inNs(HOST, 'link', 'set', s.hostIfname, 'alias', foreign.alias);
    if (foreign.group) inNs(HOST, 'link', 'set', s.hostIfname, 'group', String(foreign.group));
    const planted = [`${s.hostIfname}${foreign.alias ? ` ${foreign.alias}` : ''}`, 'foreign0'].sort();
    try {
      await assert.rejects(datapath.setUp(s), (e: unknown) => {
        assert.ok(e instanceof CniError);
        assert.equal(e.code, 102);
        assert.match(e.message, new RegExp(`host interface ${s.hostIfname} already exists`));
        return true;
      });
      assert.deepEqual(hostLinkNames().sort(), planted, 'not tagged, not removed, and nothing of the failed ADD left');
      assert.deepEqual(
        json<IpAddr[]>(POD, 'link', 'show').map((l) => l.ifname),
        ['lo'],
        'no pod end left',
      );
      await datapath.detach(s.hostIfname, s.addresses);
      await datapath.tearDown(s.hostIfname);
      assert.deepEqual(hostLinkNames().sort(), planted, 'DEL and tearDown leave a link podwire did not create');
      assert.deepEqual((await datapath.readHost()).ownedLinks(), [], 'reconcile does not count it as its own');
    } finally {
      inNs(HOST, 'link', 'del', s.hostIfname);
    }
  });
}

test("a pod address another attachment's host route already uses: the second ADD fails naming that route, the first keeps its route, and the second's DEL leaves it", async () => {
  const a = spec({
    addresses: [
      { address: '10.71.0.9', family: 4 },
      { address: 'fd71::9', family: 6 },
    ],
  });
  const b = spec({ netnsPath: POD2.path, hostIfname: datapath.hostIfname({ network: 'net', containerId: 'c2', ifname: 'eth0' }), addresses: a.addresses });
  await datapath.setUp(a);
  try {
    await assert.rejects(datapath.setUp(b), (e: unknown) => {
      assert.ok(e instanceof CniError);
      assert.equal(e.code, 103);
      assert.match(`${e.message}: ${e.details}`, new RegExp(`10\\.71\\.0\\.9/32 dev ${a.hostIfname} proto 199`));
      return true;
    });
    assert.deepEqual(
      json<IpRoute[]>(HOST, 'route', 'show', 'proto', '199').map((r) => `${r.dst} dev ${r.dev}`),
      [`10.71.0.9 dev ${a.hostIfname}`],
    );
    assert.deepEqual(
      json<IpRoute[]>(HOST, '-6', 'route', 'show', 'proto', '199').map((r) => `${r.dst} dev ${r.dev}`),
      [`fd71::9 dev ${a.hostIfname}`],
    );
    assert.deepEqual(
      json<IpAddr[]>(POD2, 'link', 'show').map((l) => l.ifname),
      ['lo'],
      'the failed ADD left nothing in its pod',
    );
    await datapath.detach(b.hostIfname, b.addresses);
    await datapath.check(a);
  } finally {
    await datapath.tearDown(a.hostIfname);
  }
});

test('a host route podwire did not create (another owner, proto static) is never replaced: ADD fails naming it, the route stays', async () => {
  inNs(HOST, 'link', 'add', 'other0', 'type', 'veth', 'peer', 'name', 'other1');
  inNs(HOST, 'link', 'set', 'other0', 'up');
  inNs(HOST, 'route', 'add', '10.71.0.10/32', 'dev', 'other0', 'proto', 'static');
  try {
    const s = spec({ addresses: [{ address: '10.71.0.10', family: 4 }] });
    await assert.rejects(
      datapath.setUp(s),
      (e: unknown) => e instanceof CniError && e.code === 103 && /10\.71\.0\.10\/32 dev other0 proto static/.test(`${e.message}: ${e.details}`),
    );
    assert.deepEqual(
      json<IpRoute[]>(HOST, 'route', 'show', '10.71.0.10/32').map((r) => `${r.dev} ${r.protocol}`),
      ['other0 static'],
    );
    assert.deepEqual(hostLinkNames().sort(), ['other0', 'other1']);
    assert.deepEqual(
      json<IpAddr[]>(POD, 'link', 'show').map((l) => l.ifname),
      ['lo'],
    );
  } finally {
    inNs(HOST, 'link', 'del', 'other0');
  }
});

/** The test's programmer, with route deletes and link deletes failing while told to. */
function faultyProgrammer(fail: { routeDeletes: boolean; linkDeletes: boolean }): HostProgrammer {
  const injected = (what: string) => Promise.reject(new Error(`injected: ${what} failed`));
  return {
    delPodRoutes: (addrs, index) => (fail.routeDeletes ? injected('route delete') : programmer.delPodRoutes(addrs, index)),
    deleteLink: (index) => (fail.linkDeletes ? injected('link delete') : programmer.deleteLink(index)),
    deleteLinks: (indexes) => (fail.linkDeletes ? indexes.map(() => injected('link delete')) : programmer.deleteLinks(indexes)),
    applyRouteChanges: (changes) => programmer.applyRouteChanges(changes),
  };
}

test('DEL whose route delete fails still destroys the pair (and with it every route), before it answers; the same ifname can be added again', async () => {
  const fail = { routeDeletes: true, linkDeletes: false };
  const dp = new RoutedVethDatapath(hostSockets, faultyProgrammer(fail), new NetnsOpener(sockets), 'testowner');
  const s = spec({
    addresses: [
      { address: '10.71.0.11', family: 4 },
      { address: 'fd71::11', family: 6 },
    ],
  });
  try {
    await dp.setUp(s);
    await dp.detach(s.hostIfname, s.addresses);
    assert.deepEqual(hostLinkNames(), [], 'no host end, under any name');
    assert.deepEqual(json<IpAddr[]>(POD, 'link', 'show', 'type', 'veth'), [], 'no pod end');
    assert.deepEqual(json<IpRoute[]>(HOST, '-6', 'route', 'show', 'proto', '199'), [], 'the IPv6 route went with the pair');
    assert.equal(dp.pendingDestructions(), 0);
    await dp.setUp(s);
    await dp.check(s);
  } finally {
    fail.routeDeletes = false;
    await dp.tearDown(s.hostIfname);
    await dp.close();
  }
});

test("DEL whose route delete and pair destruction both fail reports it and keeps track: the stale route does not block another pod's ADD of that address, and a retried DEL destroys the pair", async () => {
  const fail = { routeDeletes: true, linkDeletes: true };
  const dp = new RoutedVethDatapath(hostSockets, faultyProgrammer(fail), new NetnsOpener(sockets), 'testowner');
  const s = spec({ addresses: [{ address: 'fd71::12', family: 6 }] });
  const other = spec({ netnsPath: POD2.path, hostIfname: datapath.hostIfname({ network: 'net', containerId: 'c3', ifname: 'eth0' }), addresses: s.addresses });
  try {
    await dp.setUp(s);
    await assert.rejects(dp.detach(s.hostIfname, s.addresses), /injected: route delete failed.*injected: link delete failed/);
    const [detached] = hostLinkNames();
    assert.match(detached ?? '', /^pz[0-9a-f]+ podwire:testowner$/, 'detached (renamed, still tagged)');
    // A kernel that keeps IPv6 routes through a down link (this one drops them) leaves the
    // pod route through the detached end: put it back as such a kernel would have kept it.
    const pz = detached?.split(' ')[0] ?? '';
    inNs(HOST, 'link', 'set', pz, 'up');
    inNs(HOST, '-6', 'route', 'add', 'fd71::12/128', 'dev', pz, 'proto', '199');
    // The address is free in the store once the DEL is retried; a new pod gets it: the stale
    // route through the detached pair is podwire's own and gives way.
    fail.linkDeletes = false;
    await dp.setUp(other);
    assert.deepEqual(
      json<IpRoute[]>(HOST, '-6', 'route', 'show', 'proto', '199').map((r) => `${r.dst} dev ${r.dev}`),
      [`fd71::12 dev ${other.hostIfname}`],
    );
    await dp.detach(s.hostIfname, s.addresses);
    assert.deepEqual(hostLinkNames(), [`${other.hostIfname} podwire:testowner`], 'the retried DEL destroyed the detached pair');
    assert.deepEqual(json<IpAddr[]>(POD, 'link', 'show', 'type', 'veth'), []);
  } finally {
    fail.routeDeletes = false;
    fail.linkDeletes = false;
    await dp.tearDown(other.hostIfname);
    await dp.tearDown(s.hostIfname);
    await dp.close();
  }
});

/**
 * A host request socket whose veth creations "time out": the kernel creates the pair, but
 * the answer is replaced by ETIMEDOUT (as when the reply comes after the deadline).
 */
class CreationTimesOut extends RtnlSocket {
  override async exchange(requests: readonly RtnlRequest[]): Promise<RtnlOutcome[]> {
    const outcomes = await super.exchange(requests);
    return outcomes.map((o, i) => {
      const what = requests[i]?.what ?? '';
      return what.startsWith('RTM_NEWLINK veth')
        ? { error: new RtnlError(what, os.constants.errno.ETIMEDOUT, 'ETIMEDOUT', 'injected: no answer within the deadline') }
        : o;
    });
  }
}

test('a veth creation that times out after the kernel made the pair is rolled back: no pair is left; when that rollback fails, tearDown of the attachment destroys it', async () => {
  const timingOut = sockets.enter(HOST.fd, () => new CreationTimesOut(new RawNetlinkSocket(Protocol.ROUTE), 'test host, creations time out'));
  const fail = { routeDeletes: false, linkDeletes: false };
  const dp = new RoutedVethDatapath({ host: timingOut, dumps: hostSockets.dumps }, faultyProgrammer(fail), new NetnsOpener(sockets), 'testowner');
  const s = spec({ addresses: [{ address: '10.71.0.13', family: 4 }] });
  try {
    await assert.rejects(
      dp.setUp(s),
      (e: unknown) => e instanceof CniError && e.code === 103 && /ETIMEDOUT/.test(e.details) && !/rollback also failed/.test(e.details),
    );
    assert.deepEqual(hostLinkNames(), [], 'the pair the kernel made was deleted');
    assert.deepEqual(json<IpAddr[]>(POD, 'link', 'show', 'type', 'veth'), []);

    fail.linkDeletes = true;
    await assert.rejects(dp.setUp(s), (e: unknown) => e instanceof CniError && /rollback also failed: injected: link delete failed/.test(e.details));
    assert.deepEqual(hostLinkNames(), [s.hostIfname], 'left under its derived name, its alias not set yet');
    assert.equal(json<IpAddr[]>(HOST, 'link', 'show', s.hostIfname)[0]?.group, String(ownerGroup('testowner')), 'tagged by its group');
    assert.deepEqual(
      (await dp.readHost()).ownedLinks().map((l) => l.name),
      [s.hostIfname],
      'reconcile counts it as its own',
    );
    fail.linkDeletes = false;
    await dp.tearDown(s.hostIfname);
    assert.deepEqual(hostLinkNames(), [], "the attachment's tearDown destroyed it");
    assert.deepEqual(json<IpAddr[]>(POD, 'link', 'show', 'type', 'veth'), []);
  } finally {
    for (const name of hostLinkNames()) inNs(HOST, 'link', 'del', name.split(' ')[0] ?? '');
    await dp.close();
    timingOut.close();
  }
});

test('a detached pair whose destruction the reaper gives up on is destroyed by the next ADD of its key, which then succeeds', async () => {
  const fail = { routeDeletes: false, linkDeletes: true };
  const dp = new RoutedVethDatapath(hostSockets, faultyProgrammer(fail), new NetnsOpener(sockets), 'testowner');
  const s = spec({ addresses: [{ address: '10.71.0.14', family: 4 }] });
  try {
    await dp.setUp(s);
    await dp.detach(s.hostIfname, s.addresses);
    // The reaper's rounds (one per 200 ms) fail until it gives up.
    for (const until = Date.now() + 5_000; dp.pendingDestructions() > 0; ) {
      assert.ok(Date.now() < until, 'given up within 5 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(hostLinkNames()[0] ?? '', /^pz[0-9a-f]+ podwire:testowner$/, 'still there, renamed');
    fail.linkDeletes = false;
    await dp.setUp(s);
    await dp.check(s);
    assert.deepEqual(hostLinkNames(), [`${s.hostIfname} podwire:testowner`], 'the old pair is gone');
  } finally {
    fail.linkDeletes = false;
    await dp.tearDown(s.hostIfname);
    await dp.close();
  }
});
