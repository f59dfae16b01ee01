/**
 * NetworkPolicy end to end from the kubernetes source (config "policy": {"source":
 * "kubernetes", "kubeconfig": ...}): a real podwired in a "node" netns whose informers list
 * and watch the local fake API server (server/src/test-support/fake-api-server.ts, run as a
 * process in the same netns: test/src/lib/fake-api-process.ts), pods wired through the real
 * shim, real TCP between the pods' netns:
 *
 *   node netns: podwired + the API server on 127.0.0.1, node address 10.206.0.1, pods on
 *   10.206.1.0/24 (no other test uses them)
 *   namespace x: a (app=web), b (app=client), c (app=other); each serves TCP 7300
 *   policy x/web-ingress (listed at start): pods app=web admit TCP 7300 from app=client only
 *
 * (a) a's Pod object exists but podwired never saw it (no watch event): ADD GETs it and the
 *     policy holds the moment ADD returns (c refused, b answered);
 * (b) a NetworkPolicy created through the API (watch event) is in force within 2 s;
 * (c) pods relabelled through the API (watch events) are in force within 2 s;
 * (d) the API server down at ADD of a pod podwired has not seen: CNI error 11, nothing wired;
 * (e) SIGKILL + restart with the API server reachable: the policies and every local pod's
 *     elements written before the first ADD is served, nothing duplicated.
 * Traffic only among the test's own netns.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTcpEchoPeer, tcpProbeAnswers } from '../lib/echo-peer-process';
import { API_COLLECTIONS, FakeApiProcess } from '../lib/fake-api-process';
import { TestNetnsSet } from '../lib/netns';
import { PodwiredProcess } from '../lib/podwired-process';
import { mustRun } from '../lib/run-command';
import { netConf, runShim } from '../lib/shim';

const CONF = netConf('polk8s', '10.206.1.0/24');
const PORT = 7300;
const NODE_IP = '10.206.0.1';
/** How long a watch event may take to be in force. */
const IN_FORCE_MS = 2000;
const netns = new TestNetnsSet(`polk-${process.pid}`);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-polk-'));
const apiDir = path.join(root, 'api');
const peers: ChildProcess[] = [];
let nodeNs = '';
let server: PodwiredProcess;
let api: FakeApiProcess | undefined;
const pods: Record<string, { ns: string; path: string; ip: string }> = {};

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: unknown };
const namespace = (name: string): K8sObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name } } });
const podObject = (name: string, app: string): K8sObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'x', labels: { app } },
  spec: { containers: [{ name: 'c', ports: [{ name: 'serve', containerPort: PORT }] }] },
});
const WEB_INGRESS: K8sObject = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'web-ingress', namespace: 'x' },
  spec: {
    podSelector: { matchLabels: { app: 'web' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }], ports: [{ protocol: 'TCP', port: PORT }] }],
  },
};
const ISOLATE_OTHER: K8sObject = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'isolate-other', namespace: 'x' },
  spec: { podSelector: { matchLabels: { app: 'other' } }, policyTypes: ['Ingress'] },
};
/** What the API server holds (re-put into a restarted one). */
const state = new Map<string, { collection: string; object: K8sObject }>();

async function apiPut(collection: string, object: K8sObject, opts: { unseen?: boolean } = {}): Promise<void> {
  state.set(`${collection} ${object.metadata.namespace ?? ''}/${object.metadata.name}`, { collection, object });
  assert.ok(api);
  await api.send({ op: opts.unseen ? 'putUnseen' : 'put', collection, object });
}

async function startApi(): Promise<void> {
  fs.mkdirSync(apiDir, { recursive: true });
  api = await FakeApiProcess.start(nodeNs, apiDir);
  for (const { collection, object } of state.values()) await api.send({ op: 'put', collection, object });
}

const listen = (where: string, name: string): Promise<void> => startTcpEchoPeer(peers, where, PORT, name);

/** One TCP probe from pod `from` to pod `to` (3 s without an answer: refused). */
const probe = (from: string, to: string): Promise<boolean> => tcpProbeAnswers(pods[from]!.ns, pods[to]!.ip, PORT);

