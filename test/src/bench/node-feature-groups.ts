/**
 * The bench groups of issues 20, 21 and 22, run by `npm run bench` after the CNI rows and alone with
 * `--only hostport|masquerade|vxlan|policy`:
 *
 *   hostport    ADD with one hostPort mapping: podwire native vs podwire + portmap vs
 *               bridge + host-local + portmap, and podwire's plain ADD (hostport-bench.ts)
 *   masquerade  plain ADD and churn@8 with egress masquerade off vs on (masquerade-bench.ts),
 *               and a 500-peer change of the masquerade exclusions (egress-peers-bench.ts)
 *   vxlan       500-peer programming pass, host-gw next to VXLAN (peer-routes-bench.ts), and
 *               pod-to-pod latency and throughput across two netns nodes, direct vs VXLAN
 *               (vxlan-datapath-bench.ts)
 *   policy      NetworkPolicy (issue 22): ADD p50 and churn@8 without a policy vs with 1,000 pods
 *               and 200 policies, a policy change and a label change in force (policy-group-bench.ts)
 *
 * Each module prints its own table as it finishes; this file runs them, gathers the JSON and
 * the targets.
 */
import type { Options } from './bench-options';
import type { Target } from './bench-report';
import type { Executor } from './cni-driver';
import { type EgressPeersBenchResult, egressPeersOneTransaction, runEgressPeersBench } from './egress-peers-bench';
import { type HostPortBenchResult, hostPortTargets, runHostPortBench } from './hostport-bench';
import { type MasqueradeBenchResult, runMasqueradeBench } from './masquerade-bench';
import { type PolicyBenchResult, policyTargets, runPolicyBench } from './policy-group-bench';
import { type PeerRoutesBenchResult, renderPeerRoutesComparison, runPeerRoutesBench } from './peer-routes-bench';
import { fmt } from './stats';
import { type VxlanDatapathResult, runVxlanDatapathBench } from './vxlan-datapath-bench';

export type FeatureGroup = 'hostport' | 'masquerade' | 'vxlan' | 'policy';
export const FEATURE_GROUPS: readonly FeatureGroup[] = ['hostport', 'masquerade', 'vxlan', 'policy'];

/** The keys these groups add to bench-results.json (peerRoutes: the host-gw pass the bench always had). */
export interface FeatureGroupsResult {
  hostPorts?: HostPortBenchResult;
  masquerade?: MasqueradeBenchResult;
  egressPeers?: EgressPeersBenchResult;
  peerRoutes?: PeerRoutesBenchResult;
  peerRoutesVxlan?: PeerRoutesBenchResult;
  crossNode?: VxlanDatapathResult;
  policy?: PolicyBenchResult;
}

export interface FeatureGroupsContext {
  opts: Options;
  workDir: string;
  exec: Executor;
  helperPath: string | undefined;
  /** Progress lines (stderr). */
  log: (msg: string) => void;
}

