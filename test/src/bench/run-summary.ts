/**
 * The median and the range of a few full bench runs (bench-results.json files of
 * `scripts/bench.sh --out FILE`), for the README's table: ratios move with the machine and
 * with one run's noise, so a figure is quoted as median (min–max) over the runs.
 */
import { fmt } from './stats';

/** One figure read from a run's JSON: undefined when that run does not have it. */
export interface Figure {
  label: string;
  unit: string;
  read: (run: BenchJson) => number | undefined;
}

/** The parts of bench-results.json the summary reads (everything optional: older runs lack some). */
export interface BenchJson {
  machine?: { cpuModel?: string; nproc?: number; kernel?: string; node?: string };
  configs?: Array<{
    label: string;
    sequential?: { add?: PhaseJson; del?: PhaseJson; check?: PhaseJson };
    churn?: Array<{ concurrency: number; addPerSecond?: number; delPerSecond?: number }>;
    latency?: { serverRssMbAtFill?: number };
  }>;
  cpuFloor?: {
    podwired?: { eventLoop?: { add: number; del: number; status: number } };
    bare?: { eventLoop?: { add: number; del: number; status: number } };
    verbs?: Array<{ verb: string; podwiredMsPerCall: number; bareMsPerCall: number; ratio: number }>;
    addDelSumRatio?: number;
    gone?: Array<{ concurrency: number; goneAfterDel?: { p99: number } }>;
    floor?: { floorMs?: number; seqAddOverFloor?: number };
    addThreads?: { datapathMs?: number; kernelFloorCpuPerPodMs?: number; datapathOverKernelFloorCpu?: number };
  };
  restart?: Array<{ pods: number; restart?: { spawnToAddMs?: number } }>;
  cri?: { ratios?: { runPodSandboxP50: number; cniStepP50: number; churnRate: number } };
  /** Issue 20 (hostport-bench.ts, masquerade-bench.ts, egress-peers-bench.ts). */
  hostPorts?: {
    chains?: Array<{ key: string; p50: number }>;
    ratios?: { bridgePortmapOverNative: number; nativeOverPlain: number; podwirePortmapOverNative: number };
  };
  masquerade?: {
    off?: MasqueradeSideJson;
    on?: MasqueradeSideJson;
    ratios?: { seqAddP50: number; seqDelP50: number; churnAddPerSecond: number; churnDelPerSecond: number };
  };
  egressPeers?: PassesJson<{ transactions: number }>;
  /** Issue 21 (peer-routes-bench.ts host-gw and VXLAN, vxlan-datapath-bench.ts). */
  peerRoutes?: PassesJson;
  peerRoutesVxlan?: PassesJson;
  crossNode?: {
    direct?: { rrP50Us: number; rrP99Us: number; gbps: number };
    vxlan?: { rrP50Us: number; rrP99Us: number; gbps: number };
    ratios?: { rrP50: number; rrP99: number; throughput: number };
  };
  /** Issue 22 (policy-group-bench.ts): each figure's median over the run's rounds. */
  policy?: { figures?: Partial<Record<string, { median: number | null }>> };
}

interface MasqueradeSideJson {
  seqAddP50: number;
  churnAddPerSecond: number;
  churnDelPerSecond: number;
}

type PassesJson<Extra = unknown> = { peers?: number; passes?: Array<{ pass: string; ms: number } & Partial<Extra>> };

interface PhaseJson {
  latency?: { p50: number };
  perSecond?: number;
  serverCpuMsPerCall?: number;
}

export interface SummaryRow {
  label: string;
  unit: string;
  values: number[];
  median: number | undefined;
  min: number | undefined;
  max: number | undefined;
}

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

export function summarizeRuns(runs: readonly BenchJson[], figures: readonly Figure[]): SummaryRow[] {
  return figures.map((f) => {
    const values = runs.map(f.read).filter((v): v is number => v !== undefined && Number.isFinite(v));
    return {
      label: f.label,
      unit: f.unit,
      values,
      median: median(values),
      min: values.length ? Math.min(...values) : undefined,
      max: values.length ? Math.max(...values) : undefined,
    };
  });
}

/** "3.24× (3.10–3.41)"; one value alone has no range. */
export function formatRow(row: SummaryRow): string {
  const u = row.unit;
  if (row.median === undefined) return '-';
  if (row.values.length === 1) return `${fmt(row.median)}${u}`;
  return `${fmt(row.median)}${u} (${fmt(row.min)}–${fmt(row.max)})`;
}

