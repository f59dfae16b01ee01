import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { E2eHarness } from '../lib/e2e-harness';
import { mustRun, runCommand } from '../lib/run-command';
import { SHIM_BINARY } from '../lib/paths';
import { PodmanEnv, checkPodmanPrerequisites } from '../lib/podman-env';
import { eventually } from '../lib/eventually';
import { freeLoopbackPort, readFromLoopback } from '../lib/loopback';
import { SkipReason } from '../lib/skip-reason';

/*
 * podman `-p` on a network whose conflist holds podwire alone, declaring the portMappings
 * capability: podman hands the published port to podwire, which maps it in its own nftables
 * table (no portmap plugin, no iptables rule). Skips (with the reason) where podman cannot run.
 *
 * Traffic: 127.0.0.1 into the container this test created through podman.
 */

const NET = `pwnat${process.pid}`;
const SUBNET = '10.208.0.0/24';
const A = `pwn${process.pid}-a`;
const CONTAINER_PORT = 8080;

let h: E2eHarness | undefined;
let pe: PodmanEnv | undefined;
const skip = new SkipReason();
let hostPort = 18300;

before(async () => {
  skip.reason = await checkPodmanPrerequisites();
  if (skip.reason) return;
  h = await E2eHarness.start('podman-nat', { startServer: false });
  await h.server.start();
  hostPort = await freeLoopbackPort(18300);
  const prepared = await PodmanEnv.prepare({
    root: h.root,
    shimBinary: SHIM_BINARY,
    socket: h.server.socket,
    conflist: {
      cniVersion: '1.0.0',
      name: NET,
      plugins: [{ type: 'podwire', socket: h.server.socket, capabilities: { portMappings: true }, ipam: { ranges: [[{ subnet: SUBNET }]] } }],
    },
  });
  pe = prepared.env;
  if ('skip' in prepared) skip.reason = prepared.skip;
});

after(async () => {
  try {
    const problems = (await pe?.cleanup()) ?? [];
    if (problems.length > 0) console.error(`podman cleanup: ${problems.join('; ')}`);
  } finally {
    await h?.cleanup();
  }
});

async function podwireTable(): Promise<string> {
  assert.ok(h);
  const [table] = h.server.nftTables();
  assert.ok(table, 'podwired logged its table');
  return mustRun('nft', ['list', 'table', ...table.split(' ')]);
}

test('podman -p 127.0.0.1:<port>:8080 reaches the container through podwire alone; rm closes the port', async (t) => {
  if (skip.skipped(t) || !pe) return;
  await pe.mustPodman([
    'run',
    '-d',
    '--name',
    A,
    '--network',
    NET,
    '-p',
    `127.0.0.1:${hostPort}:${CONTAINER_PORT}`,
    '--rootfs',
    pe.rootfs,
    '/bin/sh',
    '-c',
    `while true; do nc -l -p ${CONTAINER_PORT} -e echo pong-native; done`,
  ]);
  const ipA = await pe.ipOf(A);
  assert.match(ipA, /^10\.208\.0\.\d+$/);
  assert.match(
    await podwireTable(),
    new RegExp(`tcp \\. 127\\.0\\.0\\.1 \\. ${hostPort} : ${ipA.replace(/\./g, '\\.')} `),
    'podwire mapped the published port',
  );
  const nat = (await runCommand('iptables', ['-w', '-t', 'nat', '-S'])).stdout;
  assert.ok(!nat.includes(`${ipA}:${CONTAINER_PORT}`), 'no portmap rule: podwire did it');
  assert.equal(await eventually(() => readFromLoopback(hostPort)), 'pong-native\n');

  await pe.mustPodman(['rm', '-f', '-t', '0', A]);
  assert.doesNotMatch(await podwireTable(), new RegExp(ipA.replace(/\./g, '\\.')), 'DEL unmapped it');
  await assert.rejects(readFromLoopback(hostPort), 'the port is closed');
});
