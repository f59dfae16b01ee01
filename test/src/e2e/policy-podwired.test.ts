/**
 * NetworkPolicy end to end (issue 22) with a real podwired in a "node" netns, its policy from
 * a file (config "policy": {"source": "file"}), pods wired through the real shim with
 * K8S_POD_NAMESPACE/K8S_POD_NAME in CNI_ARGS, and real TCP between the pods' netns:
 *
 *   node netns: podwired, node address 10.248.0.1, pods on 10.247.0.0/24 (no other test uses them)
 *   namespace x: a (app=web, serves 7100), b (app=client), c (app=other)
 *   policy x/web-ingress: pods app=web admit TCP 7100 from app=client only
 *
 * (a) a probe sent the moment a's ADD returns is refused from c and answered from b; the node
 *     reaches every pod; an ADD of a pod the source does not know fails with 11;
 * (b) the file changed + SIGHUP: the new policy holds;
 * (c) `podwirectl policy why` gives the verdicts the probes observed, naming the policy;
 * (d) `nft flush ruleset` + the resync (SIGHUP runs it at once): the policy objects are back;
 * (e) SIGKILL + restart: the policy objects (and every local pod's elements) are written before
 *     the first ADD is served, nothing duplicated.
 * Traffic only among the test's own netns.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTcpEchoPeer, tcpProbeAnswers } from '../lib/echo-peer-process';
import { TestNetnsSet } from '../lib/netns';
import { REPO_ROOT } from '../lib/paths';
import { PodwiredProcess } from '../lib/podwired-process';
import { mustRun, runCommand } from '../lib/run-command';
import { netConf, runShim } from '../lib/shim';

const NETWORK = 'polnet';
const CONF = netConf(NETWORK, '10.247.0.0/24');
const PORT = 7100;
const NODE_IP = '10.248.0.1';
const CTL = path.join(REPO_ROOT, 'server', 'dist', 'ctl', 'main.js');
const netns = new TestNetnsSet(`pol-${process.pid}`);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-pol-'));
const policyFile = path.join(root, 'policy.yaml');
const peers: ChildProcess[] = [];
let nodeNs = '';
let server: PodwiredProcess;
const pods: Record<string, { ns: string; path: string; ip: string }> = {};

const header = `
apiVersion: v1
kind: Namespace
metadata: { name: x }
---
apiVersion: v1
kind: Pod
metadata: { name: a, namespace: x, labels: { app: web } }
spec: { containers: [{ name: web, ports: [{ name: http, containerPort: ${PORT} }] }] }
---
apiVersion: v1
kind: Pod
metadata: { name: b, namespace: x, labels: { app: client } }
---
apiVersion: v1
kind: Pod
metadata: { name: c, namespace: x, labels: { app: other } }
`;
const policyFrom = (app: string) => `${header}---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: web-ingress, namespace: x }
spec:
  podSelector: { matchLabels: { app: web } }
  ingress:
    - from: [{ podSelector: { matchLabels: { app: ${app} } } }]
      ports: [{ protocol: TCP, port: ${PORT} }]
`;

/** Starts an echo peer in `where`; resolves once it listens. */
const listen = (where: string, name: string): Promise<void> => startTcpEchoPeer(peers, where, PORT, name);

/** One TCP probe from netns `where` (3 s without an answer: refused). */
const probe = (where: string, host: string): Promise<boolean> => tcpProbeAnswers(where, host, PORT);

async function add(name: string, opts: { listen?: boolean } = {}) {
  const pod = await netns.create(name);
  if (opts.listen) await listen(pod.name, name);
  const r = await runShim({
    command: 'ADD',
    containerId: `ctr-${name}`,
    netns: pod.path,
    ifname: 'eth0',
    config: CONF,
    args: `K8S_POD_NAMESPACE=x;K8S_POD_NAME=${name}`,
    env: { PODWIRE_SOCKET: server.socket },
  });
  if (r.exitCode === 0) {
    const ips = (r.json?.ips ?? []) as Array<{ address: string }>;
    const ip = (ips[0]?.address ?? '').split('/')[0] ?? '';
    pods[name] = { ns: pod.name, path: pod.path, ip };
  }
  return r;
}

async function ctl(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCommand(process.execPath, [CTL, '--socket', server.socket, ...args], { env: { PATH: process.env.PATH ?? '' }, timeoutMs: 30_000 });
}