async function add(name: string) {
  const pod = await netns.create(name);
  await listen(pod.name, name);
  const r = await runShim({
    command: 'ADD',
    containerId: `ctr-polk-${name}`,
    netns: pod.path,
    ifname: 'eth0',
    config: CONF,
    args: `K8S_POD_NAMESPACE=x;K8S_POD_NAME=${name}`,
    env: { PODWIRE_SOCKET: server.socket },
  });
  if (r.exitCode === 0) {
    const ip = ((((r.json?.ips ?? []) as Array<{ address: string }>)[0]?.address ?? '').split('/')[0] ?? '') as string;
    pods[name] = { ns: pod.name, path: pod.path, ip };
  }
  return r;
}

type NftObj = Record<string, Record<string, unknown>>;
/** chain names, and set name -> elements (JSON text, sorted); policy and shared set numbers left out. */
async function policyState(): Promise<{ chains: string[]; sets: Record<string, string[]> }> {
  const [table] = server.nftTables();
  assert.ok(table, 'podwired logged its table');
  const out = await mustRun('ip', ['netns', 'exec', nodeNs, 'nft', '-j', 'list', 'table', ...table.split(' ')]);
  const objs = (JSON.parse(out) as { nftables: NftObj[] }).nftables;
  const bare = (name: string) => name.replace(/^np-p\d+-/, 'np-pN-').replace(/^(peer|named)-\d+-/, '$1-N-');
  const chains = objs.flatMap((o) => (o.chain ? [bare(o.chain.name as string)] : [])).sort();
  const sets: Record<string, string[]> = {};
  for (const o of objs)
    if (o.set)
      sets[bare(o.set.name as string)] = [
        ...(sets[bare(o.set.name as string)] ?? []),
        ...((o.set.elem as unknown[]) ?? []).map((e) => JSON.stringify(e)),
      ].sort();
  return { chains, sets };
}

