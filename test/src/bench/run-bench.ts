/**
 * `npm run bench`: podwire side by side with the reference CNI plugins (bridge + host-local,
 * ptp + host-local), driven like a container runtime drives them. Measurement only: it creates
 * and deletes interfaces in its own network namespaces and never sends a packet.
 *
 *   node test/dist/bench/run-bench.js [--quick] [--pods N] [--fill N] [--samples N]
 *        [--shim-runs N] [--fill-budget-s S] [--executor helper|node] [--out PATH]
 *        [--run-id ID] [--work-dir DIR]
 *        [--only all|restart] [--restart-pods N,N] [--restart-timeout-s S] [--restart-poll-ms MS]
 *        [--restart-check-sample K] [--cpu-calls N] [--gone-pods M]
 *
 * `--only cpu-floor` runs only the cpu-floor rows (cpu-floor.ts): podwired CPU per ADD/DEL/STATUS
 * vs a bare grpc-js server, time until a DEL'd pod's veth pair is gone, and the ADD latency
 * floor; they also run in the full bench.
 * `--only cri` runs only the CRI rows (cri-bench.ts): bridge+host-local vs podwire behind a private
 * containerd 1.6 driven through CRI (RunPodSandbox p50, churn@8, the CNI step from containerd's
 * debug log); they also run in the full bench.
 * `--only restart` runs only the "restart to serving after SIGKILL" rows (restart-bench.ts),
 * which need the shim and podwired but not the reference plugins.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PodwiredProcess } from '../lib/podwired-process';
import { SERVER_MAIN, SHIM_BINARY } from '../lib/paths';
import { runCommand } from '../lib/run-command';
import {
  BENCH_BRIDGE,
  CniCallOutcome,
  CniDriver,
  Executor,
  HelperPoolExecutor,
  NetnsPool,
  NodeSpawnExecutor,
  PluginUnderTest,
  PodRef,
  bridgePlugin,
  bridgePorts,
  compileExecHelper,
  describeFailure,
  hostLinkExists,
  podwirePlugin,
  ptpPlugin,
} from './cni-driver';
import { KernelFloorResult, floorLinkPrefix, runKernelFloor } from './kernel-floor';
import { runPeerRoutesBench } from './peer-routes-bench';
import { RestartRowResult, cleanupRestartBench, renderRestart, restartTargets, runRestartBench } from './restart-bench';
import { parsePodCounts } from './restart-report';
import { CpuFloorResult, cpuFloorPoolPrefix, cpuFloorTargets, renderCpuFloor, runCpuFloor } from './cpu-floor';
import { Stats, fmt, renderTable, summarize } from './stats';
import { CriBenchResult, renderCri, runCriBench } from './cri-bench';

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  pods: number;
  churnPods: number;
  fill: number;
  samples: number;
  shimRuns: number;
  fillBudgetS: number;
  executor: 'helper' | 'node';
  out: string;
  runId: string;
  workDir: string | undefined;
  quick: boolean;
  only: 'all' | 'restart' | 'cpu-floor' | 'cri';
  cpuCalls: number;
  gonePods: number;
  restartPods: number[];
  restartTimeoutS: number;
  restartPollMs: number;
  restartCheckSample: number;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    pods: 200,
    churnPods: 400,
    fill: 1000,
    samples: 50,
    shimRuns: 500,
    fillBudgetS: 45,
    executor: 'helper',
    out: path.resolve('bench-results.json'),
    runId: String(process.pid),
    workDir: undefined,
    quick: false,
    only: 'all',
    cpuCalls: 200,
    gonePods: 100,
    restartPods: [1000, 5000],
    restartTimeoutS: 180,
    restartPollMs: 10,
    restartCheckSample: 100,
  };
  const explicit = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = (): number => {
      const v = Number(val());
      if (!Number.isInteger(v) || v < 1) throw new Error(`${a} needs a positive integer`);
      return v;
    };
    switch (a) {
      case '--quick':
        o.quick = true;
        break;
      case '--pods':
        o.pods = int();
        explicit.add('pods');
        break;
      case '--fill':
        o.fill = int();
        explicit.add('fill');
        break;
      case '--samples':
        o.samples = int();
        explicit.add('samples');
        break;
      case '--shim-runs':
        o.shimRuns = int();
        explicit.add('shimRuns');
        break;
      case '--fill-budget-s':
        o.fillBudgetS = int();
        break;
      case '--executor': {
        const v = val();
        if (v !== 'helper' && v !== 'node') throw new Error('--executor is helper or node');
        o.executor = v;
        break;
      }
      case '--out':
        o.out = path.resolve(val());
        break;
      case '--run-id': {
        const v = val();
        if (!/^[0-9]{1,10}$/.test(v)) throw new Error('--run-id must be digits');
        o.runId = v;
        break;
      }
      case '--work-dir':
        o.workDir = path.resolve(val());
        break;
      case '--only': {
        const v = val();
        if (v !== 'all' && v !== 'restart' && v !== 'cpu-floor' && v !== 'cri') throw new Error('--only is all, restart, cpu-floor or cri');
        o.only = v;
        break;
      }
      case '--restart-pods':
        o.restartPods = parsePodCounts(val());
        explicit.add('restartPods');
        break;
      case '--restart-timeout-s':
        o.restartTimeoutS = int();
        break;
      case '--restart-poll-ms':
        o.restartPollMs = int();
        break;
      case '--restart-check-sample':
        o.restartCheckSample = int();
        break;
      case '--cpu-calls':
        o.cpuCalls = int();
        explicit.add('cpuCalls');
        break;
      case '--gone-pods':
        o.gonePods = int();
        explicit.add('gonePods');
        break;
      case '-h':
      case '--help':
        process.stdout.write(
          'usage: run-bench [--quick] [--pods N] [--fill N] [--samples N] [--shim-runs N] [--fill-budget-s S]\n' +
            '                 [--executor helper|node] [--out PATH] [--run-id ID] [--work-dir DIR]\n' +
            '                 [--only all|restart] [--restart-pods N,N] [--restart-timeout-s S] [--restart-poll-ms MS]\n' +
            '                 [--restart-check-sample K] [--cpu-calls N] [--gone-pods M]\n' +
            '                 (--only all|restart|cpu-floor|cri)\n',
        );
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${a}`);
    }
  }
  if (o.quick && !explicit.has('pods')) o.pods = 20;
  if (!explicit.has('fill')) o.fill = o.pods * 5;
  if (o.quick && !explicit.has('samples')) o.samples = 10;
  if (o.quick && !explicit.has('shimRuns')) o.shimRuns = 100;
  if (o.quick && !explicit.has('restartPods')) o.restartPods = [100];
  if (o.quick && !explicit.has('cpuCalls')) o.cpuCalls = 50;
  if (o.quick && !explicit.has('gonePods')) o.gonePods = 30;
  o.churnPods = o.pods * 2;
  return o;
}

// ---------------------------------------------------------------------------------------------
// podwired process accounting (/proc)

function procCpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ": fields[0] is state (field 3), so utime (14) is [11], stime (15) is [12].
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLK_TCK;
}

function procStatusKb(pid: number, key: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

let CLK_TCK = 100;

// ---------------------------------------------------------------------------------------------
// Workloads

interface PhaseResult {
  verb: string;
  tag: string;
  concurrency: number;
  attempted: number;
  ok: number;
  failed: number;
  wallMs: number;
  /** Completed operations per second of wall time. */
  perSecond: number;
  latency: Stats;
  /** CPU of the executed plugin process (user + system, from wait4), per call. */
  pluginCpu: Stats | undefined;
  /** podwire only: podwired's CPU over the phase / ok calls. */
  serverCpuMsPerCall?: number;
  /** podwire only: podwired's own durationMs from its log, per call. */
  serverDuration?: Stats;
  firstError?: string;
}

