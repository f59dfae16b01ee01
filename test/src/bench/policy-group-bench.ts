/**
 * NetworkPolicy rows of `npm run bench` (issue 22; `--only policy`). Two podwired, each in a
 * "node" netns of this run's own: pwb-<run id>-pol0 without a policy source, -pol1 with the
 * kubernetes source against the local API server (fake-api-runner.ts, in that netns) holding
 * policy-bench.ts's model: 1,000 pods (the ADDed ones among them) and 200 policies. Pods in
 * fresh netns (pwb-<run id>-polp-*), the shim executed with the bench's executor. Per round:
 *
 *   sequential ADD of N pods, pod by pod on each server in turn (which goes first alternates),
 *   so both see the same moment's load; p50 as the runtime sees it (spawn to reap) and
 *   podwired's own (its call log)
 *   with those pods wired: one policy change (pol-0 selects every local pod and admits every
 *   pod, or back) and one label change (pod-1 into another policy's target and peer sets, or
 *   back), each timed by podwired (watch event to the transaction's commit) and from the PUT
 *   to the API server to podwired's log line
 *   sequential DEL the same way, then churn@8 (each worker ADDs then DELs its pod) in four
 *   chunks, the configurations alternating chunk by chunk (as masquerade-bench.ts does)
 *
 * Measurement only: no packet is sent.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SHIM_BINARY } from '../lib/paths';
import { PodwiredProcess } from '../lib/podwired-process';
import { mustRun, runCommand } from '../lib/run-command';
import type { Target } from './bench-report';
import { type CniCallOutcome, CniDriver, NetnsPool, type PodRef, type TwoServerGroupOptions, churnAt8, podwirePlugin, requireOk } from './cni-driver';
import { FakeApiProcess } from './fake-api-runner';
import { POLICIES, WORLD_PODS, collectionOf, policyObjects, serverAddP50, watchChange } from './policy-bench';
import { median } from './run-summary';
import { fmt, renderTable, summarize } from './stats';

/** One round's figures; the ratios are with ÷ without within the round. */
export interface PolicyRoundFigures {
  seqAddP50NoPolicy: number;
  seqAddP50Policy: number;
  seqAddRatio: number;
  serverAddP50NoPolicy: number;
  serverAddP50Policy: number;
  serverAddRatio: number;
  churnAddPerSecondNoPolicy: number;
  churnAddPerSecondPolicy: number;
  churnAddRatio: number;
  churnDelPerSecondNoPolicy: number;
  churnDelPerSecondPolicy: number;
  churnDelRatio: number;
  policyChangeInForceMs: number;
  policyChangeWallMs: number;
  labelChangeInForceMs: number;
  labelChangeWallMs: number;
}

export type PolicyFigure = keyof PolicyRoundFigures;

/** Median and range over the rounds. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface PolicyBenchResult {
  source: 'kubernetes';
  seqPods: number;
  churnPods: number;
  worldPods: number;
  policies: number;
  rounds: number;
  perRound: PolicyRoundFigures[];
  figures: Record<PolicyFigure, Spread>;
}

/** The targets of issue 22. */
export const POLICY_TARGETS = { addRatio: 1.2, policyChangeMs: 100, labelChangeMs: 10 } as const;

const div = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : NaN);

/** The ratios of a round from its two sides' figures. */
export function withRatios(f: Omit<PolicyRoundFigures, 'seqAddRatio' | 'serverAddRatio' | 'churnAddRatio' | 'churnDelRatio'>): PolicyRoundFigures {
  return {
    ...f,
    seqAddRatio: div(f.seqAddP50Policy, f.seqAddP50NoPolicy),
    serverAddRatio: div(f.serverAddP50Policy, f.serverAddP50NoPolicy),
    churnAddRatio: div(f.churnAddPerSecondPolicy, f.churnAddPerSecondNoPolicy),
    churnDelRatio: div(f.churnDelPerSecondPolicy, f.churnDelPerSecondNoPolicy),
  };
}

/** Median and range of every figure over the rounds (rounds where a figure is not finite are left out of it). */
export function policySpreads(rounds: readonly PolicyRoundFigures[]): Record<PolicyFigure, Spread> {
  const keys = Object.keys(rounds[0] ?? withRatios(EMPTY)) as PolicyFigure[];
  const out = {} as Record<PolicyFigure, Spread>;
  for (const k of keys) {
    const v = rounds.map((r) => r[k]).filter((x) => Number.isFinite(x));
    out[k] = v.length ? { median: median(v) ?? NaN, min: Math.min(...v), max: Math.max(...v) } : { median: NaN, min: NaN, max: NaN };
  }
  return out;
}

