/**
 * The Debug service, health and reflection on podwired's unix socket, driven by a generic
 * reflection client (no proto files on the client side): what it reports is checked against
 * the kernel (`ip -j`), the SQLite rows and the server's own log lines.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { GrpcReflection } from 'grpc-js-reflection-client';
import { E2eHarness } from '../lib/e2e-harness';
import { eventually } from '../lib/eventually';
import { type IpAddrInfo, type IpLink, type IpRoute, ipJson } from '../lib/netns';
import { REPO_ROOT } from '../lib/paths';
import { mustRun } from '../lib/run-command';
import { readStore } from '../lib/store-rows';

const NET = 'dbg-net';
const CONF = {
  cniVersion: '1.0.0',
  name: NET,
  type: 'podwire',
  ipam: { ranges: [[{ subnet: '10.226.0.0/24' }], [{ subnet: 'fd99:226::/64' }]] },
};
/** A second network: the same container attached twice makes a container-id selector ambiguous. */
const NET2 = 'dbg-net2';
const CONF2 = { cniVersion: '1.0.0', name: NET2, type: 'podwire', ipam: { ranges: [[{ subnet: '10.226.1.0/24' }]] } };
const NODE = { name: 'dbg-node-1', podCIDRs: ['10.226.0.0/16', 'fd99:226::/64'] };

let h: E2eHarness;
let debug: grpc.Client;
let health: grpc.Client;
let services: string[];

type Obj = Record<string, unknown>;

