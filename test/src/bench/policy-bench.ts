/**
 * NetworkPolicy at scale with a real podwired (issue 22), the file source, pods wired through
 * the real shim (every ADD timed from spawn to reap, as a runtime sees it):
 *
 *   add_p50          ADD p50 of --pods pods, one after the other, into a podwired without a
 *                    policy source and into one whose model holds 1,000 pods (the ADDed ones
 *                    among them, the rest remote with addresses of their own) and 200 policies
 *   policy_change    one policy changed to select every local pod and admit every one of the
 *                    1,000 pods: inForceMs (podwired's own time from the change's delivery, a
 *                    watch event or a re-read file's snapshot, through the compile to the
 *                    transaction's commit) and wallMs (from the PUT to the API server, or the
 *                    SIGHUP, to podwired's log line); with the file source also reloadMs (the
 *                    re-read, parse and diff of the whole file included)
 *   label_change     one pod among the 1,000 relabelled (into another policy's target and peer
 *                    sets): the same three figures
 *
 *   node test/dist/bench/policy-bench.js [--pods N] [--runs R] [--source kubernetes|file]
 *       (defaults: 100 pods, 3 runs, kubernetes: the policy source against the local API server
 *       of server/src/test-support/fake-api-server.ts, run in the node netns by
 *       fake-api-runner.ts; the changes arrive as watch events)
 *
 * podwired runs in a netns of the bench's own ("node"); pods use 10.246.128.0/17, the remote
 * pods' addresses 10.246.0.0/17. Prints one JSON object: every run's figures, medians and ranges.
 * `npm run bench -- --only policy` runs the same model inside the bench (policy-group-bench.ts),
 * the two podwired interleaved pod by pod and with churn@8 rows.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestNetnsSet } from '../lib/netns';
import { SHIM_BINARY } from '../lib/paths';
import { PodwiredProcess } from '../lib/podwired-process';
import { mustRun } from '../lib/run-command';
import { FakeApiProcess, POLICY_COLLECTIONS } from './fake-api-runner';
import { CniDriver, NetnsPool, NodeSpawnExecutor, type PodRef, describeFailure, podwirePlugin } from './cni-driver';
import { summarize } from './stats';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};

export const WORLD_PODS = 1000;
export const POLICIES = 200;
const APPS = 50;
const NAMESPACE = 'bench';

/** The model as a file (a List of every object). */
export function policyFile(opts: { changed: boolean; relabelled: boolean; local?: number }): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: policyObjects(opts) });
}

export type K8sObject = { kind: string; metadata: { name: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown };

/** The model: namespace bench (and ten others), 1,000 pods, 200 policies of mixed shapes. */
export function policyObjects(opts: { changed: boolean; relabelled: boolean; local?: number }): K8sObject[] {
  if (opts.local !== undefined) localCount = opts.local;
  const docs: K8sObject[] = [];
  docs.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE, labels: { team: 'bench' } } });
  for (let n = 0; n < 10; n++) docs.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `other-${n}`, labels: { team: `t${n % 3}` } } });
  for (let i = 0; i < WORLD_PODS; i++) {
    // Pod 0..N-1 are the ones the bench ADDs (no podIPs: podwired knows their leased address).
    const local = i < localCount;
    const ns = local || i % 4 !== 0 ? NAMESPACE : `other-${i % 10}`;
    let app = `app-${i % APPS}`;
    if (opts.relabelled && i === 1) app = 'app-relabelled';
    docs.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `pod-${i}`, namespace: ns, labels: { app, tier: `t${i % 3}` } },
      spec: { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }] }] },
      status: local ? {} : { podIPs: [{ ip: `10.246.${(i >> 8) & 127}.${i & 255}` }] },
    });
  }
  for (let j = 0; j < POLICIES; j++) {
    const target = { matchLabels: { app: `app-${j % APPS}` } };
    const shape = j % 4;
    const from =
      shape === 0
        ? [{ podSelector: { matchLabels: { app: `app-${(j + 1) % APPS}` } } }]
        : shape === 1
          ? [{ namespaceSelector: { matchLabels: { team: 't1' } }, podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['t0', 't1'] }] } }]
          : shape === 2
            ? [{ ipBlock: { cidr: '10.0.0.0/8', except: [`10.${j % 200}.0.0/16`] } }]
            : [{ podSelector: { matchLabels: { app: 'app-relabelled' } } }];
    const spec: Record<string, unknown> = {
      podSelector: target,
      ingress: [{ from, ports: [{ protocol: 'TCP', port: shape === 1 ? 'http' : 80 + (j % 5) }] }],
    };
    if (j % 5 === 0) {
      spec.policyTypes = ['Ingress', 'Egress'];
      spec.egress = [{ to: [{ podSelector: { matchLabels: { app: `app-${(j + 7) % APPS}` } } }], ports: [{ protocol: 'UDP', port: 53 }] }];
    }
    docs.push({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `pol-${j}`, namespace: NAMESPACE }, spec });
  }
  if (opts.changed) {
    // pol-0 now selects every pod of the namespace and admits every pod anywhere.
    const pol0 = docs.find((d) => d.metadata.name === 'pol-0') as unknown as { spec: Record<string, unknown> };
    pol0.spec = { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ protocol: 'TCP', port: 9000 }] }] };
  }
  return docs;
}

