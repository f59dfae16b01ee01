import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type IpLink, ipJson } from '../lib/netns';
import { SHIM_BINARY } from '../lib/paths';
import { PodwiredProcess } from '../lib/podwired-process';
import { runCommand } from '../lib/run-command';
import {
  BENCH_BRIDGE,
  CniDriver,
  type Executor,
  HelperPoolExecutor,
  NetnsPool,
  NodeSpawnExecutor,
  type PluginUnderTest,
  type PodRef,
  bridgePlugin,
  bridgePorts,
  compileExecHelper,
  describeFailure,
  hostLinkExists,
  podwirePlugin,
  ptpPlugin,
} from './cni-driver';

// The benchmark's driver on 3 pods per configuration, asserting what the kernel shows, so the
// driver cannot silently rot. Addresses come from the top of each bench subnet (x.x.255.0/24)
// so a benchmark running at the same time never gets the same ones.
const HAVE_REFERENCE = fs.existsSync('/usr/lib/cni/bridge') && fs.existsSync('/usr/lib/cni/ptp') && fs.existsSync('/usr/lib/cni/host-local');
const SKIP = HAVE_REFERENCE ? false : 'reference CNI plugins absent (/usr/lib/cni/bridge): apt-get install containernetworking-plugins';
const PODS = 3;

let root: string;
let pool: NetnsPool;
let server: PodwiredProcess;
let exec: Executor;
let bridgeExisted = false;

before(async () => {
  if (!HAVE_REFERENCE) return;
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'pwb-test-'));
  pool = new NetnsPool(`pwb-${process.pid}-t`);
  bridgeExisted = hostLinkExists(BENCH_BRIDGE);
  await pool.ensure(PODS);
  server = PodwiredProcess.inTempDir(root);
  await server.start();
  try {
    exec = new HelperPoolExecutor(await compileExecHelper(root));
  } catch {
    exec = new NodeSpawnExecutor();
  }
});

after(async () => {
  if (!HAVE_REFERENCE) return;
  await exec?.close();
  await pool?.cleanup();
  await server?.stop();
  if (!bridgeExisted && hostLinkExists(BENCH_BRIDGE) && bridgePorts(BENCH_BRIDGE).length === 0) {
    await runCommand('ip', ['link', 'del', BENCH_BRIDGE]);
  }
  fs.rmSync(root, { recursive: true, force: true });
});

const top = (prefix: string) => ({ rangeStart: `${prefix}.255.1`, rangeEnd: `${prefix}.255.254` });

async function podLinks(ns: string): Promise<string[]> {
  return (await ipJson<IpLink>(['link', 'show'], ns)).map((l) => l.ifname);
}

async function exercise(plugin: PluginUnderTest, short: string): Promise<void> {
  const d = new CniDriver(plugin, exec);
  const pods: PodRef[] = Array.from({ length: PODS }, (_, i) => ({
    containerId: `pwbt-${process.pid}-${short}-${i}`,
    netnsPath: pool.path(i),
    ifname: 'eth0',
    podName: `pwbt-${short}-${i}`,
  }));
  const results: unknown[] = [];
  for (const [i, p] of pods.entries()) {
    const add = await d.add(p);
    assert.equal(add.status, 0, `${plugin.label} ADD: ${describeFailure(add)}`);
    assert.ok(add.ok && add.error === undefined);
    assert.ok(add.elapsedMs > 0);
    const ips = (add.json?.ips ?? []) as Array<{ address: string }>;
    assert.equal(ips.length, 1, JSON.stringify(add.json));
    results.push(add.json);
    assert.ok((await podLinks(pool.name(i))).includes('eth0'), `${plugin.label}: eth0 exists in ${pool.name(i)} after ADD`);
  }
  for (const [i, p] of pods.entries()) {
    const check = await d.check(p, results[i]);
    assert.equal(check.status, 0, `${plugin.label} CHECK: ${describeFailure(check)}`);
  }
  // A second ADD of the same pod must fail with a CNI error on stdout and a non-zero exit.
  const again = await d.add(pods[0] as PodRef);
  assert.notEqual(again.status, 0, `${plugin.label}: a second ADD into a netns that has eth0 must fail`);
  assert.equal(again.ok, false);
  assert.equal(typeof again.error?.msg, 'string');
  for (const [i, p] of pods.entries()) {
    const del = await d.del(p, results[i]);
    assert.equal(del.status, 0, `${plugin.label} DEL: ${describeFailure(del)}`);
    // podwire destroys the detached pair in the background, within a second.
    let links = await podLinks(pool.name(i));
    for (const until = Date.now() + 10_000; links.includes('eth0') && Date.now() < until; links = await podLinks(pool.name(i)))
      await new Promise((r) => setTimeout(r, 20));
    assert.ok(!links.includes('eth0'), `${plugin.label}: eth0 gone from ${pool.name(i)} after DEL`);
  }
}

test('driver: bridge + host-local ADD/CHECK/DEL on 3 pods', { skip: SKIP }, async () => {
  await exercise(bridgePlugin(path.join(root, 'host-local'), top('10.250')), 'br');
});

test('driver: ptp + host-local ADD/CHECK/DEL on 3 pods', { skip: SKIP }, async () => {
  await exercise(ptpPlugin(path.join(root, 'host-local'), top('10.251')), 'ptp');
});

test('driver: podwire shim ADD/CHECK/DEL on 3 pods', { skip: SKIP }, async () => {
  await exercise(podwirePlugin(SHIM_BINARY, server.socket, top('10.252')), 'pw');
});

test('driver: VERSION and STATUS through the shim, both executors agree', { skip: SKIP }, async () => {
  const plugin = podwirePlugin(SHIM_BINARY, server.socket);
  for (const e of [exec, new NodeSpawnExecutor()]) {
    const v = await new CniDriver(plugin, e).version();
    assert.equal(v.status, 0, describeFailure(v));
    assert.ok(Array.isArray(v.json?.supportedVersions), v.stdout);
    const s = await new CniDriver(plugin, e).status();
    assert.equal(s.status, 0, describeFailure(s));
  }
  // A plugin that does not exist is a failed call, not a crash of the driver.
  const missing = await new CniDriver({ ...plugin, binary: path.join(root, 'no-such-plugin') }, exec).version();
  assert.equal(missing.ok, false);
});
