import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { E2eHarness } from '../lib/e2e-harness';
import { netConf } from '../lib/shim';

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