const EMPTY = {
  seqAddP50NoPolicy: NaN,
  seqAddP50Policy: NaN,
  serverAddP50NoPolicy: NaN,
  serverAddP50Policy: NaN,
  churnAddPerSecondNoPolicy: NaN,
  churnAddPerSecondPolicy: NaN,
  churnDelPerSecondNoPolicy: NaN,
  churnDelPerSecondPolicy: NaN,
  policyChangeInForceMs: NaN,
  policyChangeWallMs: NaN,
  labelChangeInForceMs: NaN,
  labelChangeWallMs: NaN,
};

const margin = (limit: number, v: number) => (Number.isFinite(v) ? `${fmt(((limit - v) / limit) * 100, 0)}%` : '-');

/** Issue 22's three targets, on the medians over the rounds (the paired per-round ratio for ADD). */
export function policyTargets(r: PolicyBenchResult): Target[] {
  const f = r.figures;
  const t = POLICY_TARGETS;
  return [
    {
      target: `ADD p50 with ${r.worldPods} pods and ${r.policies} policies ÷ without a policy (≤ ${fmt(t.addRatio)}×)`,
      measured: `${fmt(f.seqAddRatio.median)}×`,
      met: f.seqAddRatio.median <= t.addRatio,
      margin: margin(t.addRatio, f.seqAddRatio.median),
    },
    {
      target: `policy change in force on ${r.worldPods} pods (≤ ${t.policyChangeMs} ms)`,
      measured: `${fmt(f.policyChangeInForceMs.median)} ms`,
      met: f.policyChangeInForceMs.median <= t.policyChangeMs,
      margin: margin(t.policyChangeMs, f.policyChangeInForceMs.median),
    },
    {
      target: `label change of one pod among ${r.worldPods} in force (≤ ${t.labelChangeMs} ms)`,
      measured: `${fmt(f.labelChangeInForceMs.median)} ms`,
      met: f.labelChangeInForceMs.median <= t.labelChangeMs,
      margin: margin(t.labelChangeMs, f.labelChangeInForceMs.median),
    },
  ];
}

/** "1.23 (1.10–1.40)"; one round alone has no range. */
export function formatSpread(s: Spread, unit = '', rounds = 2): string {
  if (!Number.isFinite(s.median)) return '-';
  return rounds > 1 ? `${fmt(s.median)}${unit} (${fmt(s.min)}–${fmt(s.max)})` : `${fmt(s.median)}${unit}`;
}

export function renderPolicy(r: PolicyBenchResult): string {
  const f = r.figures;
  const n = r.rounds;
  const s = (k: PolicyFigure, unit = '') => formatSpread(f[k], unit, n);
  const pair = (label: string, without: PolicyFigure, withP: PolicyFigure, ratio: PolicyFigure) => [label, s(without), s(withP), s(ratio, '×')];
  const table1 = renderTable(
    ['row', 'no policy', `${r.worldPods} pods, ${r.policies} policies`, 'with ÷ without'],
    [
      pair(`sequential ADD p50 ms, runtime-seen (${r.seqPods} pods)`, 'seqAddP50NoPolicy', 'seqAddP50Policy', 'seqAddRatio'),
      pair("sequential ADD p50 ms, podwired's own (call log)", 'serverAddP50NoPolicy', 'serverAddP50Policy', 'serverAddRatio'),
      pair(`churn@8 ADD pods/s (${r.churnPods} pods)`, 'churnAddPerSecondNoPolicy', 'churnAddPerSecondPolicy', 'churnAddRatio'),
      pair('churn@8 DEL pods/s', 'churnDelPerSecondNoPolicy', 'churnDelPerSecondPolicy', 'churnDelRatio'),
    ],
  );
  const table2 = renderTable(
    ['change', 'in force (podwired) ms', 'PUT → log line ms'],
    [
      [`policy change (pol-0 on every local pod, ${r.worldPods} pods in the model)`, s('policyChangeInForceMs'), s('policyChangeWallMs')],
      [`label change (one pod among ${r.worldPods})`, s('labelChangeInForceMs'), s('labelChangeWallMs')],
    ],
  );
  return `NetworkPolicy rows (issue 22): podwired without a policy source vs with the kubernetes source (${r.worldPods} pods, ${r.policies} policies), two podwired in private node netns, ${n} round(s) interleaved pod by pod; median (range) over rounds, ratios paired by round\n${table1}\n\n${table2}`;
}

