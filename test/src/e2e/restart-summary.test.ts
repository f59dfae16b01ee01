/**
 * A restart with a few hundred pods and the debris a crash leaves: the start-up summary line
 * ("podwired serving": what reconcile did, from one snapshot of the host) and the
 * verification line (the pods checked inside their netns after serving started) must count
 * exactly what SQLite and `ip -j` show, and the kernel must end as the store says.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRangeSets } from '@podwire/ipam-store';
import { plantPendingAttachment } from '@podwire/ipam-store/dist/legacy-pending';
import { E2eHarness } from '../lib/e2e-harness';
import { type IpRoute, ipJson } from '../lib/netns';
import { mustRun } from '../lib/run-command';
import { hostInterfaceOf, netConf, resultAddress } from '../lib/shim';
import { readStore } from '../lib/store-rows';

const NET = 'e2e-summary';
const SUBNET = '10.241.0.0/22';
const CONF = { ...netConf(NET, SUBNET), cniVersion: '1.1.0' };
const PODS = Number(process.env.PODWIRE_SUMMARY_PODS ?? 300);
let h: E2eHarness;

before(async () => {
  h = await E2eHarness.start('sum');
});
after(async () => {
  await h.cleanup();
});

interface AliasLink {
  ifname: string;
  ifalias?: string;
}

/** Runs `fn` over `items`, `width` at a time. */
async function pool<T, R>(items: readonly T[], width: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T, i);
    }),
  );
  return out;
}

const podRoutes = async (): Promise<IpRoute[]> => (await ipJson<IpRoute>(['route', 'show', 'proto', '199'])).filter((r) => r.dst.startsWith('10.241.'));

