import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { E2eHarness } from '../lib/e2e-harness';
import { type IpAddrInfo, type IpLink, type IpRoute, ipJson } from '../lib/netns';
import { runCommand } from '../lib/run-command';
import { type AttachmentRow, readStore } from '../lib/store-rows';
import { ContainerdProcess, ContainerdUnavailable } from '../lib/cri/containerd-process';
import { PAUSE_IMAGE, buildPauseImage, installPodwire, linkReferencePlugins, networkReady, sandboxConfig } from '../lib/cri/cri-node';
import type { PodSandboxConfig } from '../lib/cri/cri-client';
import { cgroupDirs } from '../lib/cri/host-leftovers';
import { eventually } from '../lib/eventually';
import { freeLoopbackPort, readFromLoopback } from '../lib/loopback';
import { SkipReason } from '../lib/skip-reason';

/*
 * The Kubernetes node path: containerd 1.6's CRI plugin (what kubelet drives) runs podwire.
 * A private containerd whose CNI dirs deploy/install.sh filled, the pause image built
 * offline from test/cri-image/pause.c, and a CRI client of the test's own (runtime.v1)
 * playing kubelet: RunPodSandbox → containerd makes the netns and runs loopback, then the
 * conflist podwire → portmap; StopPodSandbox and RemovePodSandbox run DEL.
 * Skips only where containerd cannot run at all, with containerd's own error.
 *
 * Traffic: sandbox ↔ sandbox (netns containerd made for this test) and 127.0.0.1.
 */

const NET = `pwcri${process.pid}`;
const SUBNET = '10.215.0.0/24';
const CONTAINER_PORT = 8080;

let h: E2eHarness | undefined;
let cd: ContainerdProcess | undefined;
const skip = new SkipReason();
let hostPort = 0;
const listeners: ChildProcess[] = [];

interface Pod {
  name: string;
  config: PodSandboxConfig;
  id: string;
  ip: string;
  netns: string;
  hostIfname: string;
}
const pods = new Map<string, Pod>();

function node(): ContainerdProcess {
  assert.ok(cd, 'containerd is set up');
  return cd;
}

function pod(name: string): Pod {
  const p = pods.get(name);
  assert.ok(p, `sandbox ${name} runs`);
  return p;
}

function harness(): E2eHarness {
  assert.ok(h);
  return h;
}

function attachmentsOf(id: string): AttachmentRow[] {
  return readStore(harness().server.dbPath).attachments.filter((a) => a.network === NET && a.container_id === id);
}

function leasesOf(id: string): string[] {
  return readStore(harness().server.dbPath)
    .leases.filter((l) => l.network === NET && l.container_id === id)
    .map((l) => l.address);
}

/** Runs a command inside a network namespace given by path (containerd's netns are not in /var/run/netns). */
function inNetns(netns: string, file: string, args: string[], timeoutMs = 20_000) {
  return runCommand('nsenter', [`--net=${netns}`, '--', file, ...args], { timeoutMs });
}

async function ipJsonIn<T>(netns: string, args: string[]): Promise<T[]> {
  const r = await inNetns(netns, 'ip', ['-j', ...args]);
  assert.equal(r.code, 0, `ip -j ${args.join(' ')} in ${netns}: ${r.stderr}`);
  return r.stdout.trim() === '' ? [] : (JSON.parse(r.stdout) as T[]);
}

/** What a sandbox can see of its network: eth0's MAC, index and addresses, and its routes. */
async function podView(p: Pod): Promise<{ link: IpLink; addrs: string[]; routes: IpRoute[] }> {
  const link = (await ipJsonIn<IpLink>(p.netns, ['link', 'show', 'dev', 'eth0']))[0];
  assert.ok(link, `eth0 in ${p.name}`);
  const addrs = (await ipJsonIn<IpAddrInfo>(p.netns, ['addr', 'show', 'dev', 'eth0'])).flatMap((a) =>
    a.addr_info.filter((i) => i.family === 'inet').map((i) => `${i.local}/${i.prefixlen}`),
  );
  const routes = await ipJsonIn<IpRoute>(p.netns, ['route', 'show']);
  return { link: { ifname: link.ifname, ifindex: link.ifindex, address: link.address, mtu: link.mtu }, addrs, routes };
}

/** RunPodSandbox, then what the test knows of the sandbox: CRI's IP, podwire's attachment. */
async function runPod(name: string, extra: Partial<PodSandboxConfig> = {}): Promise<Pod> {
  const c = node();
  const config = sandboxConfig(c, name, extra);
  const id = await c.client.runPodSandbox(config);
  const status = await c.client.podSandboxStatus(id);
  assert.equal(status.status.state, 'SANDBOX_READY');
  const [att] = attachmentsOf(id);
  assert.ok(att, `podwire has an attachment for sandbox ${id}`);
  const p: Pod = { name, config, id, ip: status.status.network?.ip ?? '', netns: att.netns, hostIfname: att.host_ifname };
  pods.set(name, p);
  return p;
}