let localCount = 100;
let source: 'kubernetes' | 'file' = 'kubernetes';

interface RunResult {
  addP50NoPolicyMs: number;
  addP50PolicyMs: number;
  /** podwired's own ADD duration (its call log line), without the shim's spawn. */
  serverAddP50NoPolicyMs: number;
  serverAddP50PolicyMs: number;
  ratio: number;
  policyChange: { reloadMs: number; inForceMs: number; wallMs: number };
  labelChange: { reloadMs: number; inForceMs: number; wallMs: number };
}

/** p50 of podwired's own ADD durations (its per-call log lines) for the containers of `pods`. */
export function serverAddP50(server: PodwiredProcess, pods: readonly PodRef[]): number {
  const ids = new Set(pods.map((p) => p.containerId));
  const ds = server
    .logRecords()
    .filter((r) => r.verb === 'ADD' && r.outcome === 'ok' && typeof r.containerId === 'string' && ids.has(r.containerId))
    .map((r) => Number(r.durationMs));
  return ds.length > 0 ? summarize(ds).p50 : Number.NaN;
}

async function addAll(driver: CniDriver, pods: readonly PodRef[]): Promise<{ times: number[]; results: unknown[] }> {
  const times: number[] = [];
  const results: unknown[] = [];
  for (const pod of pods) {
    const o = await driver.add(pod);
    if (!o.ok) throw new Error(`ADD ${pod.podName}: ${describeFailure(o)}`);
    times.push(o.elapsedMs);
    results.push(o.json);
  }
  return { times, results };
}

async function delAll(driver: CniDriver, pods: readonly PodRef[], results: unknown[]): Promise<void> {
  for (const [i, pod] of pods.entries()) {
    const o = await driver.del(pod, results[i]);
    if (!o.ok) throw new Error(`DEL ${pod.podName}: ${describeFailure(o)}`);
  }
}

