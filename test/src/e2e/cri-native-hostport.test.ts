import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { E2eHarness } from '../lib/e2e-harness';
import { mustRun } from '../lib/run-command';
import { REPO_ROOT } from '../lib/paths';
import { readStore } from '../lib/store-rows';
import { ContainerdProcess, ContainerdUnavailable } from '../lib/cri/containerd-process';
import { PAUSE_IMAGE, buildPauseImage, installPodwire, linkReferencePlugins, networkReady, sandboxConfig } from '../lib/cri/cri-node';
import { eventually } from '../lib/eventually';
import { freeLoopbackPort, readFromLoopback } from '../lib/loopback';
import { SkipReason } from '../lib/skip-reason';

/*
 * A CRI sandbox with a port mapping (what kubelet sends for a hostPort) through containerd
 * 1.6's CRI plugin and the shipped conflist (deploy/10-podwire.conflist: podwire alone, with
 * the portMappings capability), its ranges and socket set for this test: podwire maps the port
 * in its own nftables table, and StopPodSandbox unmaps it. Skips only where containerd cannot
 * run at all, with containerd's own error.
 *
 * Traffic: 127.0.0.1 into the sandbox containerd made for this test.
 */

const NET = `pwcrin${process.pid}`;
const SUBNET = '10.214.0.0/24';
const CONTAINER_PORT = 8080;

let h: E2eHarness | undefined;
let cd: ContainerdProcess | undefined;
const skip = new SkipReason();
let hostPort = 0;
const listeners: ChildProcess[] = [];

before(async () => {
  h = await E2eHarness.start('crin', { startServer: false });
  await h.server.start();
  cd = ContainerdProcess.create(`pwcrin${process.pid}`, { sandboxImage: PAUSE_IMAGE, networks: [NET] });
  try {
    await cd.start();
  } catch (e) {
    if (!(e instanceof ContainerdUnavailable)) throw e;
    skip.reason = e.message;
    return;
  }
  await cd.importImage(await buildPauseImage(cd.dir));
  linkReferencePlugins(cd, ['loopback']);
  const shipped = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'deploy', '10-podwire.conflist'), 'utf8')) as { plugins: Array<Record<string, unknown>> };
  assert.equal(shipped.plugins.length, 1, 'the shipped conflist holds podwire alone');
  await installPodwire(cd, { ...shipped, name: NET, plugins: [{ ...shipped.plugins[0], socket: h.server.socket, ipam: { ranges: [[{ subnet: SUBNET }]] } }] });
  await networkReady(cd);
  hostPort = await freeLoopbackPort(18400);
});

after(async () => {
  for (const l of listeners) l.kill('SIGKILL');
  let problems: string[] = [];
  try {
    problems = (await cd?.cleanup()) ?? [];
  } finally {
    await h?.cleanup();
  }
  assert.deepEqual(problems, [], 'containerd cleanup left these behind');
});

async function podwireTable(): Promise<string> {
  assert.ok(h);
  const [table] = h.server.nftTables();
  assert.ok(table, 'podwired logged its table');
  return mustRun('nft', ['list', 'table', ...table.split(' ')]);
}

test('a CRI sandbox port mapping answers on 127.0.0.1 through podwire alone; StopPodSandbox unmaps it', async (t) => {
  if (skip.skipped(t) || !cd || !h) return;
  const config = sandboxConfig(cd, 'web', { port_mappings: [{ protocol: 'TCP', container_port: CONTAINER_PORT, host_port: hostPort, host_ip: '127.0.0.1' }] });
  const id = await cd.client.runPodSandbox(config);
  const ip = (await cd.client.podSandboxStatus(id)).status.network?.ip ?? '';
  assert.match(ip, /^10\.214\.0\.\d+$/);
  const att = readStore(h.server.dbPath).attachments.find((a) => a.container_id === id);
  assert.ok(att);
  assert.deepEqual(
    (JSON.parse(att.result ?? '{}') as { portMappings?: unknown }).portMappings,
    [{ protocol: 'tcp', hostPort, containerPort: CONTAINER_PORT, hostIP: '127.0.0.1', podIP: ip }],
    'the stored result carries what was mapped',
  );
  assert.match(await podwireTable(), new RegExp(`tcp \\. 127\\.0\\.0\\.1 \\. ${hostPort} : ${ip.replace(/\./g, '\\.')} `));
  const server = `require('net').createServer((s) => s.end('pong-native\\n')).listen(${CONTAINER_PORT}, '0.0.0.0')`;
  const l = spawn('nsenter', [`--net=${att.netns}`, '--', process.execPath, '-e', server], { stdio: 'ignore' });
  listeners.push(l);
  assert.equal(await eventually(() => readFromLoopback(hostPort), 10_000, 100), 'pong-native\n');
  l.kill('SIGKILL');
  await cd.client.stopPodSandbox(id);
  assert.doesNotMatch(await podwireTable(), new RegExp(`${ip.replace(/\./g, '\\.')} `), 'DEL unmapped it');
  await cd.client.removePodSandbox(id);
});