const cfg = (run: BenchJson, label: string) => run.configs?.find((c) => c.label === label);
const c8 = (run: BenchJson, label: string) => cfg(run, label)?.churn?.find((c) => c.concurrency === 8);
const div = (a: number | undefined, b: number | undefined): number | undefined => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);
const verb = (run: BenchJson, name: string) => run.cpuFloor?.verbs?.find((v) => v.verb === name);

const BR = 'bridge+host-local';
const PW = 'podwire';

/** The figures of issue 13's "Done when" and the README's table, in its order. */
export const README_FIGURES: readonly Figure[] = [
  { label: 'sequential ADD p50, bridge+host-local', unit: ' ms', read: (r) => cfg(r, BR)?.sequential?.add?.latency?.p50 },
  { label: 'sequential ADD p50, podwire', unit: ' ms', read: (r) => cfg(r, PW)?.sequential?.add?.latency?.p50 },
  {
    label: 'sequential ADD: podwire vs bridge',
    unit: '×',
    read: (r) => div(cfg(r, BR)?.sequential?.add?.latency?.p50, cfg(r, PW)?.sequential?.add?.latency?.p50),
  },
  { label: 'sequential DEL p50, bridge+host-local', unit: ' ms', read: (r) => cfg(r, BR)?.sequential?.del?.latency?.p50 },
  { label: 'sequential DEL p50, podwire', unit: ' ms', read: (r) => cfg(r, PW)?.sequential?.del?.latency?.p50 },
  {
    label: 'sequential DEL: podwire vs bridge',
    unit: '×',
    read: (r) => div(cfg(r, BR)?.sequential?.del?.latency?.p50, cfg(r, PW)?.sequential?.del?.latency?.p50),
  },
  { label: 'churn@8 ADD pods/s, bridge+host-local', unit: '', read: (r) => c8(r, BR)?.addPerSecond },
  { label: 'churn@8 ADD pods/s, podwire', unit: '', read: (r) => c8(r, PW)?.addPerSecond },
  { label: 'churn@8 ADD: podwire vs bridge', unit: '×', read: (r) => div(c8(r, PW)?.addPerSecond, c8(r, BR)?.addPerSecond) },
  { label: 'churn@8 DEL pods/s, bridge+host-local', unit: '', read: (r) => c8(r, BR)?.delPerSecond },
  { label: 'churn@8 DEL pods/s, podwire', unit: '', read: (r) => c8(r, PW)?.delPerSecond },
  { label: 'churn@8 DEL: podwire vs bridge', unit: '×', read: (r) => div(c8(r, PW)?.delPerSecond, c8(r, BR)?.delPerSecond) },
  { label: 'podwired CPU per ADD (cpu-floor)', unit: ' ms', read: (r) => verb(r, 'ADD')?.podwiredMsPerCall },
  { label: 'podwired CPU per DEL (cpu-floor)', unit: ' ms', read: (r) => verb(r, 'DEL')?.podwiredMsPerCall },
  { label: 'podwired CPU per STATUS (cpu-floor)', unit: ' ms', read: (r) => verb(r, 'STATUS')?.podwiredMsPerCall },
  { label: 'bare grpc-js CPU per ADD+DEL', unit: ' ms', read: (r) => sum(verb(r, 'ADD')?.bareMsPerCall, verb(r, 'DEL')?.bareMsPerCall) },
  { label: 'podwired CPU per ADD+DEL vs bare grpc-js', unit: '×', read: (r) => r.cpuFloor?.addDelSumRatio },
  {
    label: 'of which podwired event loop per ADD+DEL',
    unit: ' ms',
    read: (r) => sum(r.cpuFloor?.podwired?.eventLoop?.add, r.cpuFloor?.podwired?.eventLoop?.del),
  },
  { label: 'bare grpc-js event loop per ADD+DEL', unit: ' ms', read: (r) => sum(r.cpuFloor?.bare?.eventLoop?.add, r.cpuFloor?.bare?.eventLoop?.del) },
  { label: 'pair gone after DEL p99 @1', unit: ' ms', read: (r) => r.cpuFloor?.gone?.find((g) => g.concurrency === 1)?.goneAfterDel?.p99 },
  { label: 'pair gone after DEL p99 @8', unit: ' ms', read: (r) => r.cpuFloor?.gone?.find((g) => g.concurrency === 8)?.goneAfterDel?.p99 },
  { label: 'ADD latency floor (no-op exec + kernel work)', unit: ' ms', read: (r) => r.cpuFloor?.floor?.floorMs },
  { label: 'sequential ADD p50 / floor', unit: '×', read: (r) => r.cpuFloor?.floor?.seqAddOverFloor },
  { label: 'datapath thread CPU per ADD', unit: ' ms', read: (r) => r.cpuFloor?.addThreads?.datapathMs },
  { label: "kernel floor's work per pod (ip CPU)", unit: ' ms', read: (r) => r.cpuFloor?.addThreads?.kernelFloorCpuPerPodMs },
  { label: 'datapath thread CPU per ADD / kernel floor', unit: '×', read: (r) => r.cpuFloor?.addThreads?.datapathOverKernelFloorCpu },
  { label: 'podwired RSS with 1,000 pods', unit: ' MB', read: (r) => cfg(r, PW)?.latency?.serverRssMbAtFill },
  { label: 'restart after SIGKILL, 1,000 pods: spawn → first ADD', unit: ' ms', read: (r) => r.restart?.find((x) => x.pods === 1000)?.restart?.spawnToAddMs },
  { label: 'restart after SIGKILL, 5,000 pods: spawn → first ADD', unit: ' ms', read: (r) => r.restart?.find((x) => x.pods === 5000)?.restart?.spawnToAddMs },
  { label: 'CRI RunPodSandbox p50: podwire ÷ bridge', unit: '×', read: (r) => r.cri?.ratios?.runPodSandboxP50 },
  { label: 'CRI CNI step p50: podwire ÷ bridge', unit: '×', read: (r) => r.cri?.ratios?.cniStepP50 },
  { label: 'CRI churn@8 sandboxes/s: podwire ÷ bridge', unit: '×', read: (r) => r.cri?.ratios?.churnRate },
];

