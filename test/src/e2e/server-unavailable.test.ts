import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { E2eHarness } from '../lib/e2e-harness';
import { settledVeths } from '../lib/netns';
import { type ShimOutcome, netConf } from '../lib/shim';
import { readStore } from '../lib/store-rows';

const CONF = netConf('e2e-down', '10.234.0.0/24');
let h: E2eHarness;

before(async () => {
  h = await E2eHarness.start('down', { startServer: false });
});
after(async () => {
  await h.cleanup();
});

test('with the server stopped, ADD gets CNI error 11 naming the socket within the retry bound; after start it succeeds', async () => {
  const ns = await h.netns.create('a');
  const call = {
    command: 'ADD',
    containerId: 'ctr-down',
    netns: ns.path,
    ifname: 'eth0',
    config: CONF,
    env: { PODWIRE_RETRY_TIMEOUT_MS: '1500' },
  };
  const down = await h.shim(call);
  assert.equal(down.exitCode, 1, down.stdout);
  assert.equal(down.json?.code, 11);
  assert.equal(down.json?.cniVersion, '1.0.0');
  assert.ok(String(down.json?.msg).length > 0);
  assert.ok(`${String(down.json?.msg)} ${String(down.json?.details)}`.includes(h.server.socket), down.stdout);
  assert.ok(down.elapsedMs >= 1400, `retried for the bound (${down.elapsedMs} ms)`);
  assert.ok(down.elapsedMs < 10_000, `gave up in bounded time (${down.elapsedMs} ms)`);

  await h.server.start();
  const up = await h.shim(call);
  assert.equal(up.exitCode, 0, up.stdout);
  const del = await h.shim({ ...call, command: 'DEL' });
  assert.equal(del.exitCode, 0, del.stdout);
});

test('a shim that starts while the server is down succeeds once the server comes up within the bound', async () => {
  await h.server.stop();
  const ns = await h.netns.create('b');
  const call = { command: 'ADD', containerId: 'ctr-late', netns: ns.path, ifname: 'eth0', config: CONF, env: { PODWIRE_RETRY_TIMEOUT_MS: '20000' } };
  const pending = h.shim(call);
  await new Promise((r) => setTimeout(r, 300));
  await h.server.start();
  const r = await pending;
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  const del = await h.shim({ ...call, command: 'DEL' });
  assert.equal(del.exitCode, 0, del.stdout);
});

test('VERSION is answered by the shim with no server running', async () => {
  await h.server.stop();
  const r = await h.shim({ command: 'VERSION', config: { cniVersion: '1.0.0' } });
  assert.equal(r.exitCode, 0, r.stdout);
  assert.deepEqual(r.json?.supportedVersions, ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
});

test('with the server down, CHECK and DEL get 11 too; the DEL succeeds when retried after the server is back', async () => {
  await h.server.start();
  const ns = await h.netns.create('c');
  const call = { containerId: 'ctr-retry', netns: ns.path, ifname: 'eth0', config: CONF, env: { PODWIRE_RETRY_TIMEOUT_MS: '500' } };
  assert.equal((await h.shim({ ...call, command: 'ADD' })).exitCode, 0);
  await h.server.stop();
  for (const command of ['CHECK', 'DEL']) {
    const r = await h.shim({ ...call, command });
    assert.equal(r.json?.code, 11, `${command}: ${r.stdout}`);
  }
  await h.server.start();
  const del = await h.shim({ ...call, command: 'DEL' });
  assert.equal(del.exitCode, 0, del.stdout);
  assert.deepEqual(await settledVeths(ns.name), []);
  assert.deepEqual(
    readStore(h.server.dbPath).attachments.filter((a) => a.container_id === 'ctr-retry'),
    [],
  );
});

test('an ADD whose caller gave up (shim deadline) is rolled back by the server when it completes', async () => {
  const ns = await h.netns.create('d');
  const call = { containerId: 'ctr-late-add', netns: ns.path, ifname: 'eth0', config: CONF };
  // podwired is stopped (SIGSTOP) while the ADD is sent: the request waits in its socket past
  // the shim's 100 ms deadline, and the shim gives up (11, timed out). Thawed, podwired reads
  // the request and then the caller's hang-up: it either never starts the ADD, or completes it
  // and rolls it back (outcome "abandoned"). Either way nothing may be left.
  const pid = h.server.pid ?? 0;
  assert.ok(pid > 0);
  process.kill(pid, 'SIGSTOP');
  let add: ShimOutcome;
  try {
    add = await h.shim({ ...call, command: 'ADD', env: { PODWIRE_CALL_TIMEOUT_MS: '100' } });
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  assert.equal(add.exitCode, 1, add.stdout);
  assert.equal(add.json?.code, 11, add.stdout);
  assert.match(String(add.json?.msg), /timed out/);
  // Wait until podwired has dealt with the call (its one log line), then check nothing stayed.
  let rec: Record<string, unknown> | undefined;
  for (let waited = 0; waited < 10_000; waited += 50) {
    rec = h.server.logRecords().find((l) => l.containerId === 'ctr-late-add' && l.verb === 'ADD');
    if (rec) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  console.log(`late ADD after its caller gave up: ${rec ? `outcome ${String(rec.outcome)}` : 'never started'}`);
  if (rec) assert.equal(rec.outcome, 'abandoned', JSON.stringify(rec));
  else assert.ok(h.server.logRecords().length > 0, 'podwired is alive');
  assert.deepEqual(
    readStore(h.server.dbPath).attachments.filter((a) => a.container_id === 'ctr-late-add'),
    [],
    'no attachment is left',
  );
  assert.deepEqual(await settledVeths(ns.name), [], 'no veth is left in the pod');
  // And podwired serves again.
  const again = await h.shim({ ...call, command: 'ADD' });
  assert.equal(again.exitCode, 0, again.stdout);
  assert.equal((await h.shim({ ...call, command: 'DEL' })).exitCode, 0);
});
