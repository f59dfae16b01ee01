/**
 * CNI_NETNS paths that are not network namespaces and would block or have side effects when
 * opened (a FIFO, a device node), through the real shim and a real podwired: each call gets
 * a CNI error at once, other ADDs proceed meanwhile, the Debug inspector answers for a stored
 * path that became a FIFO, and SIGTERM still stops podwired.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { E2eHarness } from '../lib/e2e-harness';
import { REPO_ROOT } from '../lib/paths';
import { mustRun, runCommand } from '../lib/run-command';
import { type ShimCall, type ShimOutcome, netConf } from '../lib/shim';
import { readStore } from '../lib/store-rows';

const NET = 'e2e-nsfifo';
const CONF = netConf(NET, '10.207.0.0/24');
const CTL = path.join(REPO_ROOT, 'server', 'dist', 'ctl', 'main.js');
/** Well below the shim's default: a call that hangs fails the test in seconds, not minutes. */
const CALL_TIMEOUT_MS = 10_000;
let h: E2eHarness;

before(async () => {
  h = await E2eHarness.start('nsfifo');
});
after(async () => {
  await h.cleanup();
});

const call = (c: Omit<ShimCall, 'config'>): Promise<ShimOutcome> => h.shim({ config: CONF, ...c, env: { PODWIRE_CALL_TIMEOUT_MS: String(CALL_TIMEOUT_MS) } });

test('a FIFO or a device node as CNI_NETNS gets CNI error 4 at once while other ADDs proceed', async () => {
  const fifo = path.join(h.root, 'fifo');
  await mustRun('mkfifo', [fifo]);
  // Like /dev/null (1:3): harmless even if it were opened.
  const dev = path.join(h.root, 'chardev');
  await mustRun('mknod', [dev, 'c', '1', '3']);
  const pods = await Promise.all([1, 2, 3].map((i) => h.netns.create(`p${i}`)));

  const bad = [
    call({ command: 'ADD', containerId: 'fifo', netns: fifo, ifname: 'eth0' }),
    call({ command: 'ADD', containerId: 'dev', netns: dev, ifname: 'eth0' }),
  ];
  // The good ADDs start once the bad ones are in podwired's hands.
  await new Promise((r) => setTimeout(r, 200));
  const good = pods.map((p, i) => call({ command: 'ADD', containerId: `good${i}`, netns: p.path, ifname: 'eth0' }));
  const [fifoOut, devOut] = await Promise.all(bad);
  for (const [out, kind] of [
    [fifoOut, 'FIFO'],
    [devOut, 'character device'],
  ] as const) {
    assert.equal(out?.exitCode, 1, `${kind}: ${out?.stdout}${out?.stderr}`);
    assert.equal(out?.json?.code, 4, `${kind}: ${out?.stdout}`);
    assert.match(String(out?.json?.details), new RegExp(kind), out?.stdout);
    assert.ok((out?.elapsedMs ?? Infinity) < 5_000, `${kind}: answered after ${out?.elapsedMs} ms`);
  }
  for (const out of await Promise.all(good)) assert.equal(out.exitCode, 0, out.stdout + out.stderr);
  assert.deepEqual(
    readStore(h.server.dbPath)
      .attachments.map((a) => a.container_id)
      .sort(),
    ['good0', 'good1', 'good2'],
  );
  for (const [i, p] of pods.entries()) {
    const del = await call({ command: 'DEL', containerId: `good${i}`, netns: p.path, ifname: 'eth0' });
    assert.equal(del.exitCode, 0, del.stdout);
  }
});

test('the Debug inspector answers for a stored netns path that became a FIFO', async () => {
  const ns = await h.netns.create('dbg');
  // CNI_NETNS as the runtime gave it: a path of its own naming the netns.
  const link = path.join(h.root, 'pod-netns');
  fs.symlinkSync(ns.path, link);
  const add = await call({ command: 'ADD', containerId: 'dbg', netns: link, ifname: 'eth0', args: 'K8S_POD_NAMESPACE=fifo-ns;K8S_POD_NAME=fifo-pod' });
  assert.equal(add.exitCode, 0, add.stdout + add.stderr);
  // The netns goes and a FIFO takes its path: the stored attachment now names the FIFO.
  await h.netns.remove(ns.name);
  fs.rmSync(link);
  await mustRun('mkfifo', [link]);
  const r = await runCommand(process.execPath, [CTL, 'pod', 'fifo-ns/fifo-pod', '-o', 'json'], {
    env: { PATH: process.env.PATH ?? '', PODWIRE_SOCKET: h.server.socket },
    timeoutMs: 10_000,
  });
  assert.equal(r.code, 0, `podwirectl pod: ${r.stdout}${r.stderr}`);
  const doc = JSON.parse(r.stdout) as { podLink: { present: boolean; detail?: string } };
  assert.equal(doc.podLink.present, false);
  assert.match(r.stdout, /FIFO/);
  const del = await call({ command: 'DEL', containerId: 'dbg', netns: link, ifname: 'eth0' });
  assert.equal(del.exitCode, 0, del.stdout);
});

test('SIGTERM stops podwired promptly after all of it', async () => {
  const t0 = performance.now();
  const code = await h.server.stop();
  assert.equal(code, 0);
  assert.ok(performance.now() - t0 < 10_000, `stopping took ${Math.round(performance.now() - t0)} ms`);
});