interface ChurnResult {
  concurrency: number;
  pods: number;
  wallMs: number;
  /** Full ADD+DEL cycles per second of wall time. */
  cyclesPerSecond: number;
  add: PhaseResult;
  del: PhaseResult;
  /** Per-verb throughput at this concurrency: ok calls / (sum of their latencies / concurrency). */
  addPerSecond: number;
  delPerSecond: number;
  serverCpuMsPerPod?: number;
}

interface ConfigResult {
  label: string;
  sequential: { pods: number; add: PhaseResult; check: PhaseResult; del: PhaseResult; serverRssMbAfterAdd?: number };
  churn: ChurnResult[];
  latency: {
    samples: number;
    fillRequested: number;
    filled: number;
    fillStoppedByBudget: boolean;
    fill: PhaseResult;
    addAt0: PhaseResult;
    addAtFill: PhaseResult;
    drain: PhaseResult;
    serverRssMbAtFill?: number;
    serverHwmMb?: number;
  };
}

class Bench {
  readonly logsPrefix: string;
  server: PodwiredProcess | undefined;

  constructor(
    readonly opts: Options,
    readonly exec: Executor,
    readonly pool: NetnsPool,
  ) {
    this.logsPrefix = `b${opts.runId}`;
  }

  pod(tag: string, i: number, poolIndex: number): PodRef {
    return { containerId: `${tag}-${i}`, netnsPath: this.pool.path(poolIndex), ifname: 'eth0', podName: `${tag}-${i}` };
  }

  private serverCpu(): number | undefined {
    const pid = this.server?.pid;
    return pid === undefined ? undefined : procCpuMs(pid);
  }