/** A unary call on a client built from reflected descriptors. */
function unary<T = Obj>(client: grpc.Client, method: string, req: Obj): Promise<T> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, (r: Obj, cb: (e: grpc.ServiceError | null, res: T) => void) => void>)[method];
    if (!fn) return reject(new Error(`no method ${method}`));
    fn.call(client, req, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

async function rejectsWithCode(p: Promise<unknown>, code: grpc.status): Promise<grpc.ServiceError> {
  let caught: grpc.ServiceError | undefined;
  await assert.rejects(p, (e: grpc.ServiceError) => {
    caught = e;
    return e.code === code;
  });
  return caught!;
}

/** A client for `service` from the descriptors the server's reflection hands out. */
async function reflectedClient(reflection: GrpcReflection, target: string, service: string): Promise<grpc.Client> {
  const descriptor = await reflection.getDescriptorBySymbol(service);
  const pkg = descriptor.getPackageObject({ longs: String, enums: String, defaults: true, oneofs: true });
  let node: unknown = pkg;
  for (const part of service.split('.')) node = (node as Record<string, unknown>)[part];
  const Ctor = node as grpc.ServiceClientConstructor;
  return new Ctor(target, grpc.credentials.createInsecure());
}

before(async () => {
  h = await E2eHarness.start('dbg', { server: { config: { node: NODE } } });
  const target = `unix://${h.server.socket}`;
  const reflection = new GrpcReflection(target, grpc.credentials.createInsecure());
  services = await reflection.listServices();
  debug = await reflectedClient(reflection, target, 'podwire.v1.Debug');
  health = await reflectedClient(reflection, target, 'grpc.health.v1.Health');
});
after(async () => {
  debug?.close();
  health?.close();
  await h.cleanup();
});

/** "10.226.0.5/32" as `ip -j route` prints a destination ("10.226.0.5", "default"). */
function normaliseDst(dst: string, family: 4 | 6): string {
  if (dst === 'default') return family === 6 ? '::/0' : '0.0.0.0/0';
  return dst.includes('/') ? dst : `${dst}/${family === 6 ? 128 : 32}`;
}

async function ipRoutes(dev: string, ns?: string): Promise<string[]> {
  const v4 = await ipJson<IpRoute>(['-4', 'route', 'show', 'dev', dev], ns);
  const v6 = await ipJson<IpRoute>(['-6', 'route', 'show', 'dev', dev], ns);
  return [...v4.map((r) => normaliseDst(r.dst, 4)), ...v6.map((r) => normaliseDst(r.dst, 6))].sort();
}

async function ipAddresses(dev: string, ns?: string): Promise<string[]> {
  const [info] = await ipJson<IpAddrInfo>(['addr', 'show', 'dev', dev], ns);
  return (info?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`).sort();
}

interface LinkState {
  present: boolean;
  name: string;
  index: number;
  mac: string;
  mtu: number;
  operState: string;
  addresses: string[];
  detail: string;
}
interface RouteState {
  destination: string;
  gateway: string;
  device: string;
  protocol: string;
}
interface AttachmentReply {
  attachment: Obj & { addresses: string[]; hostIfname: string; containerId: string };
  resultJson: string;
  hostLink: LinkState;
  podLink: LinkState;
  hostRoutes: RouteState[];
  podRoutes: RouteState[];
  problems: string[];
}

async function assertLinkMatchesKernel(state: LinkState, dev: string, ns?: string): Promise<void> {
  const [link] = await ipJson<IpLink>(['link', 'show', 'dev', dev], ns);
  assert.ok(link, `ip link show ${dev}`);
  assert.equal(state.present, true);
  assert.equal(state.name, link.ifname);
  assert.equal(state.index, link.ifindex);
  assert.equal(state.mac, link.address);
  assert.equal(state.mtu, link.mtu);
  assert.equal(state.operState, (link.operstate ?? '').toLowerCase());
  assert.deepEqual([...state.addresses].sort(), await ipAddresses(dev, ns));
}

test('reflection lists Cni, Debug and health; health answers SERVING for each', async () => {
  for (const s of ['podwire.v1.Cni', 'podwire.v1.Debug', 'grpc.health.v1.Health']) assert.ok(services.includes(s), `${s} in ${services.join(', ')}`);
  for (const service of ['', 'podwire.v1.Cni', 'podwire.v1.Debug']) {
    const res = await unary<{ status: string }>(health, 'Check', { service });
    assert.equal(res.status, 'SERVING', `health of "${service}"`);
  }
  await rejectsWithCode(unary(health, 'Check', { service: 'no.such.Service' }), grpc.status.NOT_FOUND);
});

test('ServerInfo: version, readiness, config, component health and node identity', async () => {
  const info = await unary<Obj & { store: Obj; netlink: Obj; podCidrs: string[]; configJson: string }>(debug, 'ServerInfo', {});
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'server', 'package.json'), 'utf8')) as { version: string };
  assert.equal(info.version, pkg.version);
  assert.equal(info.ready, true);
  assert.equal(info.nodeName, NODE.name);
  assert.deepEqual(info.podCidrs, NODE.podCIDRs);
  assert.equal(info.nodeVersion, process.version);
  assert.equal(info.store.ok, true, String(info.store.detail));
  assert.equal(info.netlink.ok, true, String(info.netlink.detail));
  assert.ok(!Number.isNaN(Date.parse(String(info.startedAt))));
  assert.ok(Number(info.uptimeSeconds) >= 0);
  const config = JSON.parse(info.configJson) as Obj & { node: Obj };
  assert.equal(config.socket, h.server.socket);
  assert.equal(config.stateDir, h.server.stateDir);
  assert.equal(config.configFile, h.server.configFile);
  assert.deepEqual(config.node, { ...NODE, nodeIPs: [] });
  // podwired's nftables table: present, masquerade on by default (the node has pod CIDRs).
  const nft = info.nft as Obj;
  assert.deepEqual(
    { table: nft.table, available: nft.available, error: nft.error, present: nft.present, masquerade: nft.masquerade, portMappings: nft.portMappings },
    { table: h.server.nftTables()[0], available: true, error: '', present: true, masquerade: true, portMappings: 0 },
  );
  assert.equal(nft.cluster, 2, "this node's two pod CIDRs (no peers)");
  // What start-up did: every part present, the verification state one of its three.
  const startup = info.startup as { reconcile: Obj; phases: Obj; verification: Obj & { problems: unknown[] } };
  assert.deepEqual(Object.keys(startup.reconcile).sort(), ['failed', 'hostDegraded', 'hostOk', 'orphanLinks', 'orphanRoutes', 'rolledBack']);
  assert.deepEqual(Object.keys(startup.phases).sort(), ['reconcileMs', 'snapshotMs', 'storeMs', 'toServingMs']);
  assert.ok(
    ['VERIFICATION_STATE_PENDING', 'VERIFICATION_STATE_RUNNING', 'VERIFICATION_STATE_DONE'].includes(String(startup.verification.state)),
    String(startup.verification.state),
  );
  assert.ok(Array.isArray(startup.verification.problems));
  for (const n of ['total', 'verified', 'failed', 'netnsGone', 'durationMs']) assert.equal(typeof startup.verification[n], 'number', n);
});

test('an ADD through the shim: WatchEvents, ListAttachments, GetAttachment and ListLeases agree with the kernel, SQLite and the logs', async () => {
  const ns = await h.netns.create('a');
  const events: Array<Obj & { containerId: string; verb: string; requestId: string }> = [];
  const stream = (
    debug as unknown as { WatchEvents(req: Obj): grpc.ClientReadableStream<Obj & { containerId: string; verb: string; requestId: string }> }
  ).WatchEvents({});
  stream.on('data', (e) => events.push(e));
  stream.on('error', () => undefined);
  // The server sends the headers once it has subscribed: from then on no call is missed.
  await new Promise<void>((resolve, reject) => {
    stream.once('metadata', () => resolve());
    stream.once('error', reject);
  });

  try {
    const call = { containerId: 'dbg-ctr-a', netns: ns.path, config: CONF, args: 'K8S_POD_NAMESPACE=dbg-ns;K8S_POD_NAME=pod-a' };
    const add = await h.shim({ command: 'ADD', ifname: 'eth0', ...call });
    assert.equal(add.exitCode, 0, add.stdout + add.stderr);
    const result = add.json as { ips: Array<{ address: string }>; interfaces: Array<{ name: string; mac: string }> };
    const podAddrs = result.ips.map((i) => i.address);
    const hostIfname = result.interfaces[0]?.name ?? '';

    // ListAttachments, unfiltered and with each filter.
    const all = await unary<{ attachments: Array<Obj & { addresses: string[] }> }>(debug, 'ListAttachments', {});
    assert.equal(all.attachments.length, 1);
    const att = all.attachments[0]!;
    assert.deepEqual(
      {
        network: att.network,
        containerId: att.containerId,
        ifname: att.ifname,
        netns: att.netns,
        hostIfname: att.hostIfname,
        state: att.state,
        podNamespace: att.podNamespace,
        podName: att.podName,
      },
      {
        network: NET,
        containerId: 'dbg-ctr-a',
        ifname: 'eth0',
        netns: ns.path,
        hostIfname,
        state: 'ATTACHMENT_STATE_READY',
        podNamespace: 'dbg-ns',
        podName: 'pod-a',
      },
    );
    assert.deepEqual(att.addresses, podAddrs);
    const rows = readStore(h.server.dbPath);
    assert.deepEqual(
      rows.attachments.map((a) => [a.network, a.container_id, a.ifname, a.host_ifname, a.state]),
      [[NET, 'dbg-ctr-a', 'eth0', hostIfname, 'ready']],
    );
    for (const filter of [{ podNamespace: 'dbg-ns' }, { podName: 'pod-a' }, { containerId: 'dbg-ctr-a' }, { network: NET }]) {
      assert.equal((await unary<{ attachments: unknown[] }>(debug, 'ListAttachments', filter)).attachments.length, 1, JSON.stringify(filter));
    }
    for (const filter of [{ podNamespace: 'other' }, { containerId: 'nope' }, { network: 'other-net' }]) {
      assert.equal((await unary<{ attachments: unknown[] }>(debug, 'ListAttachments', filter)).attachments.length, 0, JSON.stringify(filter));
    }

    // ListLeases against the SQLite rows.
    const leases = await unary<{ leases: Array<Obj & { address: string }> }>(debug, 'ListLeases', {});
    assert.deepEqual(
      leases.leases.map((l) => [l.network, l.address, l.containerId, l.ifname]).sort(),
      rows.leases.map((l) => [l.network, l.address, l.container_id, l.ifname]).sort(),
    );
    assert.deepEqual(leases.leases.map((l) => l.family).sort(), [4, 6]);
    assert.deepEqual((await unary<{ leases: unknown[] }>(debug, 'ListLeases', { network: 'other-net' })).leases, []);

    // GetAttachment by pod: live state of both ends, as iproute2 sees it.
    const got = await unary<AttachmentReply>(debug, 'GetAttachment', { podNamespace: 'dbg-ns', podName: 'pod-a' });
    assert.deepEqual(got.problems, []);
    assert.deepEqual(
      (JSON.parse(got.resultJson) as { ips: Array<{ address: string }> }).ips.map((i) => i.address),
      podAddrs,
    );
    await assertLinkMatchesKernel(got.hostLink, hostIfname);
    await assertLinkMatchesKernel(got.podLink, 'eth0', ns.name);
    assert.equal(got.podLink.mac, result.interfaces[1]?.mac);
    assert.ok(got.hostLink.addresses.includes('169.254.1.1/32'));
    for (const a of podAddrs) assert.ok(got.podLink.addresses.includes(a), `${a} on the pod link`);
    assert.deepEqual(got.hostRoutes.map((r) => r.destination).sort(), await ipRoutes(hostIfname));
    assert.deepEqual(got.podRoutes.map((r) => r.destination).sort(), await ipRoutes('eth0', ns.name));
    for (const a of podAddrs) {
      const r = got.hostRoutes.find((x) => x.destination === a);
      assert.equal(r?.protocol, 'podwire', `host route to ${a}`);
      assert.equal(r?.device, hostIfname);
    }
    assert.equal(got.podRoutes.find((r) => r.destination === '0.0.0.0/0')?.gateway, '169.254.1.1');
    assert.equal(got.podRoutes.find((r) => r.destination === '::/0')?.gateway, 'fe80::1');

    // Selectors: none, unknown, ambiguous (the same container on a second network).
    await rejectsWithCode(unary(debug, 'GetAttachment', {}), grpc.status.INVALID_ARGUMENT);
    await rejectsWithCode(unary(debug, 'GetAttachment', { podName: 'pod-a' }), grpc.status.INVALID_ARGUMENT);
    await rejectsWithCode(unary(debug, 'GetAttachment', { containerId: 'no-such-ctr' }), grpc.status.NOT_FOUND);
    const nsB = await h.netns.create('b');
    const call2 = { ...call, netns: nsB.path, config: CONF2 };
    const add2 = await h.shim({ command: 'ADD', ifname: 'eth0', ...call2 });
    assert.equal(add2.exitCode, 0, add2.stdout + add2.stderr);
    const ambiguous = await rejectsWithCode(unary(debug, 'GetAttachment', { containerId: 'dbg-ctr-a' }), grpc.status.FAILED_PRECONDITION);
    assert.match(ambiguous.details, new RegExp(`${NET}/dbg-ctr-a/eth0`));
    assert.match(ambiguous.details, new RegExp(`${NET2}/dbg-ctr-a/eth0`));
    await rejectsWithCode(unary(debug, 'GetAttachment', { podNamespace: 'dbg-ns', podName: 'pod-a' }), grpc.status.FAILED_PRECONDITION);
    const second = await unary<AttachmentReply>(debug, 'GetAttachment', { containerId: 'dbg-ctr-a', network: NET2 });
    assert.equal(second.attachment.netns, nsB.path);
    await assertLinkMatchesKernel(second.podLink, 'eth0', nsB.name);
    assert.deepEqual(second.problems, []);

    // Break the pod: delete its host route. GetAttachment says what CHECK would say.
    const v4 = podAddrs.find((a) => !a.includes(':'))!;
    await mustRun('ip', ['route', 'del', v4, 'dev', hostIfname]);
    const broken = await unary<AttachmentReply>(debug, 'GetAttachment', { containerId: 'dbg-ctr-a', network: NET });
    assert.ok(broken.problems.length > 0);
    assert.ok(
      broken.problems.some((p) => p.includes(v4.split('/')[0]!) && p.includes('missing')),
      broken.problems.join('; '),
    );
    assert.ok(!broken.hostRoutes.some((r) => r.destination === v4));

    // ServerInfo: pool usage and attachment count from the store.
    const info = await unary<{ attachments: number; pools: Array<{ network: string; rangeSet: string; used: string; size: string; free: string }> }>(
      debug,
      'ServerInfo',
      {},
    );
    assert.equal(info.attachments, 2);
    const netPools = info.pools.filter((p) => p.network === NET);
    assert.equal(netPools.length, 2);
    for (const p of netPools) assert.equal(p.used, '1');
    const v4Pool = netPools.find((p) => p.rangeSet.includes('10.226.0.0/24'));
    assert.equal(v4Pool?.size, '254');
    assert.equal(v4Pool?.free, '253');
    const nodePool = info.pools.find((p) => p.network === '' && p.rangeSet === '10.226.0.0/16');
    assert.equal(nodePool?.used, '2');

    for (const c of [call, call2]) {
      const del = await h.shim({ command: 'DEL', ifname: 'eth0', ...c });
      assert.equal(del.exitCode, 0, del.stdout + del.stderr);
    }
    assert.deepEqual((await unary<{ attachments: unknown[] }>(debug, 'ListAttachments', {})).attachments, []);
  } finally {
    stream.cancel();
  }

  // Events: ADD, ADD, DEL, DEL of this container, each with the reqId of its server log lines.
  const mine = events.filter((e) => e.containerId === 'dbg-ctr-a');
  assert.deepEqual(
    mine.map((e) => [e.verb, e.ifname, e.outcome, e.network, e.podNamespace, e.podName]),
    [
      ['CNI_VERB_ADD', 'eth0', 'CNI_EVENT_OUTCOME_OK', NET, 'dbg-ns', 'pod-a'],
      ['CNI_VERB_ADD', 'eth0', 'CNI_EVENT_OUTCOME_OK', NET2, 'dbg-ns', 'pod-a'],
      ['CNI_VERB_DEL', 'eth0', 'CNI_EVENT_OUTCOME_OK', NET, 'dbg-ns', 'pod-a'],
      ['CNI_VERB_DEL', 'eth0', 'CNI_EVENT_OUTCOME_OK', NET2, 'dbg-ns', 'pod-a'],
    ],
  );
  // A call's line may wait up to CALL_LINE_FLUSH_MS (100 ms) in podwired's log buffer.
  const callMsg = (e: (typeof mine)[number]) => `CNI ${e.verb.replace(/^CNI_VERB_/, '')}`;
  await eventually(
    async () =>
      assert.ok(
        mine.every((e) => h.server.logRecords().some((l) => l.reqId === e.requestId && l.msg === callMsg(e))),
        'every call logged its line',
      ),
    2_000,
    10,
  );
  const logs = h.server.logRecords();
  for (const e of mine) {
    assert.match(e.requestId, /^[0-9a-f]{16}$/);
    const lines = logs.filter((l) => l.reqId === e.requestId);
    const perCall = lines.filter((l) => l.msg === callMsg(e));
    assert.equal(perCall.length, 1, `one per-call line for ${e.verb} on ${String(e.network)}`);
    assert.equal(perCall[0]?.containerId, 'dbg-ctr-a');
    assert.equal(perCall[0]?.network, e.network);
  }
  assert.equal(new Set(mine.map((e) => e.requestId)).size, 4);
});