export function policyNetnsPrefix(runId: string): string {
  return `pwb-${runId}-pol`;
}

function must(o: CniCallOutcome, what: string): CniCallOutcome {
  return requireOk(o, `policy bench ${what}`);
}

const CHURN_CHUNKS = 4;

interface Sides {
  drivers: readonly CniDriver[];
  servers: readonly PodwiredProcess[];
  api: FakeApiProcess;
}

async function oneRound(x: Sides, pods: readonly PodRef[][], o: TwoServerGroupOptions, r: number): Promise<PolicyRoundFigures> {
  const order = r % 2 === 0 ? [0, 1] : [1, 0];
  const { drivers } = x;
  const adds: CniCallOutcome[][] = [[], []];
  const dels: CniCallOutcome[][] = [[], []];
  for (let k = 0; k < o.seqPods; k++) {
    for (const i of k % 2 === 0 ? order : [...order].reverse()) {
      adds[i]?.push(must(await (drivers[i] as CniDriver).add(pods[i]?.[k] as PodRef), 'sequential ADD'));
    }
  }
  // The changes, with the sequential pods wired; even rounds change, odd rounds change back.
  const changed = policyObjects({ changed: r % 2 === 0, relabelled: r % 2 === 0, local: o.seqPods + o.churnPods });
  const pol0 = changed.find((d) => d.kind === 'NetworkPolicy' && d.metadata.name === 'pol-0');
  const pod1 = changed.find((d) => d.kind === 'Pod' && d.metadata.name === 'pod-1');
  if (!pol0 || !pod1) throw new Error('model lacks pol-0 or pod-1');
  const withPolicy = x.servers[1] as PodwiredProcess;
  const policyChange = await watchChange(withPolicy, x.api, pol0, 'policy NetworkPolicy set');
  const labelChange = await watchChange(withPolicy, x.api, pod1, 'policy Pod set');
  for (let k = 0; k < o.seqPods; k++) {
    for (const i of k % 2 === 0 ? order : [...order].reverse()) {
      dels[i]?.push(must(await (drivers[i] as CniDriver).del(pods[i]?.[k] as PodRef, adds[i]?.[k]?.json), 'sequential DEL'));
    }
  }
  const churn = [0, 1].map(() => ({ add: [] as number[], del: [] as number[] }));
  const chunk = Math.max(8, Math.ceil(o.churnPods / CHURN_CHUNKS));
  for (let from = 0, j = 0; from < o.churnPods; from += chunk, j++) {
    for (const i of j % 2 === 0 ? order : [...order].reverse()) {
      const d = drivers[i] as CniDriver;
      const list = (pods[i] ?? []).slice(o.seqPods + from, o.seqPods + Math.min(o.churnPods, from + chunk));
      await churnAt8(d, list, churn[i] as { add: number[]; del: number[] }, 'policy bench');
    }
  }
  const rate = (xs: number[]) => (xs.length * 1000 * 8) / xs.reduce((sum, v) => sum + v, 0);
  // Leave out the first calls (page cache, JIT) as the masquerade and hostPort rows do.
  const warm = Math.min(5, Math.floor(o.seqPods / 10));
  const seqP50 = (i: number) => summarize((adds[i] ?? []).slice(warm).map((a) => a.elapsedMs)).p50;
  const ownP50 = (i: number) => serverAddP50(x.servers[i] as PodwiredProcess, (pods[i] ?? []).slice(warm, o.seqPods));
  return withRatios({
    seqAddP50NoPolicy: seqP50(0),
    seqAddP50Policy: seqP50(1),
    serverAddP50NoPolicy: ownP50(0),
    serverAddP50Policy: ownP50(1),
    churnAddPerSecondNoPolicy: rate(churn[0]?.add ?? []),
    churnAddPerSecondPolicy: rate(churn[1]?.add ?? []),
    churnDelPerSecondNoPolicy: rate(churn[0]?.del ?? []),
    churnDelPerSecondPolicy: rate(churn[1]?.del ?? []),
    policyChangeInForceMs: policyChange.inForceMs,
    policyChangeWallMs: policyChange.wallMs,
    labelChangeInForceMs: labelChange.inForceMs,
    labelChangeWallMs: labelChange.wallMs,
  });
}