  /** Runs `op` over `pods` with `concurrency` workers; times every call. */
  async phase(
    verb: string,
    tag: string,
    pods: PodRef[],
    concurrency: number,
    op: (p: PodRef, i: number) => Promise<CniCallOutcome>,
    opts: { budgetMs?: number } = {},
  ): Promise<PhaseResult & { outcomes: Array<CniCallOutcome | undefined> }> {
    const outcomes: Array<CniCallOutcome | undefined> = new Array(pods.length).fill(undefined);
    const cpu0 = this.serverCpu();
    const started = performance.now();
    let next = 0;
    const worker = async () => {
      for (;;) {
        const i = next++;
        const p = pods[i];
        if (p === undefined) return;
        if (opts.budgetMs !== undefined && performance.now() - started > opts.budgetMs) {
          next = pods.length;
          return;
        }
        outcomes[i] = await op(p, i);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, pods.length) }, worker));
    const wallMs = performance.now() - started;
    const cpu1 = this.serverCpu();
    const done = outcomes.filter((o): o is CniCallOutcome => o !== undefined);
    const ok = done.filter((o) => o.ok);
    const failedOne = done.find((o) => !o.ok);
    const cpus = done.map((o) => o.cpuMs).filter((c): c is number => c !== undefined);
    const r: PhaseResult & { outcomes: Array<CniCallOutcome | undefined> } = {
      verb,
      tag,
      concurrency,
      attempted: done.length,
      ok: ok.length,
      failed: done.length - ok.length,
      wallMs,
      perSecond: (ok.length * 1000) / wallMs,
      latency: summarize(ok.map((o) => o.elapsedMs)),
      pluginCpu: cpus.length ? summarize(cpus) : undefined,
      outcomes,
    };
    if (cpu0 !== undefined && cpu1 !== undefined && ok.length > 0) r.serverCpuMsPerCall = (cpu1 - cpu0) / ok.length;
    if (failedOne) r.firstError = describeFailure(failedOne);
    return r;
  }

  async runConfig(plugin: PluginUnderTest, short: string): Promise<ConfigResult> {
    const d = new CniDriver(plugin, this.exec);
    const o = this.opts;
    const tag = (w: string) => `${this.logsPrefix}-${short}-${w}`;
    const strip = (p: PhaseResult & { outcomes?: unknown }): PhaseResult => {
      const { outcomes: _omit, ...rest } = p;
      void _omit;
      return rest;
    };
    const log = (msg: string) => process.stderr.write(`  [${plugin.label}] ${msg}\n`);

    // 1. Sequential ADD, then CHECK each, then DEL each.
    const seqPods = Array.from({ length: o.pods }, (_, i) => this.pod(tag('seq'), i, i));
    const add = await this.phase('ADD', tag('seq'), seqPods, 1, (p) => d.add(p));
    const results = add.outcomes.map((x) => (x?.ok ? x.json : undefined));
    const rssAfterAdd = this.server?.pid !== undefined ? procStatusKb(this.server.pid, 'VmRSS') / 1024 : undefined;
    const check = await this.phase('CHECK', tag('seq'), seqPods, 1, (p, i) => d.check(p, results[i]));
    const del = await this.phase('DEL', tag('seq'), seqPods, 1, (p, i) => d.del(p, results[i]));
    log(`sequential ${o.pods}: ADD p50 ${fmt(add.latency.p50)} ms, CHECK p50 ${fmt(check.latency.p50)} ms, DEL p50 ${fmt(del.latency.p50)} ms`);

    // 2. Churn: each worker ADDs then DELs its pod (namespaces already exist).
    const churn: ChurnResult[] = [];
    for (const c of [8, 32]) {
      const w = `churn${c}`;
      const pods = Array.from({ length: o.churnPods }, (_, i) => this.pod(tag(w), i, i));
      const addLat: CniCallOutcome[] = [];
      const delLat: CniCallOutcome[] = [];
      const cycle = await this.phase('ADD+DEL', tag(w), pods, c, async (p) => {
        const a = await d.add(p);
        addLat.push(a);
        const dl = await d.del(p, a.ok ? a.json : undefined);
        delLat.push(dl);
        return a.ok ? dl : a;
      });
      const sub = (verb: string, xs: CniCallOutcome[]): PhaseResult => {
        const ok = xs.filter((x) => x.ok);
        const cpus = xs.map((x) => x.cpuMs).filter((v): v is number => v !== undefined);
        const bad = xs.find((x) => !x.ok);
        const sumMs = ok.reduce((s, x) => s + x.elapsedMs, 0);
        return {
          verb,
          tag: tag(w),
          concurrency: c,
          attempted: xs.length,
          ok: ok.length,
          failed: xs.length - ok.length,
          wallMs: sumMs / c,
          perSecond: sumMs > 0 ? (ok.length * 1000 * c) / sumMs : NaN,
          latency: summarize(ok.map((x) => x.elapsedMs)),
          pluginCpu: cpus.length ? summarize(cpus) : undefined,
          ...(bad ? { firstError: describeFailure(bad) } : {}),
        };
      };
      const a = sub('ADD', addLat);
      const dl = sub('DEL', delLat);
      const r: ChurnResult = {
        concurrency: c,
        pods: o.churnPods,
        wallMs: cycle.wallMs,
        cyclesPerSecond: cycle.perSecond,
        add: a,
        del: dl,
        addPerSecond: a.perSecond,
        delPerSecond: dl.perSecond,
      };
      if (cycle.serverCpuMsPerCall !== undefined) r.serverCpuMsPerPod = cycle.serverCpuMsPerCall;
      churn.push(r);
      log(`churn@${c} ${o.churnPods}: ${fmt(r.cyclesPerSecond)} cycles/s, ADD p50 ${fmt(a.latency.p50)} ms, DEL p50 ${fmt(dl.latency.p50)} ms`);
    }

    // 3. ADD latency with 0 pods present, then with `fill` pods present.
    const k = o.samples;
    const sample = async (w: string, base: number) => {
      const pods = Array.from({ length: k }, (_, i) => this.pod(tag(w), i, base + i));
      const adds: CniCallOutcome[] = [];
      await this.phase('ADD+DEL', tag(w), pods, 1, async (p) => {
        const a = await d.add(p);
        adds.push(a);
        await d.del(p, a.ok ? a.json : undefined);
        return a;
      });
      const ok = adds.filter((x) => x.ok);
      const bad = adds.find((x) => !x.ok);
      const cpus = adds.map((x) => x.cpuMs).filter((v): v is number => v !== undefined);
      const r: PhaseResult = {
        verb: 'ADD',
        tag: tag(w),
        concurrency: 1,
        attempted: adds.length,
        ok: ok.length,
        failed: adds.length - ok.length,
        wallMs: ok.reduce((s, x) => s + x.elapsedMs, 0),
        perSecond: NaN,
        latency: summarize(ok.map((x) => x.elapsedMs)),
        pluginCpu: cpus.length ? summarize(cpus) : undefined,
        ...(bad ? { firstError: describeFailure(bad) } : {}),
      };
      r.perSecond = (r.ok * 1000) / r.wallMs;
      return r;
    };
    const addAt0 = await sample('lat0', o.fill);
    const fillPods = Array.from({ length: o.fill }, (_, i) => this.pod(tag('fill'), i, i));
    const fill = await this.phase('ADD', tag('fill'), fillPods, 8, (p) => d.add(p), { budgetMs: o.fillBudgetS * 1000 });
    const filled = fill.ok;
    const fillResults = fill.outcomes.map((x) => (x?.ok ? x.json : undefined));
    const rssAtFill = this.server?.pid !== undefined ? procStatusKb(this.server.pid, 'VmRSS') / 1024 : undefined;
    log(`filled ${filled}/${o.fill} pods in ${fmt(fill.wallMs / 1000)} s`);
    const addAtFill = await sample(`lat${filled}`, o.fill);
    const present = fillPods.filter((_, i) => fill.outcomes[i] !== undefined);
    const drain = await this.phase('DEL', tag('fill'), present, 8, (p, i) => d.del(p, fillResults[i]));
    const hwm = this.server?.pid !== undefined ? procStatusKb(this.server.pid, 'VmHWM') / 1024 : undefined;
    log(`ADD p50 with 0 pods ${fmt(addAt0.latency.p50)} ms, with ${filled} pods ${fmt(addAtFill.latency.p50)} ms; drained in ${fmt(drain.wallMs / 1000)} s`);

    const result: ConfigResult = {
      label: plugin.label,
      sequential: { pods: o.pods, add: strip(add), check: strip(check), del: strip(del) },
      churn,
      latency: {
        samples: k,
        fillRequested: o.fill,
        filled,
        fillStoppedByBudget: fill.attempted < o.fill,
        fill: strip(fill),
        addAt0,
        addAtFill,
        drain: strip(drain),
      },
    };
    if (rssAfterAdd !== undefined) result.sequential.serverRssMbAfterAdd = rssAfterAdd;
    if (rssAtFill !== undefined) result.latency.serverRssMbAtFill = rssAtFill;
    if (hwm !== undefined) result.latency.serverHwmMb = hwm;
    return result;
  }
}

/** Attaches podwired's own per-call durationMs (from its pino log) to each podwire phase. */
function attachServerDurations(cfg: ConfigResult, records: Array<Record<string, unknown>>): void {
  const durations = (verb: string, tag: string) =>
    records
      .filter((r) => r.verb === verb && typeof r.containerId === 'string' && r.containerId.startsWith(`${tag}-`) && r.outcome === 'ok')
      .map((r) => Number(r.durationMs));
  const put = (p: PhaseResult, verb = p.verb) => {
    const ds = durations(verb, p.tag);
    if (ds.length) p.serverDuration = summarize(ds);
  };
  put(cfg.sequential.add);
  put(cfg.sequential.check);
  put(cfg.sequential.del);
  for (const c of cfg.churn) {
    put(c.add);
    put(c.del);
  }
  put(cfg.latency.addAt0);
  put(cfg.latency.addAtFill);
  put(cfg.latency.fill);
  put(cfg.latency.drain);
}