test(`a SIGKILL with ${PODS} pods and crash debris: the start-up summary counts what SQLite and ip -j show`, async () => {
  // 1. PODS pods, each in its own netns, wired through the shim, 8 at a time.
  const ids = Array.from({ length: PODS }, (_, i) => `sum-${i}`);
  const nets = await pool(ids, 8, (id) => h.netns.create(id));
  const adds = await pool(ids, 8, (id, i) => h.shim({ command: 'ADD', containerId: id, netns: nets[i]?.path ?? '', ifname: 'eth0', config: CONF }));
  for (const [i, a] of adds.entries()) assert.equal(a.exitCode, 0, `${ids[i]}: ${a.stdout}`);
  const owner = String(h.server.logRecords().find((r) => typeof r.owner === 'string')?.owner);
  const alias = `podwire:${owner}`;
  const hostOf = (i: number): string => hostInterfaceOf(adds[i]);

  assert.equal(await h.server.kill(), null, 'SIGKILL');

  // 2. What a crash and the time since can leave.
  // Three ADDs of an older podwired (a `pending` row before wiring) that leased, created their
  // veth and never completed.
  const ranges = parseRangeSets([[{ subnet: SUBNET }]]);
  const pendingNs = await h.netns.create('pending');
  for (let p = 0; p < 3; p++) {
    const hostIfname = `pw00000000pe0${p}`;
    plantPendingAttachment(h.server.dbPath, { network: NET, containerId: `sum-pending-${p}`, ifname: `eth${p}`, netns: pendingNs.path, hostIfname }, ranges);
    await mustRun('ip', ['link', 'add', hostIfname, 'type', 'veth', 'peer', 'name', `eth${p}`, 'netns', pendingNs.name]);
    await mustRun('ip', ['link', 'set', hostIfname, 'alias', alias, 'up']);
  }
  // Two host veths of this server that no attachment knows.
  for (const o of ['pw00000000or01', 'pw00000000or02']) {
    await mustRun('ip', ['link', 'add', o, 'type', 'veth', 'peer', 'name', `${o}p`]);
    await mustRun('ip', ['link', 'set', o, 'alias', alias]);
  }
  // Four pod routes to addresses nobody leases, on live pods' veths.
  for (let s = 0; s < 4; s++) await mustRun('ip', ['route', 'add', `10.241.3.${250 + s}/32`, 'dev', hostOf(s), 'proto', '199']);
  // Two pods lost their host route (host side degraded), two others their default route inside
  // the pod (found only by the verification), and one pod's netns was deleted by the runtime
  // without a DEL (its veth pair went with it: host side degraded, netns gone).
  for (const i of [10, 11]) await mustRun('ip', ['route', 'del', `${resultAddress(adds[i])}/32`, 'dev', hostOf(i)]);
  for (const i of [20, 21]) await mustRun('ip', ['-n', nets[i]?.name ?? '', 'route', 'del', 'default']);
  await h.netns.remove(nets[30]?.name ?? '');

  // 3. What the summary must say, read from SQLite and the kernel now.
  const rows = readStore(h.server.dbPath);
  const ready = rows.attachments.filter((a) => a.network === NET && a.state === 'ready');
  const pending = rows.attachments.filter((a) => a.network === NET && a.state === 'pending');
  const owned = (await ipJson<AliasLink>(['link', 'show'])).filter((l) => l.ifalias === alias).map((l) => l.ifname);
  const readyHosts = new Set(ready.map((a) => a.host_ifname));
  const pendingHosts = new Set(pending.map((a) => a.host_ifname));
  const leased = new Set(rows.leases.filter((l) => l.network === NET).map((l) => l.address));
  const strays = (await podRoutes()).filter((r) => readyHosts.has(r.dev ?? '') && !leased.has(r.dst));
  const expected = {
    rolledBack: pending.length,
    orphanLinks: owned.filter((n) => !readyHosts.has(n) && !pendingHosts.has(n)).length,
    orphanRoutes: strays.length,
    hostOk: ready.length - 3,
    hostDegraded: 3,
    failed: 0,
  };
  assert.deepEqual(expected, { rolledBack: 3, orphanLinks: 2, orphanRoutes: 4, hostOk: PODS - 3, hostDegraded: 3, failed: 0 }, 'the debris is as planted');

  // 4. Restart; the summary line.
  await h.server.start();
  const records = h.server.logRecords();
  const from = records.map((r) => r.msg).lastIndexOf('podwired serving');
  const served = records[from];
  assert.ok(served);
  assert.deepEqual(served.reconcile, expected);
  assert.equal(served.ready, ready.length);
  const phases = served.phases as Record<string, number>;
  for (const k of ['storeMs', 'snapshotMs', 'reconcileMs', 'toServingMs', 'peersMs']) assert.equal(typeof phases[k], 'number', k);

  // 5. The verification line, once the pods were checked inside their netns.
  const deadline = Date.now() + 30_000;
  let verified: Record<string, unknown> | undefined;
  for (;;) {
    verified = h.server
      .logRecords()
      .slice(from)
      .find((r) => r.msg === 'podwired: ready pods verified in their netns');
    if (verified) break;
    assert.ok(Date.now() < deadline, 'the verification finished');
    await new Promise((r) => setTimeout(r, 50));
  }
  const v = verified.verification as Record<string, number>;
  // 10 and 11 lack only a host route: inside their netns they are fine.
  assert.deepEqual(
    { total: v.total, verified: v.verified, failed: v.failed, netnsGone: v.netnsGone },
    { total: PODS, verified: PODS - 3, failed: 2, netnsGone: 1 },
  );

  // 6. The kernel as the store says: no owned link but the ready pods', no stray pod route.
  const after = readStore(h.server.dbPath);
  assert.equal(after.attachments.filter((a) => a.network === NET && a.state === 'pending').length, 0);
  assert.equal(after.leases.filter((l) => l.network === NET).length, PODS);
  const ownedNow = (await ipJson<AliasLink>(['link', 'show']))
    .filter((l) => l.ifalias === alias)
    .map((l) => l.ifname)
    .sort();
  assert.deepEqual(
    ownedNow,
    ready
      .map((a) => a.host_ifname)
      .filter((n) => n !== hostOf(30))
      .sort(),
  );
  const routesNow = await podRoutes();
  assert.equal(routesNow.filter((r) => !leased.has(r.dst)).length, 0, 'no stray pod route');
  assert.equal(routesNow.length, PODS - 3, 'one route per pod but the two that lost theirs and the one whose netns is gone');

  // 7. The runtime tears everything down: nothing is left.
  const dels = await pool(ids, 8, (id, i) =>
    h.shim({ command: 'DEL', containerId: id, netns: i === 30 ? '' : (nets[i]?.path ?? ''), ifname: 'eth0', config: CONF }),
  );
  for (const [i, d] of dels.entries()) assert.equal(d.exitCode, 0, `${ids[i]}: ${d.stdout}`);
  const empty = readStore(h.server.dbPath);
  assert.equal(empty.attachments.filter((a) => a.network === NET).length, 0);
  assert.equal(empty.leases.filter((l) => l.network === NET).length, 0);
  // The pairs DEL detached are destroyed in the background, within a second.
  const goneBy = Date.now() + 10_000; // a second when idle; other test files may run meanwhile
  let left = (await ipJson<AliasLink>(['link', 'show'])).filter((l) => l.ifalias === alias);
  while (left.length > 0 && Date.now() < goneBy) {
    await new Promise((r) => setTimeout(r, 20));
    left = (await ipJson<AliasLink>(['link', 'show'])).filter((l) => l.ifalias === alias);
  }
  assert.deepEqual(left, []);
  assert.deepEqual(await podRoutes(), []);
});