type NftObj = Record<string, Record<string, unknown>>;
async function tableObjects(): Promise<NftObj[]> {
  const [table] = server.nftTables();
  assert.ok(table, 'podwired logged its table');
  const out = await mustRun('ip', ['netns', 'exec', nodeNs, 'nft', '-j', 'list', 'table', ...table.split(' ')]);
  return (JSON.parse(out) as { nftables: NftObj[] }).nftables;
}
/** chain names, and set name -> elements (JSON text, sorted). */
async function policyState(): Promise<{ chains: string[]; sets: Record<string, string[]> }> {
  const objs = await tableObjects();
  // The compiler numbers policies and shared sets anew on every whole write: names compared without them.
  const bare = (name: string) => name.replace(/^np-p\d+-/, 'np-pN-').replace(/^(peer|named)-\d+-/, '$1-N-');
  const chains = objs.flatMap((o) => (o.chain ? [bare(o.chain.name as string)] : [])).sort();
  const sets: Record<string, string[]> = {};
  for (const o of objs) if (o.set) sets[bare(o.set.name as string)] = ((o.set.elem as unknown[]) ?? []).map((e) => JSON.stringify(e)).sort();
  return { chains, sets };
}

async function waitForLog(what: string, since: number, timeoutMs = 10_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = server
      .logRecords()
      .slice(since)
      .find((r) => r.msg === what);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`no log "${what}":\n${server.logs.slice(-20).join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function sighup(): number {
  const since = server.logRecords().length;
  assert.ok(server.pid);
  process.kill(server.pid, 'SIGHUP');
  return since;
}

before(async () => {
  nodeNs = (await netns.create('node')).name;
  await mustRun('ip', ['-n', nodeNs, 'link', 'set', 'lo', 'up']);
  // The node's own address (a real node's InternalIP): what its probes come from.
  await mustRun('ip', ['-n', nodeNs, 'addr', 'add', `${NODE_IP}/32`, 'dev', 'lo']);
  fs.writeFileSync(policyFile, policyFrom('client'));
  fs.mkdirSync(path.join(root, 'node'), { recursive: true, mode: 0o700 });
  server = PodwiredProcess.inTempDir(path.join(root, 'node'), { netns: nodeNs, config: { policy: { source: 'file', file: policyFile } } });
  await server.start();
});

after(async () => {
  for (const p of peers) p.kill('SIGKILL');
  await server?.stop();
  server?.deleteNftTables();
  await netns.cleanup();
  fs.rmSync(root, { recursive: true, force: true });
});

test('(a) in force the moment ADD returns: c refused, b answered, the node reaches every pod; an unknown pod is 11', { timeout: 60_000 }, async () => {
  assert.equal((await add('b')).exitCode, 0);
  assert.equal((await add('c')).exitCode, 0);
  const r = await add('a', { listen: true });
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  const a = pods.a!;
  // Sent at once, both, the moment ADD returned: no retry.
  const [fromC, fromB] = await Promise.all([probe(pods.c!.ns, a.ip), probe(pods.b!.ns, a.ip)]);
  assert.equal(fromB, true, 'the allowed flow works at once');
  assert.equal(fromC, false, 'the denied flow is refused from the first packet');
  const diag = async () =>
    [
      await mustRun('ip', ['-n', nodeNs, '-4', 'addr']),
      await mustRun('ip', ['-n', nodeNs, 'route']),
      await mustRun('ip', ['-n', a.ns, 'route']),
      await mustRun('ip', ['-n', a.ns, '-4', 'addr']),
    ].join('\n');
  assert.equal(await probe(nodeNs, a.ip), true, `the node reaches an isolated pod\n${await diag()}`);
  for (const name of ['b', 'c']) {
    await listen(pods[name]!.ns, name);
    assert.equal(await probe(nodeNs, pods[name]!.ip), true, `the node reaches ${name}`);
  }
  assert.equal(await probe(a.ns, pods.c!.ip), true, 'a is not egress-isolated');

  const unknown = await add('ghost');
  assert.notEqual(unknown.exitCode, 0);
  assert.equal(unknown.json?.code, 11, unknown.stdout);
  assert.match(String(unknown.json?.msg), /not known/);
  const state = await policyState();
  assert.equal(state.sets['pod-if']?.length, 3, 'a, b, c registered; ghost left nothing');
});

test('(b) the policy file changed + SIGHUP: c is admitted, b refused; (c) podwirectl policy why agrees and names the policy', { timeout: 60_000 }, async () => {
  fs.writeFileSync(policyFile, policyFrom('other'));
  await waitForLog('policy: re-read (SIGHUP)', sighup());
  const a = pods.a!;
  const [fromC, fromB] = await Promise.all([probe(pods.c!.ns, a.ip), probe(pods.b!.ns, a.ip)]);
  assert.equal(fromC, true);
  assert.equal(fromB, false);

  const denied = await ctl('policy', 'why', 'x/b', 'x/a', `${PORT}/TCP`);
  assert.equal(denied.code, 0, denied.stderr);
  assert.match(denied.stdout, /^DENIED\n/);
  assert.match(denied.stdout, /x\/a is isolated by x\/web-ingress/);
  const allowed = await ctl('policy', 'why', pods.c!.ip, a.ip, `${PORT}`, '-o', 'json');
  const j = JSON.parse(allowed.stdout) as { allowed: boolean; ingress: { allowedBy: Array<{ policy: string }> } };
  assert.equal(j.allowed, true);
  assert.deepEqual(
    j.ingress.allowedBy.map((m) => m.policy),
    ['x/web-ingress'],
  );
  const free = await ctl('policy', 'why', 'x/a', 'x/c', `${PORT}/TCP`);
  assert.match(free.stdout, /^ALLOWED\n/, 'a to c: neither isolated');
  const bad = await ctl('policy', 'why', 'x/a', 'x/nobody', '80/TCP');
  assert.notEqual(bad.code, 0);
  const status = await ctl('status');
  assert.match(status.stdout, /NetworkPolicy\s+file: 1 policies, 3 pods \(3 wired here\); \d+ transactions, 0 failed/);
});

test('(d) nft flush ruleset: the resync writes the table whole, policy objects and elements included', { timeout: 60_000 }, async () => {
  const before = await policyState();
  assert.ok(before.chains.includes('pol-forward'));
  await mustRun('ip', ['netns', 'exec', nodeNs, 'nft', 'flush', 'ruleset']);
  const since = sighup();
  const drift = await waitForLog('egress: nftables table drifted; rewritten whole', since);
  assert.ok(Array.isArray(drift.drift));
  assert.deepEqual(await policyState(), before);
  assert.equal(await probe(pods.b!.ns, pods.a!.ip), false, 'the deny holds again');
  // In step now: a second resync finds nothing.
  const again = sighup();
  await waitForLog('policy: re-read (SIGHUP)', again);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(
    server
      .logRecords()
      .slice(again)
      .filter((r) => r.msg === 'egress: nftables table drifted; rewritten whole').length,
    0,
  );
});

test('(e) SIGKILL + restart: policies in force before the first ADD is served, nothing duplicated', { timeout: 60_000 }, async () => {
  const before = await policyState();
  await server.kill();
  const since = server.logRecords().length;
  await server.start();
  const records = server.logRecords().slice(since);
  const synced = records.findIndex((r) => r.msg === 'policy: source synced, local pods registered');
  const written = records.findIndex((r) => r.msg === 'egress: nftables table written');
  const serving = records.findIndex((r) => r.msg === 'podwired serving');
  assert.ok(synced >= 0 && synced < written && written < serving, 'synced, then written, then serving');
  assert.equal(records[synced]?.localPods, 3);
  const after = await policyState();
  assert.deepEqual(after, before, 'the same objects and elements, none twice');
  for (const [name, elems] of Object.entries(after.sets)) assert.equal(new Set(elems).size, elems.length, `no element twice in ${name}`);
  assert.equal(after.chains.filter((c) => c.startsWith('np-')).length, 1, 'one policy, one chain');
  assert.deepEqual(Object.keys(after.sets).sort(), [...new Set(Object.keys(after.sets))].sort());
  const tables = await mustRun('ip', ['netns', 'exec', nodeNs, 'nft', 'list', 'tables']);
  assert.equal(tables.trim().split('\n').length, 1, tables);
  assert.equal(await probe(pods.b!.ns, pods.a!.ip), false, 'the deny holds');
  assert.equal(await probe(pods.c!.ns, pods.a!.ip), true, 'the allow holds');
  // DEL after the restart: the pod's elements go (it was registered from the store).
  const del = await runShim({
    command: 'DEL',
    containerId: 'ctr-b',
    netns: pods.b!.path,
    ifname: 'eth0',
    config: CONF,
    args: 'K8S_POD_NAMESPACE=x;K8S_POD_NAME=b',
    env: { PODWIRE_SOCKET: server.socket },
  });
  assert.equal(del.exitCode, 0, del.stdout + del.stderr);
  const left = await policyState();
  assert.equal(left.sets['pod-if']?.length, 2);
});
