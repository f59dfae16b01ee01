import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type IpAddrInfo, type IpRoute, ipJson } from '../lib/netns';
import { SHIM_BINARY } from '../lib/paths';
import { runCommand } from '../lib/run-command';
import { readStore } from '../lib/store-rows';
import { ContainerdProcess, ContainerdUnavailable } from '../lib/cri/containerd-process';
import { PAUSE_IMAGE, buildPauseImage, linkReferencePlugins, networkReady, sandboxConfig } from '../lib/cri/cri-node';
import { type RenderedContainer, type RenderedPod, renderDaemonSet } from '../lib/cri/daemonset-render';
import { DOCKERFILE, NODE_IMAGE, buildNodeImage, dockerfileRuntimeLayout, imageContents } from '../lib/cri/node-image';
import { SkipReason } from '../lib/skip-reason';

/*
 * podwire's own image and the DaemonSet's containers, run for real through containerd's CRI:
 * the image is built from this checkout without a registry (scripts/build-node-image.sh) and
 * imported into a private containerd; the DaemonSet (deploy/kubernetes, rendered by
 * daemonset-render.ts) runs as kubelet would run it: a host-network, host-PID sandbox, the
 * install-cni init container writing into the CNI dirs containerd reads, then podwired with
 * the manifest's mounts, privileges and probe command. Pod sandboxes created afterwards are
 * wired by that containerized podwired. Pod netns are in /var/run/netns/cni-* as on a node.
 *
 * The test's node differs from a real one only in where hostPaths point (the CNI dirs of its
 * containerd, a private /run/podwire and /var/lib/podwire) and in the ConfigMap it renders:
 * its own network name, the conflist's socket at that private /run/podwire, static pod CIDR
 * and no peers (no API server here), no metrics port (host network, shared host).
 *
 * Traffic: sandbox ↔ sandbox (netns containerd made for this test).
 */

const NET = `pwimg${process.pid}`;
const SUBNET = '10.219.0.0/24';
const NODE_NAME = `pwnode${process.pid}`;

let cd: ContainerdProcess | undefined;
const skip = new SkipReason();
let archive = '';
let rendered: RenderedPod | undefined;
let hostRun = '';
let hostState = '';
let dsSandbox = '';
const containerIds = new Map<string, string>();

function node(): ContainerdProcess {
  assert.ok(cd);
  return cd;
}

function pod(): RenderedPod {
  assert.ok(rendered);
  return rendered;
}