// ---------------------------------------------------------------------------------------------
// The shim alone

interface ShimResult {
  runs: number;
  executor: string;
  staticNoop: Stats;
  staticNoopCpu: Stats | undefined;
  version: Stats;
  versionCpu: Stats | undefined;
  versionNodeSpawn: Stats;
  nodeSpawnStaticNoop: Stats;
  bridgeVersion: Stats;
  status: Stats;
  statusServer: Stats | undefined;
  failures: string[];
}

async function runShimBench(exec: Executor, helperPath: string | undefined, podwire: PluginUnderTest, runs: number, server: PodwiredProcess): Promise<ShimResult> {
  const failures: string[] = [];
  const times = async (n: number, fn: () => Promise<CniCallOutcome>, label: string) => {
    const out: CniCallOutcome[] = [];
    for (let i = 0; i < n; i++) {
      const r = await fn();
      if (!r.ok && failures.length < 5) failures.push(`${label}: ${describeFailure(r)}`);
      out.push(r);
    }
    return out;
  };
  const shim = new CniDriver(podwire, exec);
  const noopPlugin: PluginUnderTest = { label: 'noop', binary: helperPath ?? '/bin/true', cniPath: '/', netconf: podwire.netconf, env: { EXEC_HELPER_NOOP: '1' } };
  const noop = await times(runs, () => new CniDriver(noopPlugin, exec).version(), 'static noop');
  const version = await times(runs, () => shim.version(), 'shim VERSION');
  const node = new NodeSpawnExecutor();
  const nRuns = Math.min(runs, 200);
  const versionNode = await times(nRuns, () => new CniDriver(podwire, node).version(), 'shim VERSION (node spawn)');
  const noopNode = await times(nRuns, () => new CniDriver(noopPlugin, node).version(), 'static noop (node spawn)');
  const bridge = await times(nRuns, () => new CniDriver(bridgePlugin('/nonexistent'), exec).version(), 'bridge VERSION');
  const status = await times(runs, () => shim.status(), 'shim STATUS');
  await new Promise((r) => setTimeout(r, 200));
  const statusServer = server
    .logRecords()
    .filter((r) => r.verb === 'STATUS' && r.outcome === 'ok')
    .map((r) => Number(r.durationMs));
  const ok = (xs: CniCallOutcome[]) => summarize(xs.filter((x) => x.ok).map((x) => x.elapsedMs));
  const cpus = version.map((x) => x.cpuMs).filter((v): v is number => v !== undefined);
  const noopCpus = noop.map((x) => x.cpuMs).filter((v): v is number => v !== undefined);
  return {
    runs,
    executor: exec.kind,
    staticNoop: ok(noop),
    staticNoopCpu: noopCpus.length ? summarize(noopCpus) : undefined,
    version: ok(version),
    versionCpu: cpus.length ? summarize(cpus) : undefined,
    versionNodeSpawn: ok(versionNode),
    nodeSpawnStaticNoop: ok(noopNode),
    bridgeVersion: ok(bridge),
    status: ok(status),
    statusServer: statusServer.length ? summarize(statusServer) : undefined,
    failures,
  };
}

// ---------------------------------------------------------------------------------------------
// Machine

async function machine(): Promise<Record<string, string | number>> {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? 'unknown';
  const nproc = (await runCommand('nproc', [])).stdout.trim();
  const kernel = (await runCommand('uname', ['-r'])).stdout.trim();
  const pluginsVersion = (await runCommand('dpkg-query', ['-W', '-f=${Version}', 'containernetworking-plugins'])).stdout.trim();
  return {
    nproc: Number(nproc),
    cpuModel: model,
    kernel,
    node: process.version,
    loadAvg: os.loadavg().map((l) => l.toFixed(2)).join(' '),
    memTotalMb: Math.round(os.totalmem() / 1024 / 1024),
    containernetworkingPlugins: pluginsVersion || 'unknown',
  };
}

// ---------------------------------------------------------------------------------------------
// Report

interface Target {
  target: string;
  measured: string;
  met: boolean;
  margin: string;
}

function ratio(a: number | undefined, b: number | undefined): number {
  return a !== undefined && b !== undefined && b > 0 ? a / b : NaN;
}

