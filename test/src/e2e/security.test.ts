import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { E2eHarness } from '../lib/e2e-harness';
import { PodwiredProcess } from '../lib/podwired-process';
import { SHIM_BINARY } from '../lib/paths';
import { runCommand } from '../lib/run-command';
import { netConf } from '../lib/shim';
import { readStore } from '../lib/store-rows';

const CONF = netConf('e2e-sec', '10.237.0.0/24');
let h: E2eHarness;

before(async () => {
  h = await E2eHarness.start('sec');
});
after(async () => {
  await h.cleanup();
});

test('the socket is 0600 in a 0700 directory and the lease store is 0600', () => {
  assert.equal(fs.statSync(h.server.socket).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.dirname(h.server.socket)).mode & 0o777, 0o700);
  assert.equal(fs.statSync(h.server.dbPath).mode & 0o777, 0o600);
});

test('a caller that is not root is refused by its credentials, even when the socket is open to it', async (t) => {
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => fs.existsSync(p));
  if (!setpriv) return t.skip('setpriv (util-linux) is not installed');
  // Loosen the file permissions on purpose: only the SO_PEERCRED check is left to stop it.
  for (let dir = path.dirname(h.server.socket); dir.startsWith(h.root); dir = path.dirname(dir)) fs.chmodSync(dir, 0o755);
  fs.chmodSync(h.server.socket, 0o666);
  for (let dir = path.dirname(h.server.socket); dir !== '/'; dir = path.dirname(dir)) {
    if ((fs.statSync(dir).mode & 0o005) !== 0o005) return t.skip(`${dir} is not reachable by other users`);
  }
  const ns = await h.netns.create('a');
  const r = await runCommand(setpriv, ['--reuid=65534', '--regid=65534', '--clear-groups', SHIM_BINARY], {
    input: JSON.stringify(CONF),
    env: {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'ctr-nobody',
      CNI_NETNS: ns.path,
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/opt/cni/bin',
      PODWIRE_SOCKET: h.server.socket,
      PODWIRE_RETRY_TIMEOUT_MS: '300',
    },
    timeoutMs: 30_000,
  });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const err = JSON.parse(r.stdout) as { code: number };
  assert.ok([5, 11].includes(err.code), r.stdout);
  // The shim exits as soon as podwired drops it; the log line may still be in the pipe.
  let refused: Record<string, unknown> | undefined;
  for (let waited = 0; !refused && waited < 5000; waited += 50) {
    refused = h.server.logRecords().find((l) => l.msg === 'refused a connection: only root may call podwired');
    if (!refused) await new Promise((res) => setTimeout(res, 50));
  }
  assert.ok(refused, `podwired logged the refusal (the shim said: ${r.stdout.trim()})`);
  assert.equal((refused.peer as { uid: number }).uid, 65534);
  assert.deepEqual(readStore(h.server.dbPath).attachments, []);

  // Root is still served.
  const ok = await h.shim({ command: 'ADD', containerId: 'ctr-root', netns: ns.path, ifname: 'eth0', config: CONF });
  assert.equal(ok.exitCode, 0, ok.stdout);
  const del = await h.shim({ command: 'DEL', containerId: 'ctr-root', netns: ns.path, ifname: 'eth0', config: CONF });
  assert.equal(del.exitCode, 0, del.stdout);
});

test('a second podwired on the same state dir (another socket) refuses to start, naming the first; the first keeps serving', async () => {
  const ns = await h.netns.create('lock');
  const add = await h.shim({ command: 'ADD', containerId: 'ctr-before-second', netns: ns.path, ifname: 'eth0', config: CONF });
  assert.equal(add.exitCode, 0, add.stdout);
  const second = new PodwiredProcess(path.join(h.root, 'second', 'podwire.sock'), h.server.stateDir);
  try {
    await assert.rejects(second.start(10_000), /podwired exited with 1 before serving/);
  } finally {
    await second.kill();
  }
  const refusal = second.logs.join('\n');
  assert.match(refusal, new RegExp(`state directory ${h.server.stateDir} is in use by another podwired \\(pid ${h.server.pid}, socket ${h.server.socket}`));
  // It reconciled nothing: the first server's pod is still wired and stored.
  assert.equal(fs.existsSync(second.socket), false);
  const check = await h.shim({ command: 'CHECK', containerId: 'ctr-before-second', netns: ns.path, ifname: 'eth0', config: CONF });
  assert.equal(check.exitCode, 0, check.stdout);
  const del = await h.shim({ command: 'DEL', containerId: 'ctr-before-second', netns: ns.path, ifname: 'eth0', config: CONF });
  assert.equal(del.exitCode, 0, del.stdout);
});
