/**
 * The libnftables binding itself: a context per thread (the datapath worker loads the same
 * addon), bound to the netns it was made in, JSON out, errors thrown with libnftables' text.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { RtnlSockets } from '../rtnl/rtnl-sockets';
import { TestNetns } from '../test-support/test-netns';
import { NftContext } from './nft-context';

const sockets = new RtnlSockets();
let ns: TestNetns;
const tables = () => execFileSync('ip', ['netns', 'exec', ns.name, 'nft', 'list', 'tables'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).sort();

before(() => {
  ns = new TestNetns('nftctx');
});
after(() => {
  sockets.closeAll();
  ns.remove();
});

test("a worker thread has its own context, made inside the netns its thread entered; the main thread's works alongside", async () => {
  const addon = path.join(__dirname, '..', '..', 'native', 'build', 'Release', 'podwire_native.node');
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const a = require(workerData.addon);
     a.setns(require('node:fs').openSync(workerData.ns, 'r'));
     const ctx = a.nftCreate();
     a.nftRun(ctx, JSON.stringify({ nftables: [{ add: { table: { family: 'inet', name: 'from-worker' } } }] }));
     const out = JSON.parse(a.nftRun(ctx, JSON.stringify({ nftables: [{ list: { tables: null } }] })));
     a.nftFree(ctx);
     parentPort.postMessage(out.nftables.filter((o) => o.table).map((o) => o.table.name));`,
    { eval: true, workerData: { addon, ns: ns.path } },
  );
  const main = NftContext.open({ enter: (fn) => sockets.enter(ns.fd, fn) });
  main.run('add a table from the main thread', [{ add: { table: { family: 'ip', name: 'from-main' } } }]);
  const seen = await new Promise<string[]>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  assert.ok(seen.includes('from-worker'));
  assert.deepEqual(tables(), ['table inet from-worker', 'table ip from-main']);
  const listed = main.list('list', { list: { tables: null } });
  assert.deepEqual(listed.map((o) => (o.table as { name: string }).name).sort(), ['from-main', 'from-worker'], 'metainfo left out');
  main.close();
});