/** Waits for podwired's log line `msg` whose `operation` is `operation`, after record `since`; its time from `t0`. */
async function inForce(operation: string, since: number, t0: number): Promise<number> {
  const deadline = t0 + IN_FORCE_MS;
  for (;;) {
    if (
      server
        .logRecords()
        .slice(since)
        .some((r) => r.msg === 'policy: change in force' && r.operation === operation)
    )
      return Date.now() - t0;
    if (Date.now() > deadline) throw new Error(`"${operation}" not in force within ${IN_FORCE_MS} ms:\n${server.logs.slice(-20).join('\n')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  nodeNs = (await netns.create('node')).name;
  await mustRun('ip', ['-n', nodeNs, 'link', 'set', 'lo', 'up']);
  await mustRun('ip', ['-n', nodeNs, 'addr', 'add', `${NODE_IP}/32`, 'dev', 'lo']);
  await startApi();
  await apiPut(API_COLLECTIONS.namespaces, namespace('x'));
  await apiPut(API_COLLECTIONS.pods, podObject('b', 'client'));
  await apiPut(API_COLLECTIONS.pods, podObject('c', 'other'));
  await apiPut(API_COLLECTIONS.policies, WEB_INGRESS);
  fs.mkdirSync(path.join(root, 'node'), { recursive: true, mode: 0o700 });
  server = PodwiredProcess.inTempDir(path.join(root, 'node'), {
    netns: nodeNs,
    config: { policy: { source: 'kubernetes', kubeconfig: path.join(apiDir, 'kubeconfig') } },
  });
  await server.start();
});

after(async () => {
  for (const p of peers) p.kill('SIGKILL');
  await server?.stop();
  server?.deleteNftTables();
  await api?.kill();
  await netns.cleanup();
  fs.rmSync(root, { recursive: true, force: true });
});

test('(a) a pod podwired has not seen: ADD GETs it and its policy holds the moment ADD returns', { timeout: 30_000 }, async () => {
  assert.equal((await add('b')).exitCode, 0);
  assert.equal((await add('c')).exitCode, 0);
  // a's object is stored with no watch event: only a GET can tell podwired its labels.
  await apiPut(API_COLLECTIONS.pods, podObject('a', 'web'), { unseen: true });
  const r = await add('a');
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  assert.ok(api);
  assert.ok(
    (await api.requests()).some((q) => q.startsWith('GET /api/v1/namespaces/x/pods/a?')),
    'ADD asked the API server for the Pod',
  );
  const [fromC, fromB] = await Promise.all([probe('c', 'a'), probe('b', 'a')]);
  assert.equal(fromB, true, 'the allowed flow works at once');
  assert.equal(fromC, false, 'the denied flow is refused from the first packet');
});

test('(b) a NetworkPolicy created through the API is in force within 2 s', { timeout: 30_000 }, async (t) => {
  assert.equal(await probe('b', 'c'), true, 'c is not isolated yet');
  const since = server.logRecords().length;
  const t0 = Date.now();
  await apiPut(API_COLLECTIONS.policies, ISOLATE_OTHER);
  const ms = await inForce('policy NetworkPolicy set', since, t0);
  t.diagnostic(`NetworkPolicy created through the API: in force ${ms} ms after the write`);
  const [bToC, aToC] = await Promise.all([probe('b', 'c'), probe('a', 'c')]);
  assert.equal(bToC, false, `isolate-other in force (${ms} ms after the API write)`);
  assert.equal(aToC, false);
});

test('(c) pods relabelled through the API are in force within 2 s', { timeout: 30_000 }, async (t) => {
  const since = server.logRecords().length;
  const t0 = Date.now();
  // b: client -> other (refused by a, isolated by isolate-other); c: other -> client (admitted by a, no longer isolated).
  await apiPut(API_COLLECTIONS.pods, podObject('b', 'other'));
  await apiPut(API_COLLECTIONS.pods, podObject('c', 'client'));
  await inForce('policy Pod set', since, t0);
  for (;;) {
    if (
      server
        .logRecords()
        .slice(since)
        .filter((r) => r.msg === 'policy: change in force' && r.operation === 'policy Pod set').length >= 2
    )
      break;
    assert.ok(Date.now() - t0 < IN_FORCE_MS, 'both relabels in force within 2 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  t.diagnostic(`two pods relabelled through the API: both in force ${Date.now() - t0} ms after the first write`);
  const [bToA, cToA, aToB, aToC] = await Promise.all([probe('b', 'a'), probe('c', 'a'), probe('a', 'b'), probe('a', 'c')]);
  assert.deepEqual({ bToA, cToA, aToB, aToC }, { bToA: false, cToA: true, aToB: false, aToC: true });
});

let beforeOutage: Awaited<ReturnType<typeof policyState>>;

test('(d) the API server down at ADD of a pod podwired has not seen: 11, nothing wired', { timeout: 30_000 }, async () => {
  beforeOutage = await policyState();
  assert.ok(api);
  await api.kill();
  const t0 = Date.now();
  const r = await add('d');
  assert.notEqual(r.exitCode, 0, 'never fail-open');
  assert.equal(r.json?.code, 11, r.stdout);
  assert.match(String(r.json?.msg), /not known yet/);
  assert.ok(Date.now() - t0 < 5000, 'bounded by the fetch deadline');
  assert.deepEqual(await policyState(), beforeOutage, 'the failed ADD left no policy element');
  const links = await mustRun('ip', ['-n', nodeNs, '-o', 'link']);
  assert.equal(links.trim().split('\n').length, 4, `lo and the three pods' host veths only:\n${links}`);
});

test('(e) SIGKILL + restart with the API server reachable: in force before the first ADD, nothing duplicated', { timeout: 30_000 }, async () => {
  await startApi();
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
  assert.deepEqual(after, beforeOutage, 'the same objects and elements as before the outage');
  for (const [name, elems] of Object.entries(after.sets)) assert.equal(new Set(elems).size, elems.length, `no element twice in ${name}`);
  assert.equal(after.chains.filter((c) => /^np-pN-(in|eg)$/.test(c)).length, 2, 'two policies, one chain each');
  const tables = await mustRun('ip', ['netns', 'exec', nodeNs, 'nft', 'list', 'tables']);
  assert.equal(tables.trim().split('\n').length, 1, tables);
  const [bToA, cToA] = await Promise.all([probe('b', 'a'), probe('c', 'a')]);
  assert.deepEqual({ bToA, cToA }, { bToA: false, cToA: true });
  // Clean DELs: every pod's elements go.
  for (const name of ['a', 'b', 'c']) {
    const del = await runShim({
      command: 'DEL',
      containerId: `ctr-polk-${name}`,
      netns: pods[name]!.path,
      ifname: 'eth0',
      config: CONF,
      args: `K8S_POD_NAMESPACE=x;K8S_POD_NAME=${name}`,
      env: { PODWIRE_SOCKET: server.socket },
    });
    assert.equal(del.exitCode, 0, del.stdout + del.stderr);
  }
  assert.deepEqual((await policyState()).sets['pod-if'], []);
});