function buildReport(configs: ConfigResult[], shim: ShimResult | undefined, floor: KernelFloorResult | undefined, o: Options, restart: RestartRowResult[] = []) {
  const [br, ptp, pw] = configs;
  const lines: string[] = [];
  if (!br || !ptp || !pw) return { text: '(missing configurations)', ratios: {}, targets: [] as Target[] };

  const ms = (s: Stats | undefined) => (s ? `${fmt(s.p50)} / ${fmt(s.p99)}` : '-');
  const c8 = (c: ConfigResult) => c.churn.find((x) => x.concurrency === 8);
  const c32 = (c: ConfigResult) => c.churn.find((x) => x.concurrency === 32);
  type Row = { name: string; get: (c: ConfigResult) => number | undefined; show?: (c: ConfigResult) => string; better: 'lower' | 'higher' };
  const rowsDef: Row[] = [
    { name: `seq ADD p50 / p99 ms (${o.pods} pods)`, get: (c) => c.sequential.add.latency.p50, show: (c) => ms(c.sequential.add.latency), better: 'lower' },
    { name: 'seq ADD pods/s', get: (c) => c.sequential.add.perSecond, better: 'higher' },
    { name: 'seq CHECK p50 / p99 ms', get: (c) => c.sequential.check.latency.p50, show: (c) => ms(c.sequential.check.latency), better: 'lower' },
    { name: 'seq DEL p50 / p99 ms', get: (c) => c.sequential.del.latency.p50, show: (c) => ms(c.sequential.del.latency), better: 'lower' },
    { name: 'seq DEL pods/s', get: (c) => c.sequential.del.perSecond, better: 'higher' },
    { name: `churn@8 ADD p50 / p99 ms (${o.churnPods} pods)`, get: (c) => c8(c)?.add.latency.p50, show: (c) => ms(c8(c)?.add.latency), better: 'lower' },
    { name: 'churn@8 DEL p50 / p99 ms', get: (c) => c8(c)?.del.latency.p50, show: (c) => ms(c8(c)?.del.latency), better: 'lower' },
    { name: 'churn@8 ADD pods/s', get: (c) => c8(c)?.addPerSecond, better: 'higher' },
    { name: 'churn@8 DEL pods/s', get: (c) => c8(c)?.delPerSecond, better: 'higher' },
    { name: 'churn@8 ADD+DEL cycles/s (wall)', get: (c) => c8(c)?.cyclesPerSecond, better: 'higher' },
    { name: 'churn@32 ADD p50 / p99 ms', get: (c) => c32(c)?.add.latency.p50, show: (c) => ms(c32(c)?.add.latency), better: 'lower' },
    { name: 'churn@32 DEL p50 / p99 ms', get: (c) => c32(c)?.del.latency.p50, show: (c) => ms(c32(c)?.del.latency), better: 'lower' },
    { name: 'churn@32 ADD pods/s', get: (c) => c32(c)?.addPerSecond, better: 'higher' },
    { name: 'churn@32 DEL pods/s', get: (c) => c32(c)?.delPerSecond, better: 'higher' },
    { name: 'churn@32 ADD+DEL cycles/s (wall)', get: (c) => c32(c)?.cyclesPerSecond, better: 'higher' },
    { name: 'ADD p50 / p99 ms, 0 pods present', get: (c) => c.latency.addAt0.latency.p50, show: (c) => ms(c.latency.addAt0.latency), better: 'lower' },
    {
      name: 'ADD p50 / p99 ms, N pods present',
      get: (c) => c.latency.addAtFill.latency.p50,
      show: (c) => `${ms(c.latency.addAtFill.latency)} (N=${c.latency.filled})`,
      better: 'lower',
    },
    { name: 'ADD p50 ratio N / 0 pods', get: (c) => ratio(c.latency.addAtFill.latency.p50, c.latency.addAt0.latency.p50), better: 'lower' },
    { name: 'fill pods/s (ADD @8)', get: (c) => c.latency.fill.perSecond, better: 'higher' },
    { name: 'drain pods/s (DEL @8, N present)', get: (c) => c.latency.drain.perSecond, better: 'higher' },
    { name: 'plugin process CPU ms per ADD (seq p50)', get: (c) => c.sequential.add.pluginCpu?.p50, better: 'lower' },
  ];
  const speedup = (r: Row, ref: ConfigResult) => {
    const a = r.get(pw);
    const b = r.get(ref);
    if (r.name.startsWith('ADD p50 ratio')) return '';
    const x = r.better === 'lower' ? ratio(b, a) : ratio(a, b);
    return Number.isFinite(x) ? `${fmt(x)}x` : '-';
  };
  lines.push(
    renderTable(
      ['workload', br.label, ptp.label, pw.label, 'podwire vs bridge', 'podwire vs ptp'],
      rowsDef.map((r) => [r.name, ...[br, ptp, pw].map((c) => (r.show ? r.show(c) : fmt(r.get(c)))), speedup(r, br), speedup(r, ptp)]),
    ),
  );
  lines.push('');
  lines.push('Ratios: latency rows = reference / podwire; throughput rows = podwire / reference (>1x means podwire is better).');
  lines.push('Per-verb churn pods/s = ok calls / (sum of their latencies / concurrency) (what the workers would sustain doing only that verb).');

  // podwire server side
  const pwRows: string[][] = [];
  const srv = (name: string, p: PhaseResult) =>
    pwRows.push([
      name,
      ms(p.latency),
      ms(p.serverDuration),
      p.serverDuration ? fmt(p.latency.p50 - p.serverDuration.p50) : '-',
      fmt(p.pluginCpu?.p50),
      fmt(p.serverCpuMsPerCall),
    ]);
  srv('seq ADD', pw.sequential.add);
  srv('seq CHECK', pw.sequential.check);
  srv('seq DEL', pw.sequential.del);
  for (const c of pw.churn) {
    pwRows.push([`churn@${c.concurrency} ADD`, ms(c.add.latency), ms(c.add.serverDuration), c.add.serverDuration ? fmt(c.add.latency.p50 - c.add.serverDuration.p50) : '-', fmt(c.add.pluginCpu?.p50), '']);
    pwRows.push([
      `churn@${c.concurrency} DEL`,
      ms(c.del.latency),
      ms(c.del.serverDuration),
      c.del.serverDuration ? fmt(c.del.latency.p50 - c.del.serverDuration.p50) : '-',
      fmt(c.del.pluginCpu?.p50),
      `${fmt(c.serverCpuMsPerPod)} per ADD+DEL`,
    ]);
  }
  srv('ADD, 0 pods present', pw.latency.addAt0);
  srv(`ADD, ${pw.latency.filled} pods present`, pw.latency.addAtFill);
  srv(`fill ADD @8`, pw.latency.fill);
  srv(`drain DEL @8`, pw.latency.drain);
  lines.push('');
  lines.push('podwire: caller-side latency vs podwired durationMs (from its log), shim CPU, server CPU');
  lines.push(
    renderTable(['phase', 'caller p50 / p99 ms', 'server p50 / p99 ms', 'outside server p50 ms', 'shim CPU ms p50', 'server CPU ms/call'], pwRows),
  );
  lines.push(
    `podwired RSS: ${fmt(pw.sequential.serverRssMbAfterAdd)} MB after ${o.pods} sequential ADDs; ${fmt(pw.latency.serverRssMbAtFill)} MB with ${pw.latency.filled} pods; peak (VmHWM) ${fmt(pw.latency.serverHwmMb)} MB`,
  );

  if (shim) {
    lines.push('');
    lines.push(`shim alone (${shim.runs} runs, timed by ${shim.executor}; p50 / p99 ms)`);
    lines.push(
      renderTable(
        ['what', 'p50 / p99 ms'],
        [
          ['static no-op binary (exec floor)', ms(shim.staticNoop)],
          ['static no-op CPU (user+sys)', ms(shim.staticNoopCpu)],
          ['shim VERSION (no server)', ms(shim.version)],
          ['shim VERSION CPU (user+sys)', ms(shim.versionCpu)],
          ['bridge VERSION (Go binary)', ms(shim.bridgeVersion)],
          ['shim STATUS round trip', ms(shim.status)],
          ['  of which podwired STATUS durationMs', ms(shim.statusServer)],
          ['shim VERSION via Node spawn', ms(shim.versionNodeSpawn)],
          ['static no-op via Node spawn', ms(shim.nodeSpawnStaticNoop)],
        ],
      ),
    );
    if (shim.failures.length) lines.push(`shim failures: ${shim.failures.join('; ')}`);
  }

  if (floor) {
    lines.push('');
    lines.push(`kernel floor: podwire's ADD netlink operations for ${floor.pods} pods via iproute2`);
    lines.push('(one `ip -batch` for all host-side lines; `ip -batch` has no per-line -n, so one `ip -n NS -batch` per pod for pod-side lines)');
    lines.push(
      renderTable(
        ['what', 'ms'],
        [
          [`host batch, all ${floor.pods} pods (link add + up + route)`, fmt(floor.hostBatchMs)],
          ['pod batch per pod p50 / p99 (addr, up, neigh, 2 routes)', ms(floor.podBatch)],
          ['empty `ip -n NS -batch` per pod p50 / p99 (exec + setns)', ms(floor.emptyPodBatch)],
          ['ADD per pod, all processes included', fmt(floor.addPerPodMs)],
          ['ADD per pod, kernel work only (estimate)', fmt(floor.addKernelPerPodMs)],
          [`DEL: one batch of ${floor.pods} link del`, fmt(floor.delBatchMs)],
          ['DEL per pod', fmt(floor.delPerPodMs)],
        ],
      ),
    );
    if (floor.failures.length) lines.push(`floor failures: ${floor.failures.slice(0, 3).join('; ')}`);
  }

  // Failures in any phase
  const failures: string[] = [];
  for (const c of configs) {
    const phases: PhaseResult[] = [c.sequential.add, c.sequential.check, c.sequential.del, ...c.churn.flatMap((x) => [x.add, x.del]), c.latency.addAt0, c.latency.fill, c.latency.addAtFill, c.latency.drain];
    for (const p of phases) if (p.failed > 0) failures.push(`${c.label} ${p.tag} ${p.verb}: ${p.failed}/${p.attempted} failed, first: ${p.firstError ?? '?'}`);
  }
  lines.push('');
  lines.push(failures.length ? `FAILED CALLS:\n  ${failures.join('\n  ')}` : 'failed calls: none');

  // Targets
  const targets: Target[] = [];
  // Issue 13's targets (ratios to the references measured in this same run).
  for (const ref of [br, ptp]) {
    const add = ratio(ref.sequential.add.latency.p50, pw.sequential.add.latency.p50);
    targets.push({
      target: `sequential ADD p50 >= 4x faster than ${ref.label}`,
      measured: `${fmt(add)}x (${fmt(ref.sequential.add.latency.p50)} / ${fmt(pw.sequential.add.latency.p50)} ms)`,
      met: add >= 4,
      margin: `${fmt((add / 4) * 100, 0)}% of target`,
    });
    const del = ratio(ref.sequential.del.latency.p50, pw.sequential.del.latency.p50);
    targets.push({
      target: `sequential DEL p50 >= 10x faster than ${ref.label}`,
      measured: `${fmt(del)}x (${fmt(ref.sequential.del.latency.p50)} / ${fmt(pw.sequential.del.latency.p50)} ms)`,
      met: del >= 10,
      margin: `${fmt((del / 10) * 100, 0)}% of target`,
    });
    const a = ratio(c8(pw)?.addPerSecond, c8(ref)?.addPerSecond);
    targets.push({
      target: `churn@8 ADD pods/s >= 2x ${ref.label}`,
      measured: `${fmt(a)}x (${fmt(c8(pw)?.addPerSecond)} vs ${fmt(c8(ref)?.addPerSecond)} pods/s)`,
      met: a >= 2,
      margin: `${fmt((a / 2) * 100, 0)}% of target`,
    });
    const dl = ratio(c8(pw)?.delPerSecond, c8(ref)?.delPerSecond);
    targets.push({
      target: `churn@8 DEL pods/s >= 4x ${ref.label}`,
      measured: `${fmt(dl)}x (${fmt(c8(pw)?.delPerSecond)} vs ${fmt(c8(ref)?.delPerSecond)} pods/s)`,
      met: dl >= 4,
      margin: `${fmt((dl / 4) * 100, 0)}% of target`,
    });
  }
  const scale = ratio(pw.latency.addAtFill.latency.p50, pw.latency.addAt0.latency.p50);
  targets.push({
    target: `podwire ADD p50 with 1,000 pods within 1.5x of with 0${pw.latency.filled < 1000 ? ` (measured with ${pw.latency.filled} pods)` : ''}`,
    measured: `${fmt(scale)}x (${fmt(pw.latency.addAtFill.latency.p50)} vs ${fmt(pw.latency.addAt0.latency.p50)} ms)`,
    met: scale <= 1.5 && pw.latency.filled >= 1000,
    margin: pw.latency.filled >= 1000 ? `limit 1.5x` : `not at 1,000 pods`,
  });
  if (shim) {
    targets.push({
      target: 'shim VERSION < 1 ms (p50, posix_spawn to reap)',
      measured: `${fmt(shim.version.p50)} ms (p99 ${fmt(shim.version.p99)}; static no-op floor here ${fmt(shim.staticNoop.p50)} ms)`,
      met: shim.version.p50 < 1,
      margin: shim.version.p50 < 1 ? `${fmt(1 - shim.version.p50)} ms under` : `${fmt(shim.version.p50 - 1)} ms over`,
    });
  }
  const rss = pw.latency.serverRssMbAtFill;
  targets.push({
    target: `podwired RSS < 150 MB with 1,000 pods${pw.latency.filled < 1000 ? ` (measured with ${pw.latency.filled})` : ''}`,
    measured: `${fmt(rss)} MB (peak ${fmt(pw.latency.serverHwmMb)} MB)`,
    met: rss !== undefined && rss < 150 && pw.latency.filled >= 1000,
    margin: rss !== undefined ? `${fmt(150 - rss)} MB headroom` : '-',
  });
  if (restart.length) {
    lines.push('');
    lines.push(renderRestart(restart));
    targets.push(...restartTargets(restart));
  }
  lines.push('');
  lines.push('targets');
  lines.push(renderTable(['target', 'measured', 'result', 'margin'], targets.map((t) => [t.target, t.measured, t.met ? 'MET' : 'MISSED', t.margin])));

  const ratios = {
    seqAddP50VsBridge: ratio(br.sequential.add.latency.p50, pw.sequential.add.latency.p50),
    seqAddP50VsPtp: ratio(ptp.sequential.add.latency.p50, pw.sequential.add.latency.p50),
    churn8AddPerSecondVsBridge: ratio(c8(pw)?.addPerSecond, c8(br)?.addPerSecond),
    churn8AddPerSecondVsPtp: ratio(c8(pw)?.addPerSecond, c8(ptp)?.addPerSecond),
    churn8DelPerSecondVsBridge: ratio(c8(pw)?.delPerSecond, c8(br)?.delPerSecond),
    churn8DelPerSecondVsPtp: ratio(c8(pw)?.delPerSecond, c8(ptp)?.delPerSecond),
    churn32AddPerSecondVsBridge: ratio(c32(pw)?.addPerSecond, c32(br)?.addPerSecond),
    churn32DelPerSecondVsBridge: ratio(c32(pw)?.delPerSecond, c32(br)?.delPerSecond),
    seqDelP50VsBridge: ratio(br.sequential.del.latency.p50, pw.sequential.del.latency.p50),
    podwireAddP50FillOverZero: scale,
  };
  return { text: lines.join('\n'), ratios, targets };
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root: the benchmark creates network namespaces and interfaces');
  const wallStart = performance.now();
  CLK_TCK = Number((await runCommand('getconf', ['CLK_TCK'])).stdout.trim()) || 100;
  const m = await machine();
  process.stdout.write(
    `podwire benchmark (${o.quick ? 'quick' : 'full'}): ${m.nproc} CPUs, ${m.cpuModel}, kernel ${m.kernel}, Node ${m.node}, ` +
      `${m.memTotalMb} MB RAM, load ${m.loadAvg}, containernetworking-plugins ${m.containernetworkingPlugins}\n` +
      (o.only !== 'all'
        ? ''
        : `sizes: sequential ${o.pods} pods, churn ${o.churnPods} pods @8 and @32, latency ${o.samples} samples at 0 and at ${o.fill} pods, shim ${o.shimRuns} runs\n`) +
      (o.only === 'cpu-floor' || o.only === 'cri'
        ? ''
        : `restart after SIGKILL: ${o.restartPods.join(', ')} pods (bound ${o.restartTimeoutS} s, poll ${o.restartPollMs} ms)${o.only === 'restart' ? ' only' : ''}\n`) +
      (o.only === 'restart' || o.only === 'cri' ? '' : `cpu-floor: ${o.cpuCalls} sequential calls per verb, pair-gone rows with ${o.gonePods} pods @1 and @8${o.only === 'cpu-floor' ? ' only' : ''}\n`),
  );
  const needed = o.only !== 'all' ? [SHIM_BINARY, SERVER_MAIN] : ['/usr/lib/cni/bridge', '/usr/lib/cni/ptp', '/usr/lib/cni/host-local', SHIM_BINARY, SERVER_MAIN];
  for (const p of needed) {
    if (!fs.existsSync(p)) throw new Error(`${p} is missing (run scripts/bench.sh, which installs containernetworking-plugins, after npm run build)`);
  }

  const ownWorkDir = o.workDir === undefined;
  const workDir = o.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), `pwb-${o.runId}-`));
  fs.mkdirSync(workDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(workDir, 0o700);
  const prefix = `pwb-${o.runId}`;
  const pool = new NetnsPool(prefix);
  const bridgeExisted = hostLinkExists(BENCH_BRIDGE);
  let exec: Executor | undefined;
  let server: PodwiredProcess | undefined;

  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    (cleaned ??= (async () => {
      const step = async (what: string, fn: () => Promise<unknown> | unknown) => {
        try {
          await fn();
        } catch (err) {
          process.stderr.write(`bench cleanup: ${what}: ${String(err)}\n`);
        }
      };
      await step('stop podwired', () => server?.stop());
      await step('exec helpers', () => exec?.close());
      await step('floor links', async () => {
        const fp = floorLinkPrefix(o.runId);
        const left = fs.readdirSync('/sys/class/net').filter((n) => n.startsWith(fp));
        for (const n of left) await runCommand('ip', ['link', 'del', n]);
      });
      await step('restart rows', () => cleanupRestartBench());
      await step('cpu-floor netns', () => new NetnsPool(cpuFloorPoolPrefix(o.runId)).cleanup());
      await step('netns', () => pool.cleanup());
      await step('bridge', async () => {
        if (!bridgeExisted && hostLinkExists(BENCH_BRIDGE) && bridgePorts(BENCH_BRIDGE).length === 0) {
          await runCommand('ip', ['link', 'del', BENCH_BRIDGE]);
        }
      });
      if (ownWorkDir) await step('work dir', () => fs.rmSync(workDir, { recursive: true, force: true }));
      else await step('work dir', () => fs.rmSync(path.join(workDir, 'state'), { recursive: true, force: true }));
    })());
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`bench: ${sig}, cleaning up\n`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    let helperPath: string | undefined;
    if (o.executor === 'helper') {
      try {
        helperPath = await compileExecHelper(workDir);
        exec = new HelperPoolExecutor(helperPath);
      } catch (err) {
        process.stderr.write(`bench: no exec helper (${String(err)}); timing with Node's spawn instead\n`);
      }
    }
    exec ??= new NodeSpawnExecutor();
    process.stdout.write(`plugin executions timed by: ${exec.kind}\n\n`);
    const restartRows = (): Promise<RestartRowResult[]> =>
      runRestartBench(o.restartPods, {
        runId: o.runId,
        workDir,
        exec: exec as Executor,
        concurrency: 8,
        restartTimeoutMs: o.restartTimeoutS * 1000,
        pollMs: o.restartPollMs,
        phaseBudgetMs: 120_000,
        checkSample: o.restartCheckSample,
        log: (msg) => process.stderr.write(`  ${msg}\n`),
      });
    const cpuFloorRows = (floor?: KernelFloorResult, noop?: Stats): Promise<CpuFloorResult> =>
      runCpuFloor({
        runId: o.runId,
        workDir,
        exec: exec as Executor,
        helperPath,
        clkTck: CLK_TCK,
        calls: o.cpuCalls,
        gonePods: o.gonePods,
        floorPods: Math.min(o.pods, 50),
        floor,
        noop,
        log: (msg) => process.stderr.write(`  [cpu-floor] ${msg}\n`),
      });
    if (o.only === 'cpu-floor') {
      process.stderr.write('bench: cpu-floor (podwired vs bare grpc-js CPU, pair gone after DEL, ADD latency floor)\n');
      const cf = await cpuFloorRows();
      const targets = cpuFloorTargets(cf);
      const wallS = (performance.now() - wallStart) / 1000;
      process.stdout.write(
        `${renderCpuFloor(cf)}\n\ntargets\n${renderTable(['target', 'measured', 'result', 'margin'], targets.map((t) => [t.target, t.measured, t.met ? 'MET' : 'MISSED', t.margin]))}\n\nbenchmark wall time: ${fmt(wallS)} s\n`,
      );
      const json = { machine: m, options: { ...o, workDir: undefined }, executor: exec.kind, cpuFloor: cf, targets, wallSeconds: wallS };
      fs.writeFileSync(o.out, JSON.stringify(json, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
      process.stdout.write(`results written to ${o.out}\n`);
      return 0;
    }
    const criRows = (): Promise<CriBenchResult> =>
      runCriBench({
        runId: o.runId,
        samples: o.quick ? 10 : 30,
        churnPods: o.quick ? 24 : 80,
        concurrency: 8,
        log: (msg) => process.stderr.write(`  [cri] ${msg}\n`),
      });
    if (o.only === 'cri') {
      process.stderr.write('bench: CRI (containerd 1.6): bridge+host-local vs podwire\n');
      const cri = await criRows();
      const wallS = (performance.now() - wallStart) / 1000;
      process.stdout.write(`${renderCri(cri)}\n\nbenchmark wall time: ${fmt(wallS)} s\n`);
      const json = { machine: m, options: { ...o, workDir: undefined }, cri, wallSeconds: wallS };
      fs.writeFileSync(o.out, JSON.stringify(json, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
      process.stdout.write(`results written to ${o.out}\n`);
      return 0;
    }
    if (o.only === 'restart') {
      process.stderr.write('bench: restart to serving after SIGKILL\n');
      const rows = await restartRows();
      const targets = restartTargets(rows);
      const wallS = (performance.now() - wallStart) / 1000;
      process.stdout.write(
        `${renderRestart(rows)}\n\ntargets\n${renderTable(['target', 'measured', 'result', 'margin'], targets.map((t) => [t.target, t.measured, t.met ? 'MET' : 'MISSED', t.margin]))}\n\nbenchmark wall time: ${fmt(wallS)} s\n`,
      );
      const json = { machine: m, options: { ...o, workDir: undefined }, executor: exec.kind, restart: rows, targets, wallSeconds: wallS };
      fs.writeFileSync(o.out, JSON.stringify(json, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
      process.stdout.write(`results written to ${o.out}\n`);
      return rows.every((r) => r.verdict !== 'FAILED') ? 0 : 1;
    }

    const poolSize = Math.max(o.pods, o.churnPods, o.fill + o.samples);
    const t0 = performance.now();
    await pool.ensure(poolSize);
    process.stderr.write(`bench: ${poolSize} network namespaces ${prefix}-* created in ${fmt((performance.now() - t0) / 1000)} s\n`);

    const bench = new Bench(o, exec, pool);
    const configs: ConfigResult[] = [];
    const hostLocal = path.join(workDir, 'host-local');
    process.stderr.write('bench: bridge + host-local\n');
    const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      const r = await fn();
      process.stderr.write(`bench: ${what} took ${fmt((performance.now() - t) / 1000)} s (total ${fmt((performance.now() - wallStart) / 1000)} s)\n`);
      return r;
    };
    configs.push(await timed('bridge + host-local', () => bench.runConfig(bridgePlugin(hostLocal), 'br')));
    if (!bridgeExisted && hostLinkExists(BENCH_BRIDGE)) fs.writeFileSync(path.join(workDir, 'created-bridge'), '');
    process.stderr.write('bench: ptp + host-local\n');
    configs.push(await timed('ptp + host-local', () => bench.runConfig(ptpPlugin(hostLocal), 'ptp')));

    process.stderr.write('bench: podwire\n');
    server = new PodwiredProcess(path.join(workDir, 'run', 'podwire.sock'), path.join(workDir, 'state'));
    await server.start();
    if (server.pid !== undefined) fs.writeFileSync(path.join(workDir, 'podwired.pid'), String(server.pid));
    const rssIdle = server.pid !== undefined ? procStatusKb(server.pid, 'VmRSS') / 1024 : NaN;
    bench.server = server;
    const podwire = podwirePlugin(SHIM_BINARY, server.socket);
    const pwResult = await timed('podwire', () => bench.runConfig(podwire, 'pw'));
    configs.push(pwResult);
    process.stderr.write('bench: shim alone\n');
    const shim = await runShimBench(exec, helperPath, podwire, o.shimRuns, server);
    await new Promise((r) => setTimeout(r, 200));
    attachServerDurations(pwResult, server.logRecords());
    await server.stop();
    server = undefined;

    process.stderr.write('bench: kernel floor\n');
    const floor = await runKernelFloor(exec, pool, o.pods, o.runId);

    // The main pool is done with: free its namespaces before the cpu-floor and restart rows make their own.
    await pool.cleanup();
    process.stderr.write('bench: cpu-floor\n');
    const cpuFloor = await timed('cpu-floor rows', () => cpuFloorRows(floor, shim.staticNoop));
    process.stderr.write('bench: restart to serving after SIGKILL\n');
    const restart = await timed('restart rows', () => restartRows());
    process.stderr.write('bench: CRI (containerd 1.6)\n');
    const cri = await timed('CRI rows', () => criRows());
    const report = buildReport(configs, shim, floor, o, restart);
    report.text += `\n\n${renderCri(cri)}`;
    const cpuFloorTargetRows = cpuFloorTargets(cpuFloor);
    report.text += `\n\n${renderCpuFloor(cpuFloor)}\n\ncpu-floor targets\n${renderTable(['target', 'measured', 'result', 'margin'], cpuFloorTargetRows.map((t) => [t.target, t.measured, t.met ? 'MET' : 'MISSED', t.margin]))}`;
    const wallS = (performance.now() - wallStart) / 1000;
    process.stdout.write(`${report.text}\n\npodwired RSS idle at start: ${fmt(rssIdle)} MB\nbenchmark wall time: ${fmt(wallS)} s\n`);
    const json = {
      machine: m,
      options: { ...o, workDir: undefined },
      executor: exec.kind,
      configs,
      podwiredRssIdleMb: rssIdle,
      shim,
      kernelFloor: floor,
      ratios: report.ratios,
      targets: report.targets,
      restart,
      cpuFloor,
      cpuFloorTargets: cpuFloorTargetRows,
      cri,
      wallSeconds: wallS,
      // Peer route programming (cross-node routing): prints its own table; measured after the CNI benchmark.
      peerRoutes: await runPeerRoutesBench(o.runId, o.quick ? 100 : 500),
    };
    fs.writeFileSync(o.out, JSON.stringify(json, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
    process.stdout.write(`results written to ${o.out}\n`);
    return 0;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
