/**
 * Start-up reconcile and the post-serving pod verification against a real SQLite lease store
 * and the shared scripted datapath: what each step does to the store, what it asks of the
 * kernel (one host read, no per-pod request), and the counts it reports. Pods are made as
 * ADD makes them (allocate, wire, one commit); a `pending` attachment, which only an older
 * podwired wrote, is planted with SQL as it wrote one.
 */
import { after, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { type IpamStore, openIpamStore, parseRangeSets } from '@podwire/ipam-store';
import { plantPendingAttachment, plantReadyAttachmentAt } from '@podwire/ipam-store/dist/legacy-pending';
import { FakeDatapath } from '../datapath/fake-datapath';
import { KeyedMutex } from '../keyed-mutex';
import { reconcile } from './reconcile';
import { pendingVerification, verifyPods } from './pod-verification';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-reconcile-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const log = pino({ level: 'silent' });
const ranges = parseRangeSets([[{ subnet: '10.44.0.0/24' }]]);
let dbPath = '';
let store: IpamStore;
let datapath: FakeDatapath;
let n = 0;
beforeEach(() => {
  dbPath = path.join(dir, `r${n++}.db`);
  store = openIpamStore(dbPath);
  datapath = new FakeDatapath();
});

/** A pod as a completed ADD leaves it: allocated, wired in the "kernel", then one commit (ready, with its lease). */
async function readyPod(containerId: string, netns = '/proc/self/ns/net'): Promise<string> {
  const key = { network: 'n', containerId, ifname: 'eth0' };
  const hostIfname = datapath.hostIfname(key);
  const allocation = store.allocate({ ...key, netns, hostIfname }, ranges);
  const [lease] = allocation.leases;
  assert.ok(lease);
  await datapath.setUp({ netnsPath: netns, podIfname: 'eth0', hostIfname, mtu: 1500, addresses: [{ address: lease.address, family: 4 }] });
  allocation.commit('{}');
  return hostIfname;
}

test('pending rolled back, orphans removed, stray routes removed, ready pods matched: one host read, nothing per pod', async () => {
  const a = await readyPod('a');
  const b = await readyPod('b');
  // An older podwired's crash mid-ADD: a pending attachment with its lease (its veth half made) ...
  const pendingKey = { network: 'n', containerId: 'p', ifname: 'eth0' };
  const [pendingLease] = plantPendingAttachment(dbPath, { ...pendingKey, netns: '/proc/self/ns/net', hostIfname: datapath.hostIfname(pendingKey) }, ranges);
  assert.equal(pendingLease?.address, '10.44.0.3');
  assert.deepEqual(
    store.listAttachments({ state: 'pending' }).map((a) => a.containerId),
    ['p'],
    'planted as an older podwired left it',
  );
  datapath.debrisLinks.push({ name: datapath.hostIfname(pendingKey), index: 900 });
  // ... a host veth of ours no attachment knows, a stray route on a ready pod's veth, and a ready pod whose veth is gone.
  datapath.debrisLinks.push({ name: 'pwdeadbeef0001', index: 901 });
  datapath.strayRouteList.push({ address: '10.44.0.200', family: 4, hostIfname: a, hostIndex: 100 });
  datapath.wired.delete(b);

  const { counts, ready } = await reconcile(store, datapath, log);
  assert.deepEqual(counts, { rolledBack: 1, orphanLinks: 1, orphanRoutes: 1, hostOk: 1, hostDegraded: 1, failed: 0 });
  assert.equal(datapath.readHostCalls, 1, 'one read of the host');
  assert.equal(datapath.podProblemsCalls, 0, 'nothing inside pod netns before serving');
  assert.deepEqual(ready.map((r) => r.attachment.containerId).sort(), ['a', 'b']);
  assert.deepEqual(ready.find((r) => r.attachment.containerId === 'a')?.spec.addresses, [{ address: '10.44.0.1', family: 4 }]);
  assert.deepEqual(store.listAttachments({ state: 'pending' }), [], 'the pending attachment is gone');
  assert.deepEqual(
    store.listLeases().map((l) => `${l.containerId} ${l.address}`),
    ['a 10.44.0.1', 'b 10.44.0.2'],
    'its lease released; the ready pods keep theirs (b too: CHECK reports it, DEL or GC clears it)',
  );
  assert.deepEqual(datapath.tornDown.sort(), [datapath.hostIfname(pendingKey), 'pwdeadbeef0001'].sort());
  assert.deepEqual(
    datapath.removedRoutes.map((r) => r.address),
    ['10.44.0.200'],
  );
});

test('an address two attachments hold (a database from before addresses were unique per node) is logged naming both; both are kept', async () => {
  await readyPod('a');
  // As a version-1 store let two networks over the same ranges lease 10.44.0.1 twice.
  const other = { network: 'm', containerId: 'b', ifname: 'net1', netns: '/proc/self/ns/net', hostIfname: 'pwshared000001' };
  plantReadyAttachmentAt(dbPath, other, ['10.44.0.1']);
  const lines: Array<Record<string, unknown>> = [];
  const capture = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const { counts, ready } = await reconcile(store, datapath, capture);
  const warned = lines.find((l) => String(l.msg).startsWith('reconcile: addresses leased to more than one attachment'));
  assert.ok(warned, JSON.stringify(lines));
  assert.deepEqual(warned.shared, ['10.44.0.1: m/b/net1, n/a/eth0']);
  assert.equal(warned.count, 1);
  assert.equal(ready.length, 2, 'both kept');
  assert.deepEqual(counts, { rolledBack: 0, orphanLinks: 0, orphanRoutes: 0, hostOk: 1, hostDegraded: 1, failed: 0 });
  assert.equal(store.listLeases().length, 2);
});

test('no warning about shared addresses when every address has one holder', async () => {
  await readyPod('a');
  await readyPod('b');
  const lines: string[] = [];
  await reconcile(store, datapath, pino({ level: 'warn' }, { write: (line: string) => lines.push(line) }));
  assert.deepEqual(
    lines.filter((l) => l.includes('more than one attachment')),
    [],
  );
});

test('a failure to remove something is counted and logged; the rest is still reconciled', async () => {
  await readyPod('a');
  datapath.debrisLinks.push({ name: 'pwdeadbeef0002', index: 902 }, { name: 'pwdeadbeef0003', index: 903 });
  const original = datapath.tearDown.bind(datapath);
  datapath.tearDown = async (name) => {
    if (name === 'pwdeadbeef0002') throw new Error('EBUSY');
    await original(name);
  };
  const { counts } = await reconcile(store, datapath, log);
  assert.equal(counts.orphanLinks, 1);
  assert.equal(counts.failed, 1);
  assert.equal(counts.hostOk, 1);
});

test('verification after serving: verified, broken, netns gone, and one DELed meanwhile is skipped', async () => {
  const ok = await readyPod('ok');
  const broken = await readyPod('broken');
  const entered: string[] = [];
  const podProblems = datapath.podProblems.bind(datapath);
  datapath.podProblems = async (spec) => {
    entered.push(spec.hostIfname);
    return podProblems(spec);
  };
  await readyPod('gone', '/var/run/netns/pwt-no-such-netns');
  await readyPod('deleted');
  datapath.problems.set(broken, ['default route via 169.254.1.1 dev eth0 is missing']);
  const { ready } = await reconcile(store, datapath, log);
  store.remove({ network: 'n', containerId: 'deleted', ifname: 'eth0' });
  const report = await verifyPods(ready, { store, datapath, locks: new KeyedMutex(), log, report: pendingVerification(ready.length), concurrency: 2 });
  assert.equal(report.state, 'done');
  assert.equal(report.total, 4);
  assert.equal(report.verified, 1);
  assert.equal(report.failed, 1);
  assert.equal(report.netnsGone, 1);
  assert.deepEqual(report.problems, [{ network: 'n', containerId: 'broken', ifname: 'eth0', problem: 'default route via 169.254.1.1 dev eth0 is missing' }]);
  assert.deepEqual(entered.sort(), [broken, ok].sort(), 'entered: the verified pod and the broken one; not the gone or the deleted pod');
  assert.equal(datapath.podProblemsCalls, 2);
});

test('a host read that keeps failing (interrupted dumps on a busy host) is tried again, waiting longer each time, and then reconciled', async () => {
  const hostIfname = await readyPod('busy');
  for (let i = 0; i < 3; i++) datapath.readHostFailures.push(new Error('dump of links: EINTR (the dump was interrupted by a concurrent change)'));
  const t0 = performance.now();
  const { counts } = await reconcile(store, datapath, log);
  assert.equal(datapath.readHostCalls, 4);
  assert.ok(performance.now() - t0 >= 100 + 200 + 400 - 10, 'backed off between tries');
  assert.equal(counts.hostOk, 1);
  assert.ok(datapath.wired.has(hostIfname));
});

test('a host read taken although its dumps kept being interrupted: reconcile says so, removes what the read shows, and keeps a pod the read may have missed', async () => {
  const seen = await readyPod('seen');
  const missed = await readyPod('missed');
  datapath.readHostInterrupted = true;
  datapath.debrisLinks.push({ name: 'pwdeadbeef0002', index: 902 });
  datapath.wired.delete(missed); // not in the (inconsistent) read
  const lines: Array<Record<string, unknown>> = [];
  const capture = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const { counts, ready } = await reconcile(store, datapath, capture);
  assert.equal(datapath.readHostCalls, 1, 'not read again: a consistent read may never come');
  assert.ok(
    lines.some((l) => String(l.msg).startsWith("reconcile: the host's tables kept changing while they were read")),
    JSON.stringify(lines),
  );
  assert.deepEqual(datapath.tornDown, ['pwdeadbeef0002'], 'the orphan it shows is removed; nothing else');
  assert.deepEqual(counts, { rolledBack: 0, orphanLinks: 1, orphanRoutes: 0, hostOk: 1, hostDegraded: 1, failed: 0 });
  assert.deepEqual(ready.map((r) => r.attachment.hostIfname).sort(), [seen, missed].sort(), 'both pods kept, with their leases');
  assert.equal(store.listLeases().length, 2);
});