const hp = (run: BenchJson, key: string) => run.hostPorts?.chains?.find((c) => c.key === key)?.p50;
/** The first pass (programming every peer from none) of a peer-programming row. */
const firstPass = (p: PassesJson | undefined) => p?.passes?.[0]?.ms;

/** Issues 20 and 21: the hostPort, masquerade, peer-programming and cross-node rows. */
export const FEATURE_FIGURES: readonly Figure[] = [
  { label: 'hostPort ADD p50, podwire plain (no mapping)', unit: ' ms', read: (r) => hp(r, 'plain') },
  { label: 'hostPort ADD p50, podwire native', unit: ' ms', read: (r) => hp(r, 'native') },
  { label: 'hostPort ADD p50, podwire + reference portmap', unit: ' ms', read: (r) => hp(r, 'podwirePortmap') },
  { label: 'hostPort ADD p50, bridge + host-local + portmap', unit: ' ms', read: (r) => hp(r, 'bridgePortmap') },
  { label: 'hostPort: bridge+portmap ÷ podwire native (≥ 10×)', unit: '×', read: (r) => r.hostPorts?.ratios?.bridgePortmapOverNative },
  { label: 'hostPort: podwire native ÷ plain ADD (≤ 1.2×)', unit: '×', read: (r) => r.hostPorts?.ratios?.nativeOverPlain },
  { label: 'hostPort: podwire+portmap ÷ podwire native', unit: '×', read: (r) => r.hostPorts?.ratios?.podwirePortmapOverNative },
  { label: 'sequential ADD p50, masquerade off', unit: ' ms', read: (r) => r.masquerade?.off?.seqAddP50 },
  { label: 'sequential ADD p50, masquerade on', unit: ' ms', read: (r) => r.masquerade?.on?.seqAddP50 },
  { label: 'sequential ADD p50: masquerade on ÷ off', unit: '×', read: (r) => r.masquerade?.ratios?.seqAddP50 },
  { label: 'churn@8 ADD pods/s, masquerade off', unit: '', read: (r) => r.masquerade?.off?.churnAddPerSecond },
  { label: 'churn@8 ADD pods/s, masquerade on', unit: '', read: (r) => r.masquerade?.on?.churnAddPerSecond },
  { label: 'churn@8 ADD pods/s: masquerade on ÷ off', unit: '×', read: (r) => r.masquerade?.ratios?.churnAddPerSecond },
  { label: 'churn@8 DEL pods/s: masquerade on ÷ off', unit: '×', read: (r) => r.masquerade?.ratios?.churnDelPerSecond },
  { label: '500 peers join: masquerade exclusions update', unit: ' ms', read: (r) => firstPass(r.egressPeers) },
  { label: '500 peers join: nftables transactions', unit: '', read: (r) => r.egressPeers?.passes?.[0]?.transactions },
  { label: '500 peers leave: masquerade exclusions update', unit: ' ms', read: (r) => r.egressPeers?.passes?.[3]?.ms },
  { label: 'program 500 peers, host-gw pass', unit: ' ms', read: (r) => firstPass(r.peerRoutes) },
  { label: 'program 500 peers, VXLAN pass', unit: ' ms', read: (r) => firstPass(r.peerRoutesVxlan) },
  { label: 'program 500 peers: VXLAN ÷ host-gw', unit: '×', read: (r) => div(firstPass(r.peerRoutesVxlan), firstPass(r.peerRoutes)) },
  { label: 'cross-node TCP request/response p50, direct', unit: ' µs', read: (r) => r.crossNode?.direct?.rrP50Us },
  { label: 'cross-node TCP request/response p50, VXLAN', unit: ' µs', read: (r) => r.crossNode?.vxlan?.rrP50Us },
  { label: 'cross-node request/response p50: VXLAN ÷ direct', unit: '×', read: (r) => r.crossNode?.ratios?.rrP50 },
  { label: 'cross-node TCP throughput, direct', unit: ' Gbit/s', read: (r) => r.crossNode?.direct?.gbps },
  { label: 'cross-node TCP throughput, VXLAN', unit: ' Gbit/s', read: (r) => r.crossNode?.vxlan?.gbps },
  { label: 'cross-node throughput: VXLAN ÷ direct', unit: '×', read: (r) => r.crossNode?.ratios?.throughput },
];

