/** The router's reconcile logic against an in-memory kernel table (the real netlink path is in the cross-node e2e test). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { RouteChangeOutcome } from '../datapath/host-programmer';
import type { PeerRoute, RouteChange } from '../datapath/host-routes';
import { NodePodCidrs } from './node-pod-cidrs';
import { desiredPeerRoutes } from './peer';
import type { PeerRouteTable } from './peer-route-table';
import { PeerRouter, type RouteChanger } from './peer-router';
import { peerRoutingStatus } from './peer-routing-status';
import { peerStatusFrom } from '../debug/peer-status';

/**
 * The main table as the router sees it: `routes` are podwire's proto-198 routes (what list()
 * reports), `foreign` other owners' routes (never listed). Like the kernel: a create fails with
 * EEXIST when any route to its destination exists; a delete removes podwire's route with that
 * destination and gateway only, and one already gone is fine.
 */
class FakeKernel implements PeerRouteTable, RouteChanger {
  routes: PeerRoute[] = [];
  foreign: PeerRoute[] = [];
  batches: number[] = [];
  log: string[] = [];
  refuse = new Set<string>();
  async list(): Promise<PeerRoute[]> {
    return this.routes.map((r) => ({ ...r }));
  }
  async applyRouteChanges(changes: readonly RouteChange[]): Promise<RouteChangeOutcome[]> {
    this.batches.push(changes.length);
    return changes.map((c) => {
      this.log.push(`${c.op} ${c.route.dst} via ${c.route.gateway}`);
      if (this.refuse.has(c.route.dst)) return { error: 'Request rejected: ENETUNREACH' };
      if (c.op === 'delete') {
        this.routes = this.routes.filter((r) => !(r.dst === c.route.dst && r.gateway === c.route.gateway));
        return {};
      }
      if ([...this.routes, ...this.foreign].some((r) => r.dst === c.route.dst)) return { error: 'Request rejected: EEXIST' };
      this.routes = [...this.routes, { ...c.route }];
      return {};
    });
  }
  close(): void {}
  show(): string[] {
    return this.routes.map((r) => `${r.dst} via ${r.gateway}`).sort();
  }
}

const log = pino({ level: 'silent' });
const peer = (name: string, nodeIPs: string[], podCIDRs: string[]) => ({ name, nodeIPs, podCIDRs });

test('peers appear, move and disappear; stale and missing kernel routes converge in one batch per pass', async () => {
  const k = new FakeKernel();
  // Left from an earlier run: a stale route, and one for a peer that is still there but moved.
  k.routes = [
    { dst: '10.220.9.0/24', gateway: '10.219.0.9' },
    { dst: '10.220.2.0/24', gateway: '10.219.0.99' },
  ];
  const r = new PeerRouter(k, k, new NodePodCidrs('a', ['10.220.1.0/24']), log);
  const first = await r.update({ peers: [peer('b', ['10.219.0.2'], ['10.220.2.0/24']), peer('c', ['10.219.0.3'], ['10.220.3.0/24'])] });
  assert.deepEqual(first, { added: 1, updated: 1, removed: 1, failed: 0, unchanged: 0 });
  // The move is a delete of the old gateway's route, then a create: deletes go first.
  assert.deepEqual(k.log, [
    'delete 10.220.9.0/24 via 10.219.0.9',
    'delete 10.220.2.0/24 via 10.219.0.99',
    'create 10.220.2.0/24 via 10.219.0.2',
    'create 10.220.3.0/24 via 10.219.0.3',
  ]);
  assert.deepEqual(k.batches, [4]);
  assert.deepEqual(k.show(), ['10.220.2.0/24 via 10.219.0.2', '10.220.3.0/24 via 10.219.0.3']);

  assert.deepEqual(await r.update({ peers: [peer('b', ['10.219.0.2'], ['10.220.2.0/24'])] }), { added: 0, updated: 0, removed: 1, failed: 0, unchanged: 1 });
  assert.deepEqual(k.show(), ['10.220.2.0/24 via 10.219.0.2']);

  // Someone deletes the route behind podwired's back: a resync puts it back.
  k.routes = [];
  assert.equal((await r.resync()).added, 1);
  assert.deepEqual(await r.resync(), { added: 0, updated: 0, removed: 0, failed: 0, unchanged: 1 });
  assert.deepEqual(k.batches, [4, 1, 1], 'no batch when nothing changes');
});