/** Sends SIGHUP; resolves with podwired's re-read line and the wall time until it was logged. */
async function sighup(server: PodwiredProcess): Promise<{ reloadMs: number; inForceMs: number; wallMs: number }> {
  const since = server.logRecords().length;
  const t = performance.now();
  if (!server.pid) throw new Error('podwired is not running');
  process.kill(server.pid, 'SIGHUP');
  for (;;) {
    const hit = server
      .logRecords()
      .slice(since)
      .find((r) => r.msg === 'policy: re-read (SIGHUP)' || r.msg === 'policy: SIGHUP re-read refused; the previous policy stays in force');
    if (hit) {
      if (hit.msg !== 'policy: re-read (SIGHUP)') throw new Error(`re-read refused: ${String(hit.err)}`);
      return { reloadMs: Number(hit.reloadMs), inForceMs: Number(hit.lastChangeMs), wallMs: performance.now() - t };
    }
    if (performance.now() - t > 30_000) throw new Error('no re-read line within 30 s');
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Applies one object through the API server; resolves with podwired's "change in force" line for it and the wall time until it was logged. */
export async function watchChange(
  server: PodwiredProcess,
  api: FakeApiProcess,
  obj: K8sObject,
  operation: string,
): Promise<{ reloadMs: number; inForceMs: number; wallMs: number }> {
  const since = server.logRecords().length;
  const t = performance.now();
  await api.send({ op: 'put', collection: collectionOf(obj), object: obj });
  for (;;) {
    const hit = server
      .logRecords()
      .slice(since)
      .find((r) => r.msg === 'policy: change in force' && r.operation === operation);
    if (hit) return { reloadMs: Number.NaN, inForceMs: Number(hit.ms), wallMs: performance.now() - t };
    if (performance.now() - t > 30_000) throw new Error(`no "${operation}" in force within 30 s`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

export function collectionOf(o: K8sObject): string {
  return o.kind === 'Pod' ? POLICY_COLLECTIONS.pods : o.kind === 'Namespace' ? POLICY_COLLECTIONS.namespaces : POLICY_COLLECTIONS.policies;
}

/** Lets the kernel finish destroying the veth pairs of the last phase (each within ~1 s). */
const settle = () => new Promise((r) => setTimeout(r, 3000));

async function oneRun(r: number, root: string, nodeNs: string): Promise<RunResult> {
  const pool = new NetnsPool(`pw-polb-${process.pid}-r${r}`);
  const file = path.join(root, `policy-${r}.json`);
  fs.writeFileSync(file, policyFile({ changed: false, relabelled: false }));
  const conf = (s: PodwiredProcess) => {
    const p = podwirePlugin(SHIM_BINARY, s.socket);
    return { ...p, netconf: { ...p.netconf, name: 'bench-policy', ipam: { ranges: [[{ subnet: '10.246.128.0/17' }]] } } };
  };
  const mkServer = (name: string, config: Record<string, unknown>) => {
    const dir = path.join(root, `${name}-${r}`);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    return PodwiredProcess.inTempDir(dir, { netns: nodeNs, config });
  };
  try {
    await pool.ensure(localCount * 2);
    const pods = (from: number): PodRef[] =>
      Array.from({ length: localCount }, (_, i) => ({
        containerId: `polb-${r}-${from + i}`,
        netnsPath: pool.path(from + i),
        ifname: 'eth0',
        podName: `pod-${i}`,
      }));
    // Without a policy source (first in even runs, last in odd ones: the veth pairs a phase's
    // DELs leave are destroyed by the kernel in the background, which slows the next phase).
    const plainPhase = async (): Promise<{ addP50NoPolicyMs: number; serverAddP50NoPolicyMs: number }> => {
      const plain = mkServer('plain', {});
      await plain.start();
      try {
        const d = new CniDriver(conf(plain), new NodeSpawnExecutor());
        const set = pods(0);
        const { times, results } = await addAll(d, set);
        const out = { addP50NoPolicyMs: summarize(times).p50, serverAddP50NoPolicyMs: serverAddP50(plain, set) };
        await delAll(d, set, results);
        return out;
      } finally {
        await plain.stop();
        plain.deleteNftTables();
        await settle();
      }
    };
    const first = r % 2 === 0 ? await plainPhase() : undefined;
    // With a policy source: 1,000 pods, 200 policies.
    let api: FakeApiProcess | undefined;
    let policyConfig: Record<string, unknown> = { source: 'file', file };
    if (source === 'kubernetes') {
      const apiDir = path.join(root, `api-${r}`);
      fs.mkdirSync(apiDir, { recursive: true });
      api = await FakeApiProcess.start(nodeNs, apiDir);
      for (const o of policyObjects({ changed: false, relabelled: false })) await api.send({ op: 'put', collection: collectionOf(o), object: o });
      policyConfig = { source: 'kubernetes', kubeconfig: api.kubeconfig };
    }
    const withPolicy = mkServer('policy', { policy: policyConfig });
    await withPolicy.start(60_000);
    try {
      const d = new CniDriver(conf(withPolicy), new NodeSpawnExecutor());
      const set = pods(localCount);
      const { times, results } = await addAll(d, set);
      const addP50PolicyMs = summarize(times).p50;
      const serverAddP50PolicyMs = serverAddP50(withPolicy, set);
      let policyChange: RunResult['policyChange'];
      let labelChange: RunResult['labelChange'];
      if (api) {
        const changed = policyObjects({ changed: true, relabelled: true });
        const pol0 = changed.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'pol-0');
        const pod1 = changed.find((o) => o.kind === 'Pod' && o.metadata.name === 'pod-1');
        if (!pol0 || !pod1) throw new Error('model lacks pol-0 or pod-1');
        policyChange = await watchChange(withPolicy, api, pol0, 'policy NetworkPolicy set');
        labelChange = await watchChange(withPolicy, api, pod1, 'policy Pod set');
      } else {
        fs.writeFileSync(file, policyFile({ changed: true, relabelled: false }));
        policyChange = await sighup(withPolicy);
        fs.writeFileSync(file, policyFile({ changed: true, relabelled: true }));
        labelChange = await sighup(withPolicy);
      }
      await delAll(d, set, results);
      await withPolicy.stop();
      withPolicy.deleteNftTables();
      await settle();
      const plain = first ?? (await plainPhase());
      return {
        ...plain,
        addP50PolicyMs,
        serverAddP50PolicyMs,
        ratio: addP50PolicyMs / plain.addP50NoPolicyMs,
        policyChange,
        labelChange,
      };
    } finally {
      await withPolicy.stop();
      withPolicy.deleteNftTables();
      api?.close();
    }
  } finally {
    await pool.cleanup();
  }
}

async function main(): Promise<void> {
  localCount = arg('--pods', 100);
  const i = process.argv.indexOf('--source');
  if (i >= 0) source = process.argv[i + 1] === 'file' ? 'file' : 'kubernetes';
  const runs = arg('--runs', 3);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-polb-'));
  const netns = new TestNetnsSet(`pw-polb-${process.pid}`);
  try {
    const nodeNs = (await netns.create('node')).name;
    await mustRun('ip', ['-n', nodeNs, 'link', 'set', 'lo', 'up']);
    const all: RunResult[] = [];
    for (let r = 0; r < runs; r++) all.push(await oneRun(r, root, nodeNs));
    const agg = (pick: (x: RunResult) => number) => {
      const v = all.map(pick);
      const s = summarize(v);
      return { median: Math.round(s.p50 * 100) / 100, min: Math.round(Math.min(...v) * 100) / 100, max: Math.round(Math.max(...v) * 100) / 100 };
    };
    const out = {
      source,
      pods: localCount,
      worldPods: WORLD_PODS,
      policies: POLICIES,
      runs,
      addP50NoPolicyMs: agg((x) => x.addP50NoPolicyMs),
      addP50PolicyMs: agg((x) => x.addP50PolicyMs),
      addRatio: agg((x) => x.ratio),
      serverAddP50NoPolicyMs: agg((x) => x.serverAddP50NoPolicyMs),
      serverAddP50PolicyMs: agg((x) => x.serverAddP50PolicyMs),
      policyChangeReloadMs: agg((x) => x.policyChange.reloadMs),
      policyChangeInForceMs: agg((x) => x.policyChange.inForceMs),
      policyChangeWallMs: agg((x) => x.policyChange.wallMs),
      labelChangeReloadMs: agg((x) => x.labelChange.reloadMs),
      labelChangeInForceMs: agg((x) => x.labelChange.inForceMs),
      labelChangeWallMs: agg((x) => x.labelChange.wallMs),
      perRun: all,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await netns.cleanup();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
