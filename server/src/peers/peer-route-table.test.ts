/** Where the peer route table's answers come from: a route dump, or once the start-up read of the host. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RTPROT_PODWIRE, RTPROT_PODWIRE_PEER } from '../datapath/host-routes';
import { type KernelRoute, RT_TABLE_MAIN } from '../rtnl/kernel-objects';
import type { RtnlSocket } from '../rtnl/rtnl-socket';
import { SnapshotPeerRouteTable } from './peer-route-table';

const route = (over: Partial<KernelRoute>): KernelRoute => ({
  family: 4,
  dst: '10.220.2.0',
  dstLen: 24,
  gateway: '10.219.0.2',
  oif: 2,
  table: RT_TABLE_MAIN,
  protocol: RTPROT_PODWIRE_PEER,
  scope: 0,
  type: 1,
  ...over,
});

/** A dump socket that answers every dump with no message, counting them. */
function emptyDumps(): { sock: RtnlSocket; dumps: () => number } {
  let dumps = 0;
  const sock = {
    dump: async () => {
      dumps++;
      return [];
    },
  } as unknown as RtnlSocket;
  return { sock, dumps: () => dumps };
}

test('the first pass is the start-up read (peer routes of the main table only); later passes dump', async () => {
  const { sock, dumps } = emptyDumps();
  const startup = Promise.resolve([
    route({}),
    route({ dst: '10.220.3.0', gateway: '10.219.0.3' }),
    route({ dst: '10.229.0.7', dstLen: 32, gateway: '', protocol: RTPROT_PODWIRE }), // a pod route
    route({ dst: '10.220.4.0', table: 100 }), // another table
    route({ dst: '0.0.0.0', dstLen: 0 }), // a default route is never a peer route
  ]);
  const table = new SnapshotPeerRouteTable(sock, startup);
  assert.deepEqual(await table.listForPass(), [
    { dst: '10.220.2.0/24', gateway: '10.219.0.2', oif: 2 },
    { dst: '10.220.3.0/24', gateway: '10.219.0.3', oif: 2 },
  ]);
  assert.equal(dumps(), 0);
  assert.deepEqual(await table.listForPass(), []);
  assert.equal(dumps(), 1);
});

test('list() (ListPeers) always dumps and leaves the start-up read to the first pass', async () => {
  const { sock, dumps } = emptyDumps();
  const table = new SnapshotPeerRouteTable(sock, Promise.resolve([route({})]));
  assert.deepEqual(await table.list(), []);
  assert.equal(dumps(), 1);
  assert.deepEqual(await table.listForPass(), [{ dst: '10.220.2.0/24', gateway: '10.219.0.2', oif: 2 }]);
  assert.equal(dumps(), 1);
});

test('a start-up read received longer ago than the bound when the first pass comes is replaced by a dump', async () => {
  const { sock, dumps } = emptyDumps();
  let now = 1_000;
  const table = new SnapshotPeerRouteTable(sock, Promise.resolve([route({})]), 5_000, () => now);
  await new Promise((r) => setImmediate(r));
  now += 5_001;
  assert.deepEqual(await table.listForPass(), []);
  assert.equal(dumps(), 1);
});

test('a failed start-up read is replaced by a dump', async () => {
  const { sock, dumps } = emptyDumps();
  const table = new SnapshotPeerRouteTable(sock, Promise.reject(new Error('EINTR')));
  assert.deepEqual(await table.listForPass(), []);
  assert.equal(dumps(), 1);
});