function container(list: RenderedContainer[], name: string): RenderedContainer {
  const c = list.find((x) => x.name === name);
  assert.ok(c, `the DaemonSet has container ${name}`);
  return c;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function containerLog(name: string): string {
  const p = path.join(node().dir, 'ds-logs', name, '0.log');
  return fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : '';
}

/** podwired's JSON log records, from the CRI log of its container ("<time> <stream> <tag> <json>"). */
function podwiredRecords(): Array<Record<string, unknown>> {
  return containerLog('podwired')
    .split('\n')
    .flatMap((line) => {
      const json = line.slice(line.indexOf('{'));
      try {
        return line.includes('{') ? [JSON.parse(json) as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
}

/**
 * The inet nftables tables the containerized podwired made in the host netns: its own
 * `podwire-<owner>` and whatever it logged writing. They outlive podwired by design (pods
 * keep their egress across restarts), and the harness's cleanup knows only the podwireds it
 * started itself, so this test deletes them.
 */
function podwiredTables(): string[] {
  const records = podwiredRecords();
  const owners = records.filter((r) => typeof r.owner === 'string').map((r) => `podwire-${r.owner as string}`);
  const written = records.filter((r) => r.msg === 'egress: nftables table written' && typeof r.table === 'string').map((r) => r.table as string);
  return [...new Set([...owners, ...written])];
}

/** The names of the host netns's inet nftables tables. */
async function hostInetTables(): Promise<string[]> {
  const r = await runCommand('nft', ['-j', 'list', 'tables', 'inet']);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { nftables: Array<{ table?: { name: string } }> };
  return doc.nftables.flatMap((e) => (e.table ? [e.table.name] : []));
}

async function deletePodwiredTables(): Promise<void> {
  const present = await hostInetTables();
  for (const t of podwiredTables()) if (present.includes(t)) await runCommand('nft', ['delete', 'table', 'inet', t]);
}

function cgroupV2(): boolean {
  return fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
}

/** A container's cgroup file: v1 `<controller>/<parent>/<id>/<v1file>`, or v2 `<parent>/<id>/<v2file>`. */
function cgroupValue(containerId: string, controller: string, v1file: string, v2file: string): string {
  const dir = cgroupV2()
    ? path.join('/sys/fs/cgroup', node().cgroupParent, containerId)
    : path.join('/sys/fs/cgroup', controller, node().cgroupParent, containerId);
  return fs.readFileSync(path.join(dir, cgroupV2() ? v2file : v1file), 'utf8').trim();
}

async function createAndStart(c: RenderedContainer): Promise<string> {
  const client = node().client;
  const id = await client.createContainer(dsSandbox, c.config, pod().sandbox);
  containerIds.set(c.name, id);
  await client.startContainer(id);
  return id;
}

before(async () => {
  cd = ContainerdProcess.create(`pwimg${process.pid}`, { sandboxImage: PAUSE_IMAGE, networks: [NET], netnsUnderStateDir: false });
  try {
    await cd.start();
  } catch (e) {
    if (!(e instanceof ContainerdUnavailable)) throw e;
    skip.reason = e.message;
    return;
  }
  archive = await buildNodeImage(cd.dir);
  await cd.importImage(archive);
  await cd.importImage(await buildPauseImage(cd.dir));
  linkReferencePlugins(cd, ['loopback']);
  // /var/run/netns as iproute2 sets it up (a shared mount), which HostToContainer needs
  await runCommand('ip', ['netns', 'add', `${NET}-pin`]);
  await runCommand('ip', ['netns', 'del', `${NET}-pin`]);
  hostRun = path.join(cd.dir, 'host', 'run', 'podwire');
  hostState = path.join(cd.dir, 'host', 'var', 'lib', 'podwire');
  const c = cd;
  rendered = renderDaemonSet({
    nodeName: NODE_NAME,
    hostPaths: {
      '/opt/cni/bin': c.layout.cniBinDir,
      '/etc/cni/net.d': c.layout.cniConfDir,
      '/run/podwire': hostRun,
      '/var/lib/podwire': hostState,
      // the same directory by its real path: /var/run is a symlink, and containerd checks
      // the propagation of the mount it finds for the path it is given
      '/var/run/netns': fs.realpathSync('/var/run/netns'),
    },
    configDir: path.join(cd.dir, 'configmap'),
    editConfig: (key, value) => {
      const j = JSON.parse(value) as Record<string, any>;
      if (key.endsWith('.conflist')) {
        j.name = NET;
        for (const p of j.plugins as Record<string, unknown>[]) if (p.type === 'podwire') p.socket = path.join(hostRun, 'podwire.sock');
      } else {
        j.peers = { source: 'none' };
        j.node = { podCIDRs: [SUBNET] };
        j.logLevel = 'debug';
        delete j.metrics;
      }
      return JSON.stringify(j, null, 2);
    },
    cgroupParent: cd.cgroupParent,
    logDirectory: path.join(cd.dir, 'ds-logs'),
  });
  fs.mkdirSync(path.join(cd.dir, 'ds-logs'), { recursive: true });
});

after(async () => {
  // (podwired's container is gone by now, or goes with containerd; its table stays: delete it.)
  const problems = (await cd?.cleanup()) ?? [];
  if (cd) await deletePodwiredTables();
  assert.deepEqual(problems, [], 'containerd cleanup left these behind');
});

test("the image built without a registry holds deploy/Dockerfile's runtime layout and entrypoint", async (t) => {
  if (skip.skipped(t)) return;
  const want = dockerfileRuntimeLayout(fs.readFileSync(DOCKERFILE, 'utf8'));
  assert.ok(want.paths.length >= 10, JSON.stringify(want));
  const got = await imageContents(archive, path.join(node().dir, 'image-scratch'));
  assert.deepEqual(
    want.paths.filter((p) => !got.paths.has(p)),
    [],
    'every COPY destination and link of the Dockerfile is in the image',
  );
  assert.deepEqual(got.config.Entrypoint, want.entrypoint);
  assert.equal(got.config.WorkingDir, want.workdir);
  assert.ok(await node().client.imageId(NODE_IMAGE), `${NODE_IMAGE} is in containerd's CRI image store`);
});

test("the DaemonSet's init container installs the shim and the conflist into the CNI dirs containerd reads", async (t) => {
  if (skip.skipped(t)) return;
  const p = pod();
  assert.deepEqual(p.sandbox.linux?.security_context?.namespace_options, { network: 'NODE', pid: 'NODE', ipc: 'POD' });
  dsSandbox = await node().client.runPodSandbox(p.sandbox);
  const init = container(p.initContainers, 'install-cni');
  const id = await createAndStart(init);
  const st = await waitFor(
    'install-cni exits',
    async () => {
      const s = await node().client.containerStatus(id);
      return s.state === 'CONTAINER_EXITED' ? s : undefined;
    },
    30_000,
  );
  assert.equal(st.exit_code, 0, `install-cni: ${st.reason} ${st.message}\n${containerLog('install-cni')}`);
  assert.match(containerLog('install-cni'), /installed \/host\/opt\/cni\/bin\/podwire and \/host\/etc\/cni\/net.d\/10-podwire.conflist/);
  const shim = path.join(node().layout.cniBinDir, 'podwire');
  assert.ok(fs.readFileSync(shim).equals(fs.readFileSync(SHIM_BINARY)), "the image's shim is this build's");
  assert.equal(fs.statSync(shim).mode & 0o777, 0o755);
  assert.equal(fs.readFileSync(path.join(node().layout.cniConfDir, '10-podwire.conflist'), 'utf8'), p.configMapFiles['10-podwire.conflist']);
});

test("podwired runs in the DaemonSet's container and its probes' command reports SERVING", async (t) => {
  if (skip.skipped(t)) return;
  const c = container(pod().containers, 'podwired');
  const probe = c.probes.startupProbe;
  assert.ok(probe && c.probes.readinessProbe && c.probes.livenessProbe, 'the manifest has exec probes');
  const id = await createAndStart(c);
  const out = await waitFor(
    'the startup probe succeeds',
    async () => {
      const r = await node().client.execSync(id, probe, 10);
      return r.exit_code === 0 ? r : undefined;
    },
    30_000,
  );
  assert.match(out.stdout.toString('utf8'), /SERVING/);
  for (const kind of ['readinessProbe', 'livenessProbe']) {
    const r = await node().client.execSync(id, c.probes[kind] ?? [], 10);
    assert.equal(r.exit_code, 0, `${kind}: ${r.stdout.toString()}${r.stderr.toString()}`);
  }
  assert.equal((await node().client.containerStatus(id)).state, 'CONTAINER_RUNNING');
  assert.match(containerLog('podwired'), /"msg":"podwired serving"/);
  assert.ok(fs.existsSync(path.join(hostRun, 'podwire.sock')), 'the socket is on the hostPath the shim uses');
  assert.ok(fs.existsSync(path.join(hostState, 'ipam.db')), 'the lease store is on the state hostPath');
  // the manifest's resources, as kubelet would set them, in the kernel's cgroup files
  const res = c.config.linux?.resources;
  assert.equal(res?.memory_limit_in_bytes, 384 * 1024 * 1024, 'limits.memory 384Mi');
  assert.equal(res?.cpu_shares, 102, 'requests.cpu 100m');
  assert.equal(cgroupValue(id, 'memory', 'memory.limit_in_bytes', 'memory.max'), String(384 * 1024 * 1024));
  assert.equal(cgroupValue(id, 'cpu', 'cpu.shares', 'cpu.weight'), cgroupV2() ? String(1 + Math.floor(((102 - 2) * 9999) / 262142)) : '102');
  // host PID: podwired sees the host's processes (this test's own pid)
  const ps = await node().client.execSync(id, ['node', '-e', `process.exit(require('fs').existsSync('/proc/${process.pid}') ? 0 : 3)`], 10);
  assert.equal(ps.exit_code, 0, 'hostPID: the host /proc is visible');
});

test('pod sandboxes created afterwards are wired by the containerized podwired', async (t) => {
  if (skip.skipped(t)) return;
  const c = node();
  await networkReady(c);
  const db = path.join(hostState, 'ipam.db');
  const made: { id: string; ip: string; netns: string; hostIfname: string }[] = [];
  for (const name of ['x', 'y']) {
    const id = await c.client.runPodSandbox(sandboxConfig(c, name));
    const ip = (await c.client.podSandboxStatus(id)).status.network?.ip ?? '';
    const att = readStore(db).attachments.find((a) => a.network === NET && a.container_id === id);
    assert.ok(att, `the containerized podwired recorded sandbox ${name}`);
    assert.equal(att.state, 'ready');
    assert.match(att.netns, /^\/var\/run\/netns\/cni-/, 'containerd pinned the netns in /var/run/netns');
    made.push({ id, ip, netns: att.netns, hostIfname: att.host_ifname });
  }
  for (const m of made) {
    assert.ok(m.ip.startsWith('10.219.0.'), `${m.ip} is from the node's pod CIDR ${SUBNET}`);
    assert.deepEqual(
      readStore(db)
        .leases.filter((l) => l.container_id === m.id)
        .map((l) => l.address),
      [m.ip],
    );
    const r = await runCommand('nsenter', [`--net=${m.netns}`, '--', 'ip', '-j', 'addr', 'show', 'dev', 'eth0']);
    const addrs = (JSON.parse(r.stdout) as IpAddrInfo[]).flatMap((a) => a.addr_info.filter((i) => i.family === 'inet').map((i) => i.local));
    assert.deepEqual(addrs, [m.ip]);
    assert.equal((await ipJson<IpRoute>(['route', 'show', `${m.ip}/32`]))[0]?.dev, m.hostIfname);
  }
  const [x, y] = made;
  assert.ok(x && y);
  const ping = await runCommand('nsenter', [`--net=${x.netns}`, '--', 'ping', '-c', '2', '-i', '0.2', '-W', '2', y.ip], { timeoutMs: 20_000 });
  assert.equal(ping.code, 0, ping.stdout + ping.stderr);

  for (const m of made) {
    await c.client.stopPodSandbox(m.id);
    await c.client.removePodSandbox(m.id);
    assert.deepEqual(
      readStore(db).leases.filter((l) => l.container_id === m.id),
      [],
    );
    assert.deepEqual(await ipJson<IpRoute>(['route', 'show', `${m.ip}/32`]), []);
    assert.equal(fs.existsSync(m.netns), false, `${m.netns} removed`);
  }
});

let podwiredExit: number | undefined;

test('StopContainer ends podwired (SIGTERM) and removing the DaemonSet pod leaves nothing', async (t) => {
  if (skip.skipped(t)) return;
  const c = node();
  const id = containerIds.get('podwired');
  assert.ok(id);
  await c.client.stopContainer(id, 30);
  const st = await c.client.containerStatus(id);
  assert.equal(st.state, 'CONTAINER_EXITED');
  podwiredExit = st.exit_code;
  await c.client.stopPodSandbox(dsSandbox);
  await c.client.removePodSandbox(dsSandbox);
  assert.deepEqual(await c.client.listPodSandbox(), []);
  assert.deepEqual(c.shimPids(), []);
  // The nftables table podwired made in the host netns outlives it (by design): this test
  // deletes it, and then no podwire table of this podwired is left.
  const tables = podwiredTables();
  assert.ok(tables.length > 0, 'podwired logged its owner tag');
  const present = await hostInetTables();
  assert.ok(
    tables.some((t) => present.includes(t)),
    `podwired's table (${tables.join(', ')}) is in the host netns after it stopped: ${present.join(', ')}`,
  );
  await deletePodwiredTables();
  assert.deepEqual(
    (await hostInetTables()).filter((t) => t.startsWith('podwire-') && tables.includes(t)),
    [],
    'no podwire nftables table of this podwired is left',
  );
});

// After CRI sandboxes were wired and torn down, podwired used to abort on SIGTERM (exit 134,
// "terminate called after throwing an instance of 'Napi::Error'"): its workers were
// terminated with their netlink sockets open. They now close them and exit by themselves.
test('podwired exits 0 on SIGTERM', (t) => {
  if (skip.skipped(t)) return;
  assert.equal(podwiredExit, 0, containerLog('podwired').slice(-1500));
});