const pol = (run: BenchJson, key: string) => run.policy?.figures?.[key]?.median ?? undefined;

/** Issue 22: the NetworkPolicy rows (each run's figure is its median over its rounds). */
export const POLICY_FIGURES: readonly Figure[] = [
  { label: 'ADD p50, no policy', unit: ' ms', read: (r) => pol(r, 'seqAddP50NoPolicy') },
  { label: 'ADD p50, 1,000 pods and 200 policies', unit: ' ms', read: (r) => pol(r, 'seqAddP50Policy') },
  { label: 'ADD p50: with policies ÷ without (≤ 1.2×)', unit: '×', read: (r) => pol(r, 'seqAddRatio') },
  { label: "podwired's own ADD p50, no policy", unit: ' ms', read: (r) => pol(r, 'serverAddP50NoPolicy') },
  { label: "podwired's own ADD p50, with policies", unit: ' ms', read: (r) => pol(r, 'serverAddP50Policy') },
  { label: "podwired's own ADD: with ÷ without", unit: '×', read: (r) => pol(r, 'serverAddRatio') },
  { label: 'policy change in force, 1,000 pods (≤ 100 ms)', unit: ' ms', read: (r) => pol(r, 'policyChangeInForceMs') },
  { label: 'policy change: PUT → podwired log line', unit: ' ms', read: (r) => pol(r, 'policyChangeWallMs') },
  { label: 'label change of 1 pod among 1,000 in force (≤ 10 ms)', unit: ' ms', read: (r) => pol(r, 'labelChangeInForceMs') },
  { label: 'label change: PUT → podwired log line', unit: ' ms', read: (r) => pol(r, 'labelChangeWallMs') },
  { label: 'churn@8 ADD pods/s, no policy', unit: '', read: (r) => pol(r, 'churnAddPerSecondNoPolicy') },
  { label: 'churn@8 ADD pods/s, with policies', unit: '', read: (r) => pol(r, 'churnAddPerSecondPolicy') },
  { label: 'churn@8 ADD pods/s: with ÷ without', unit: '×', read: (r) => pol(r, 'churnAddRatio') },
  { label: 'churn@8 DEL pods/s: with ÷ without', unit: '×', read: (r) => pol(r, 'churnDelRatio') },
];

function sum(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b !== undefined ? a + b : undefined;
}