async function stopAndRemove(p: Pod): Promise<void> {
  await node().client.stopPodSandbox(p.id);
  await node().client.removePodSandbox(p.id);
  pods.delete(p.name);
}

async function ping(from: Pod, to: Pod): Promise<void> {
  const r = await inNetns(from.netns, 'ping', ['-c', '2', '-i', '0.2', '-W', '2', to.ip]);
  assert.equal(r.code, 0, `ping ${from.name} → ${to.name} (${to.ip}): ${r.stdout}${r.stderr}`);
}

/** Host state a removed sandbox must not leave: route, host veth, lease, attachment, netns. */
async function assertGone(p: Pod): Promise<void> {
  assert.deepEqual(leasesOf(p.id), [], `${p.name}: lease released`);
  assert.deepEqual(attachmentsOf(p.id), [], `${p.name}: attachment removed`);
  assert.deepEqual(await ipJson<IpRoute>(['route', 'show', `${p.ip}/32`]), [], `${p.name}: host route gone`);
  await eventually(
    async () => {
      const links = await ipJson<IpLink>(['link', 'show']);
      assert.deepEqual(
        links.filter((l) => l.ifname === p.hostIfname),
        [],
        `${p.name}: host veth ${p.hostIfname} destroyed`,
      );
    },
    5_000,
    100,
  );
  assert.equal(fs.existsSync(p.netns), false, `${p.name}: netns ${p.netns} removed`);
}