export async function runPolicyBench(o: TwoServerGroupOptions): Promise<PolicyBenchResult> {
  if (o.seqPods < 2) throw new Error('policy bench: at least 2 sequential pods (pod-1 is the relabelled one)');
  const local = o.seqPods + o.churnPods;
  if (local > WORLD_PODS) throw new Error(`policy bench: at most ${WORLD_PODS} pods in all`);
  const prefix = policyNetnsPrefix(o.runId);
  const podPool = new NetnsPool(`${prefix}p`);
  const root = fs.mkdtempSync(path.join(o.workDir, 'policy-'));
  const servers: PodwiredProcess[] = [];
  let api: FakeApiProcess | undefined;
  try {
    await podPool.ensure(local * 2 * o.rounds);
    for (const i of [0, 1]) {
      const ns = `${prefix}${i}`;
      await mustRun('ip', ['netns', 'add', ns]);
      await mustRun('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      let config: Record<string, unknown> = {};
      if (i === 1) {
        const apiDir = path.join(root, 'api');
        fs.mkdirSync(apiDir, { recursive: true, mode: 0o700 });
        api = await FakeApiProcess.start(ns, apiDir);
        for (const d of policyObjects({ changed: false, relabelled: false, local })) await api.send({ op: 'put', collection: collectionOf(d), object: d });
        config = { policy: { source: 'kubernetes', kubeconfig: api.kubeconfig } };
      }
      const dir = path.join(root, `node${i}`);
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const s = PodwiredProcess.inTempDir(dir, { netns: ns, config });
      await s.start(60_000);
      if (s.pid !== undefined) fs.writeFileSync(path.join(o.workDir, `podwired-policy${i}.pid`), String(s.pid));
      servers.push(s);
    }
    if (!api) throw new Error('no API server');
    const drivers = servers.map((s) => {
      const p = podwirePlugin(SHIM_BINARY, s.socket);
      return new CniDriver({ ...p, netconf: { ...p.netconf, name: 'bench-policy', ipam: { ranges: [[{ subnet: '10.246.128.0/17' }]] } } }, o.exec);
    });
    const perRound: PolicyRoundFigures[] = [];
    for (let r = 0, base = 0; r < o.rounds; r++, base += 2 * local) {
      // Every pod is one the model holds (bench/pod-K, no podIPs: podwired knows the address it leased).
      const pods = [0, 1].map((i) =>
        Array.from(
          { length: local },
          (_, k): PodRef => ({
            containerId: `pol${i}-r${r}-${k}`,
            netnsPath: podPool.path(base + i * local + k),
            ifname: 'eth0',
            podName: `pod-${k}`,
          }),
        ),
      );
      const g = await oneRound({ drivers, servers, api }, pods, o, r);
      perRound.push(g);
      o.log(
        `round ${r + 1}/${o.rounds}: ADD p50 ${fmt(g.seqAddP50NoPolicy)} → ${fmt(g.seqAddP50Policy)} ms (${fmt(g.seqAddRatio)}×; podwired ${fmt(g.serverAddP50NoPolicy)} → ${fmt(g.serverAddP50Policy)} ms), ` +
          `policy change ${fmt(g.policyChangeInForceMs)} ms, label change ${fmt(g.labelChangeInForceMs)} ms, churn@8 ADD ${fmt(g.churnAddRatio)}×`,
      );
    }
    const result: PolicyBenchResult = {
      source: 'kubernetes',
      seqPods: o.seqPods,
      churnPods: o.churnPods,
      worldPods: WORLD_PODS,
      policies: POLICIES,
      rounds: o.rounds,
      perRound,
      figures: policySpreads(perRound),
    };
    process.stdout.write(`\n${renderPolicy(result)}\n`);
    return result;
  } finally {
    for (const s of servers) await s.stop();
    api?.close();
    await podPool.cleanup();
    for (const i of [0, 1]) await runCommand('ip', ['netns', 'del', `${prefix}${i}`]);
    fs.rmSync(root, { recursive: true, force: true });
  }
}