test('a refused route fails alone and is reported; conflicts and missing families are errors, not routes', async () => {
  const k = new FakeKernel();
  k.refuse.add('10.220.3.0/24');
  const node = new NodePodCidrs('a', ['10.220.1.0/24']);
  const r = new PeerRouter(k, k, node, log);
  const report = await r.update({
    peers: [
      peer('b', ['10.219.0.2'], ['10.220.2.0/24', 'fd99:220:2::/64']),
      peer('c', ['10.219.0.3'], ['10.220.3.0/24']),
      peer('d', ['10.219.0.4'], ['10.220.1.128/25']),
      peer('e', ['10.219.0.5'], ['10.220.2.0/23']),
    ],
  });
  assert.deepEqual(report, { added: 1, updated: 0, removed: 0, failed: 1, unchanged: 0 });
  assert.deepEqual(k.show(), ['10.220.2.0/24 via 10.219.0.2']);
  const status = await peerStatusFrom(peerRoutingStatus('static', node, r)).listPeers();
  assert.equal(status.source, 'PEER_SOURCE_KIND_STATIC');
  assert.deepEqual(status.podCidrs, ['10.220.1.0/24']);
  const routes = Object.fromEntries((status.peers ?? []).flatMap((p) => (p.routes ?? []).map((x) => [x.destination, [x.programmed, x.error]])));
  assert.deepEqual(routes['10.220.2.0/24'], [true, '']);
  assert.match(String(routes['fd99:220:2::/64']?.[1]), /no IPv6 node address/);
  assert.match(String(routes['10.220.3.0/24']?.[1]), /ENETUNREACH/);
  assert.match(String(routes['10.220.1.128/25']?.[1]), /overlaps this node's pod CIDR 10\.220\.1\.0\/24/);
  assert.match(String(routes['10.220.2.0/23']?.[1]), /overlaps 10\.220\.2\.0\/24 of peer b/);
});

test('a route to a peer CIDR that podwire does not own is left alone and reported; the route follows once it is gone', async () => {
  const k = new FakeKernel();
  k.foreign = [{ dst: '10.220.2.0/24', gateway: '10.219.0.77' }];
  const node = new NodePodCidrs('a', ['10.220.1.0/24']);
  const r = new PeerRouter(k, k, node, log);
  const snap = { peers: [peer('b', ['10.219.0.2'], ['10.220.2.0/24']), peer('c', ['10.219.0.3'], ['10.220.3.0/24'])] };
  assert.deepEqual(await r.update(snap), { added: 1, updated: 0, removed: 0, failed: 1, unchanged: 0 });
  assert.deepEqual(k.foreign, [{ dst: '10.220.2.0/24', gateway: '10.219.0.77' }]);
  assert.deepEqual(k.show(), ['10.220.3.0/24 via 10.219.0.3']);
  const status = await peerStatusFrom(peerRoutingStatus('static', node, r)).listPeers();
  const b = (status.peers ?? []).find((p) => p.name === 'b')?.routes?.[0];
  assert.equal(b?.programmed, false);
  assert.match(String(b?.error), /EEXIST/);
  k.foreign = [];
  assert.deepEqual(await r.resync(), { added: 1, updated: 0, removed: 0, failed: 0, unchanged: 1 });
  assert.deepEqual(k.show(), ['10.220.2.0/24 via 10.219.0.2', '10.220.3.0/24 via 10.219.0.3']);
});

test('two podwire routes to one destination: the one through the wanted gateway stays, the other is deleted by its gateway', async () => {
  const k = new FakeKernel();
  k.routes = [
    { dst: '10.220.2.0/24', gateway: '10.219.0.9' },
    { dst: '10.220.2.0/24', gateway: '10.219.0.2' },
  ];
  const r = new PeerRouter(k, k, new NodePodCidrs('a', []), log);
  assert.deepEqual(await r.update({ peers: [peer('b', ['10.219.0.2'], ['10.220.2.0/24'])] }), { added: 0, updated: 0, removed: 1, failed: 0, unchanged: 1 });
  assert.deepEqual(k.log, ['delete 10.220.2.0/24 via 10.219.0.9']);
  assert.deepEqual(k.show(), ['10.220.2.0/24 via 10.219.0.2']);
});

test('passes requested while one is queued share it', async () => {
  const k = new FakeKernel();
  const r = new PeerRouter(k, k, new NodePodCidrs('a', []), log);
  const snaps = [1, 2, 3, 4].map((n) => ({ peers: [peer(`p${n}`, [`10.219.0.${n}`], [`10.220.${n}.0/24`])] }));
  const reports = await Promise.all(snaps.map((s) => r.update(s)));
  assert.ok(k.batches.length <= 2, `coalesced: ${JSON.stringify(k.batches)}`);
  assert.deepEqual(k.show(), ['10.220.4.0/24 via 10.219.0.4'], 'the last set wins');
  assert.equal(reports.length, 4);
});

test('desiredPeerRoutes picks the node address of the CIDR family, in peer name order', () => {
  assert.deepEqual(
    desiredPeerRoutes(
      [peer('z', ['fd99:219::26', '10.219.0.26'], ['fd99:220:26::/64', '10.220.26.0/24']), peer('a', ['10.219.0.1'], ['10.220.100.0/24'])],
      [],
    ).map((r) => [r.peer, r.dst, r.gateway]),
    [
      ['a', '10.220.100.0/24', '10.219.0.1'],
      ['z', 'fd99:220:26::/64', 'fd99:219::26'],
      ['z', '10.220.26.0/24', '10.219.0.26'],
    ],
  );
});

test('overlap between peers: containing, contained and equal CIDRs are all conflicts; neighbours are not', () => {
  const routes = desiredPeerRoutes(
    [
      peer('a', ['10.0.0.1', 'fd00::1'], ['10.220.2.0/24', 'fd99:220:2::/64']),
      peer('b', ['10.0.0.2'], ['10.220.0.0/16']),
      peer('c', ['10.0.0.3'], ['10.220.2.128/25']),
      peer('d', ['10.0.0.4'], ['10.220.2.0/24']),
      peer('e', ['10.0.0.5', 'fd00::5'], ['10.220.3.0/24', 'fd99:220:2:0:8000::/65']),
      peer('f', ['fd00::6'], ['fd99:220::/32']),
      peer('g', ['fd00::7'], ['fd99:220::/48']),
    ],
    [],
  );
  assert.deepEqual(
    routes.map((r) => [r.peer, r.dst, r.error ?? 'ok']),
    [
      ['a', '10.220.2.0/24', 'ok'],
      ['a', 'fd99:220:2::/64', 'ok'],
      ['b', '10.220.0.0/16', 'overlaps 10.220.2.0/24 of peer a'],
      ['c', '10.220.2.128/25', 'overlaps 10.220.2.0/24 of peer a'],
      ['d', '10.220.2.0/24', 'overlaps 10.220.2.0/24 of peer a'],
      ['e', '10.220.3.0/24', 'ok'],
      ['e', 'fd99:220:2:0:8000::/65', 'overlaps fd99:220:2::/64 of peer a'],
      ['f', 'fd99:220::/32', 'overlaps fd99:220:2::/64 of peer a'],
      ['g', 'fd99:220::/48', 'ok'],
    ].map(([p, d, e]) => [p, d, e === 'ok' ? 'ok' : `${d} ${e}`]),
  );
});