export async function runFeatureGroups(groups: readonly FeatureGroup[], ctx: FeatureGroupsContext): Promise<FeatureGroupsResult> {
  const o = ctx.opts;
  const out: FeatureGroupsResult = {};
  const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    ctx.log(`bench: ${what}`);
    const r = await fn();
    ctx.log(`bench: ${what} took ${fmt((performance.now() - t) / 1000)} s`);
    return r;
  };
  if (groups.includes('hostport')) {
    out.hostPorts = await timed('hostPort rows', () =>
      runHostPortBench({ runId: o.runId, workDir: ctx.workDir, pods: o.hostPortPods, runs: o.hostPortRuns, helperPath: ctx.helperPath }),
    );
  }
  if (groups.includes('masquerade')) {
    out.masquerade = await timed('masquerade off/on rows', () =>
      runMasqueradeBench({
        runId: o.runId,
        workDir: ctx.workDir,
        exec: ctx.exec,
        seqPods: o.masqSeqPods,
        churnPods: o.masqChurnPods,
        rounds: o.masqRounds,
        log: (m) => ctx.log(`  [masquerade] ${m}`),
      }),
    );
    out.egressPeers = await timed(`masquerade exclusions, ${o.peers} peers`, () => runEgressPeersBench(o.runId, o.peers));
  }
  if (groups.includes('vxlan')) {
    out.peerRoutes = await timed(`peer routes host-gw, ${o.peers} peers`, () => runPeerRoutesBench(o.runId, o.peers, 'none'));
    out.peerRoutesVxlan = await timed(`peer routes VXLAN, ${o.peers} peers`, () => runPeerRoutesBench(o.runId, o.peers, 'vxlan'));
    process.stdout.write(`\n${renderPeerRoutesComparison(out.peerRoutes, out.peerRoutesVxlan)}\n`);
    out.crossNode = await timed('cross-node direct vs VXLAN', () =>
      runVxlanDatapathBench({
        runId: o.runId,
        workDir: ctx.workDir,
        rounds: o.xnodeRounds,
        rrRequests: o.xnodeRequests,
        iperfSeconds: o.xnodeSeconds,
        log: (m) => ctx.log(`  [cross-node] ${m}`),
      }),
    );
  }
  if (groups.includes('policy')) {
    out.policy = await timed('NetworkPolicy rows', () =>
      runPolicyBench({
        runId: o.runId,
        workDir: ctx.workDir,
        exec: ctx.exec,
        seqPods: o.polSeqPods,
        churnPods: o.polChurnPods,
        rounds: o.polRounds,
        log: (m) => ctx.log(`  [policy] ${m}`),
      }),
    );
  }
  return out;
}

/** Within 10% counts as no regression (one run's noise on a shared 2-CPU machine is about that). */
export const NO_REGRESSION_TOLERANCE = 0.1;

/** The targets of issues 20 and 22 these groups measured (issue 21 asks for ratios only). */
export function featureTargets(r: FeatureGroupsResult): Target[] {
  const t: Target[] = [];
  if (r.hostPorts) t.push(...hostPortTargets(r.hostPorts));
  if (r.masquerade) {
    const x = r.masquerade.ratios;
    const lim = 1 + NO_REGRESSION_TOLERANCE;
    t.push({
      target: `masquerade on: sequential ADD p50 not slower than off (≤ ${fmt(lim)}×)`,
      measured: `${fmt(x.seqAddP50)}×`,
      met: x.seqAddP50 <= lim,
      margin: Number.isFinite(x.seqAddP50) ? `${fmt(((lim - x.seqAddP50) / lim) * 100, 0)}%` : '-',
    });
    t.push({
      target: `masquerade on: churn@8 ADD pods/s not lower than off (≥ ${fmt(1 / lim)}×)`,
      measured: `${fmt(x.churnAddPerSecond)}×`,
      met: x.churnAddPerSecond >= 1 / lim,
      margin: Number.isFinite(x.churnAddPerSecond) ? `${fmt((x.churnAddPerSecond - 1 / lim) * lim * 100, 0)}%` : '-',
    });
    t.push({
      target: `masquerade on: churn@8 DEL pods/s not lower than off (≥ ${fmt(1 / lim)}×)`,
      measured: `${fmt(x.churnDelPerSecond)}×`,
      met: x.churnDelPerSecond >= 1 / lim,
      margin: Number.isFinite(x.churnDelPerSecond) ? `${fmt((x.churnDelPerSecond - 1 / lim) * lim * 100, 0)}%` : '-',
    });
  }
  if (r.egressPeers) {
    const join = r.egressPeers.passes[0];
    t.push({
      target: `${r.egressPeers.peers}-peer change: masquerade exclusions in one transaction, no rule rewritten`,
      measured: join ? `${join.transactions} transaction(s), ${fmt(join.ms)} ms` : '-',
      met: egressPeersOneTransaction(r.egressPeers),
      margin: '-',
    });
  }
  if (r.policy) t.push(...policyTargets(r.policy));
  return t;
}