before(async () => {
  h = await E2eHarness.start('cri', { startServer: false });
  await h.server.start();
  cd = ContainerdProcess.create(`pwcri${process.pid}`, { sandboxImage: PAUSE_IMAGE, networks: [NET] });
  try {
    await cd.start();
  } catch (e) {
    if (!(e instanceof ContainerdUnavailable)) throw e;
    skip.reason = e.message;
    return;
  }
  await cd.importImage(await buildPauseImage(cd.dir));
  linkReferencePlugins(cd, ['loopback', 'portmap']);
  await installPodwire(cd, {
    cniVersion: '1.0.0',
    name: NET,
    plugins: [
      { type: 'podwire', socket: h.server.socket, ipam: { ranges: [[{ subnet: SUBNET }]] } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
  await networkReady(cd);
  hostPort = await freeLoopbackPort(18200);
});

after(async () => {
  for (const l of listeners) l.kill('SIGKILL');
  let problems: string[] = [];
  try {
    problems = (await cd?.cleanup()) ?? [];
  } finally {
    await h?.cleanup();
  }
  // Nothing left behind: shims, shim sockets, cgroups, mounts, libcni cache, the dir.
  assert.deepEqual(problems, [], 'containerd cleanup left these behind');
});

test('two CRI pod sandboxes get podwire addresses that match their netns, and ping each other', async (t) => {
  if (skip.skipped(t)) return;
  const a = await runPod('a', {
    port_mappings: [{ protocol: 'TCP', container_port: CONTAINER_PORT, host_port: hostPort, host_ip: '127.0.0.1' }],
  });
  const b = await runPod('b');
  for (const p of [a, b]) {
    assert.match(p.ip, /^10\.215\.0\.\d+$/, `${p.name}: CRI reports a podwire address`);
    assert.deepEqual(leasesOf(p.id), [p.ip], `${p.name}: podwire leased exactly CRI's address, under the sandbox id`);
    const [att] = attachmentsOf(p.id);
    assert.equal(att?.state, 'ready');
    assert.equal(att?.ifname, 'eth0');
    assert.equal(att?.pod_name, p.name, 'containerd passed K8S_POD_NAME');
    assert.equal(att?.pod_namespace, 'podwire-test');
    assert.ok(p.netns.startsWith(node().dir), `${p.name}: netns ${p.netns} is containerd's, under its state dir`);
    assert.deepEqual((await podView(p)).addrs, [`${p.ip}/32`], `${p.name}: eth0 in the sandbox's netns holds CRI's address`);
    const routes = await ipJson<IpRoute>(['route', 'show', `${p.ip}/32`]);
    assert.equal(routes.length, 1, JSON.stringify(routes));
    assert.equal(routes[0]?.dev, p.hostIfname, `${p.name}: host route into its veth`);
  }
  assert.notEqual(a.ip, b.ip);
  // the sandboxes run under the test's cgroup parent (cgroupfs, no systemd)
  const cgroups = cgroupDirs(node().cgroupParent);
  assert.ok(cgroups.length > 0 && cgroups.every((d) => fs.readdirSync(d).includes(a.id)), `sandbox cgroups under ${node().cgroupParent}`);
  await ping(a, b);
  await ping(b, a);
});

test('a hostPort mapping through CRI (portmap chained after podwire) answers on 127.0.0.1', async (t) => {
  if (skip.skipped(t)) return;
  const a = pod('a');
  const nat = (await runCommand('iptables', ['-w', '-t', 'nat', '-S'])).stdout.split('\n');
  assert.ok(
    nat.some((l) => l.includes(`--dport ${hostPort} `) && l.includes(`--to-destination ${a.ip}:${CONTAINER_PORT}`)),
    `portmap DNAT ${hostPort} → ${a.ip}:${CONTAINER_PORT}:\n${nat.join('\n')}`,
  );
  const server = `require('net').createServer((s) => s.end('pong-from-a\\n')).listen(${CONTAINER_PORT}, '0.0.0.0')`;
  const l = spawn('nsenter', [`--net=${a.netns}`, '--', process.execPath, '-e', server], { stdio: 'ignore' });
  listeners.push(l);
  try {
    assert.equal(await eventually(() => readFromLoopback(hostPort), 10_000, 100), 'pong-from-a\n');
  } finally {
    l.kill('SIGKILL');
  }
});

test('podwired SIGKILL + restart with sandboxes up changes nothing they can see', async (t) => {
  if (skip.skipped(t)) return;
  const a = pod('a');
  const b = pod('b');
  const before = { a: await podView(a), b: await podView(b) };
  const rowsBefore = readStore(harness().server.dbPath);
  await harness().server.kill();
  await harness().server.start();
  assert.deepEqual({ a: await podView(a), b: await podView(b) }, before, 'eth0, addresses and routes as before');
  const rowsAfter = readStore(harness().server.dbPath);
  assert.deepEqual(rowsAfter.leases, rowsBefore.leases);
  assert.deepEqual(rowsAfter.attachments, rowsBefore.attachments);
  for (const p of [a, b]) assert.equal((await ipJson<IpRoute>(['route', 'show', `${p.ip}/32`]))[0]?.dev, p.hostIfname);
  await ping(a, b);
  // CRI still sees them as before
  for (const p of [a, b]) assert.equal((await node().client.podSandboxStatus(p.id)).status.network?.ip, p.ip);
});

test('StopPodSandbox + RemovePodSandbox leave no veth, route, lease or netns', async (t) => {
  if (skip.skipped(t)) return;
  const b = pod('b');
  await node().client.stopPodSandbox(b.id);
  assert.deepEqual(leasesOf(b.id), [], 'stop ran DEL: lease released');
  assert.deepEqual(await ipJson<IpRoute>(['route', 'show', `${b.ip}/32`]), []);
  await stopAndRemove(b);
  await assertGone(b);
  assert.deepEqual(leasesOf(pod('a').id), [pod('a').ip], 'the other sandbox keeps its lease');
});

test('containerd SIGKILL + restart with a sandbox up: it keeps its IP and tears down cleanly', async (t) => {
  if (skip.skipped(t)) return;
  const c = node();
  const a = pod('a');
  const view = await podView(a);
  const shimsBefore = c.shimPids();
  assert.ok(shimsBefore.length > 0, 'a runc shim runs the sandbox');
  await c.kill();
  assert.deepEqual(c.shimPids(), shimsBefore, 'the shim outlives containerd');
  await c.start();
  await networkReady(c);
  const status = await c.client.podSandboxStatus(a.id);
  assert.equal(status.status.state, 'SANDBOX_READY');
  assert.equal(status.status.network?.ip, a.ip, 'CRI reports the same address after its restart');
  assert.deepEqual(await podView(a), view);
  assert.deepEqual(leasesOf(a.id), [a.ip]);

  // a new sandbox after the restart is wired too, and reaches the old one
  const d = await runPod('d');
  assert.notEqual(d.ip, a.ip);
  await ping(d, a);

  for (const p of [a, d]) {
    await stopAndRemove(p);
    await assertGone(p);
  }
  assert.deepEqual(await c.client.listPodSandbox(), []);
  assert.deepEqual(c.shimSockets(), [], 'no shim socket left in /run/containerd/s');
  assert.deepEqual(c.shimPids(), [], 'no shim left');
  assert.deepEqual(
    readStore(harness().server.dbPath).leases.filter((l) => l.network === NET),
    [],
  );
});
