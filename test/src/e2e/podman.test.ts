import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { E2eHarness } from '../lib/e2e-harness';
import { type IpRoute, ipJson } from '../lib/netns';
import { runCommand } from '../lib/run-command';
import { SHIM_BINARY } from '../lib/paths';
import { readStore } from '../lib/store-rows';
import { PodmanEnv, checkPodmanPrerequisites } from '../lib/podman-env';
import { eventually } from '../lib/eventually';
import { freeLoopbackPort, readFromLoopback } from '../lib/loopback';
import { SkipReason } from '../lib/skip-reason';

/*
 * A real container runtime: podman 4 (CNI backend, runc) runs busybox containers on a
 * podwire → portmap network. podman finds the shim as plugin "podwire" in its
 * cni_plugin_dirs, exactly as on a node. Skips (with the reason) where podman cannot run.
 *
 * Traffic: container ↔ container (netns this test created through podman) and 127.0.0.1.
 */

const NET = `pwpod${process.pid}`;
const SUBNET = '10.254.0.0/24';
const A = `pw${process.pid}-a`;
const B = `pw${process.pid}-b`;
const CONTAINER_PORT = 8080;

let h: E2eHarness | undefined;
let pe: PodmanEnv | undefined;
const skip = new SkipReason();
let hostPort = 18000;
const ips = new Map<string, string>();
const ids = new Map<string, string>();

function env(): PodmanEnv {
  assert.ok(pe);
  return pe;
}

function leasesOf(containerId: string): string[] {
  assert.ok(h);
  return readStore(h.server.dbPath)
    .leases.filter((l) => l.network === NET && l.container_id === containerId)
    .map((l) => l.address);
}

before(async () => {
  skip.reason = await checkPodmanPrerequisites();
  if (skip.reason) return;
  // the server is started separately so that after() cleans up even when it fails to start
  h = await E2eHarness.start('podman', { startServer: false });
  await h.server.start();
  hostPort = await freeLoopbackPort(18000);
  const prepared = await PodmanEnv.prepare({
    root: h.root,
    shimBinary: SHIM_BINARY,
    socket: h.server.socket,
    conflist: {
      cniVersion: '1.0.0',
      name: NET,
      plugins: [
        // "socket" too: podman's cleanup processes (run by conmon) need not inherit PODWIRE_SOCKET
        { type: 'podwire', socket: h.server.socket, ipam: { ranges: [[{ subnet: SUBNET }]] } },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
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

test('two podman containers on the podwire network reach each other', async (t) => {
  if (skip.skipped(t)) return;
  const p = env();
  await p.mustPodman([
    'run',
    '-d',
    '--name',
    A,
    '--network',
    NET,
    '-p',
    `127.0.0.1:${hostPort}:${CONTAINER_PORT}`,
    '--rootfs',
    p.rootfs,
    '/bin/sh',
    '-c',
    `while true; do nc -l -p ${CONTAINER_PORT} -e echo pong-from-a; done`,
  ]);
  await p.mustPodman(['run', '-d', '--name', B, '--network', NET, '--rootfs', p.rootfs, '/bin/sleep', '600']);
  for (const c of [A, B]) {
    ips.set(c, await p.ipOf(c));
    ids.set(c, await p.idOf(c));
  }
  const ipA = ips.get(A) ?? '';
  const ipB = ips.get(B) ?? '';
  assert.match(ipA, /^10\.254\.0\.\d+$/);
  assert.match(ipB, /^10\.254\.0\.\d+$/);
  assert.notEqual(ipA, ipB);

  // podwire leased exactly these addresses, under podman's container ids.
  assert.deepEqual(leasesOf(ids.get(A) ?? ''), [ipA]);
  assert.deepEqual(leasesOf(ids.get(B) ?? ''), [ipB]);
  assert.ok(h);
  const atts = readStore(h.server.dbPath).attachments.filter((a) => a.network === NET);
  assert.deepEqual(
    atts.map((a) => [a.container_id, a.ifname, a.state]).sort(),
    [
      [ids.get(A), 'eth0', 'ready'],
      [ids.get(B), 'eth0', 'ready'],
    ].sort(),
  );

  // Network safety: the host routes both addresses into podwire veths before any packet flows.
  for (const ip of [ipA, ipB]) {
    const routes = await ipJson<IpRoute>(['route', 'show', `${ip}/32`]);
    assert.equal(routes.length, 1, JSON.stringify(routes));
    assert.match(routes[0]?.dev ?? '', /^pw[0-9a-f]{12}$/);
  }

  const viaNc = await eventually(async () => {
    const r = await p.podman(['exec', B, 'nc', '-w', '3', ipA, String(CONTAINER_PORT)], 20_000);
    if (!r.stdout.includes('pong-from-a')) throw new Error(`nc from ${B} to ${ipA}:${CONTAINER_PORT}: exit ${r.code} ${r.stdout}${r.stderr}`);
    return r.stdout;
  });
  assert.equal(viaNc.trim(), 'pong-from-a');
  const ping = await p.podman(['exec', A, 'ping', '-c', '2', '-i', '0.2', '-W', '2', ipB], 20_000);
  assert.equal(ping.code, 0, ping.stdout + ping.stderr);
});

test('a published port (-p 127.0.0.1:<port>:8080) reaches the container through portmap', async (t) => {
  if (skip.skipped(t)) return;
  const ipA = ips.get(A);
  assert.ok(ipA, 'container A runs');
  const nat = (await runCommand('iptables', ['-w', '-t', 'nat', '-S'])).stdout.split('\n');
  assert.ok(
    nat.some((l) => l.includes(`--dport ${hostPort} `) && l.includes(`--to-destination ${ipA}:${CONTAINER_PORT}`)),
    `portmap DNAT for ${hostPort} → ${ipA}:${CONTAINER_PORT}:\n${nat.join('\n')}`,
  );
  const reply = await eventually(() => readFromLoopback(hostPort));
  assert.equal(reply, 'pong-from-a\n');
});

test('stopping and removing containers releases their addresses and rules', async (t) => {
  if (skip.skipped(t)) return;
  const p = env();
  const idA = ids.get(A);
  const idB = ids.get(B);
  const ipA = ips.get(A);
  const ipB = ips.get(B);
  assert.ok(idA && idB && ipA && ipB, 'both containers ran');

  await p.mustPodman(['stop', '-t', '0', B]);
  assert.deepEqual(leasesOf(idB), [], `${B} stopped: its lease is released`);
  assert.deepEqual(await ipJson<IpRoute>(['route', 'show', `${ipB}/32`]), []);
  assert.deepEqual(leasesOf(idA), [ipA], `${A} still runs and keeps its lease`);

  await p.mustPodman(['rm', '-f', '-t', '0', A, B]);
  assert.deepEqual(leasesOf(idA), [], `${A} removed: its lease is released`);
  assert.ok(h);
  assert.deepEqual(
    readStore(h.server.dbPath).attachments.filter((a) => a.network === NET),
    [],
  );
  assert.deepEqual(await ipJson<IpRoute>(['route', 'show', `${ipA}/32`]), []);
  const nat = (await runCommand('iptables', ['-w', '-t', 'nat', '-S'])).stdout.split('\n');
  assert.deepEqual(
    nat.filter((l) => l.includes(`${ipA}:`) || l.includes(`-s ${ipA}/32`)),
    [],
    'portmap rules for A are gone',
  );
  assert.equal((await p.mustPodman(['ps', '-a', '-q'])).trim(), '');
});
