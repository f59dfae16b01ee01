/**
 * The CNI workloads every configuration (bridge+host-local, ptp+host-local, podwire) runs in
 * the full bench: sequential ADD / CHECK / DEL, churn at concurrency 8 and 32 (each worker ADDs
 * then DELs its pod), and ADD latency with 0 pods present, then with `fill` pods present.
 */
import type { PodwiredProcess } from '../lib/podwired-process';
import { type CniCallOutcome, CniDriver, type Executor, type NetnsPool, type PluginUnderTest, type PodRef, describeFailure } from './cni-driver';
import type { Options } from './bench-options';
import { procCpuMs, procStatusKb } from './proc-stats';
import { type Stats, fmt, summarize } from './stats';

export interface PhaseResult {
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

export interface ChurnResult {
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

export interface ConfigResult {
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

export class Bench {
  readonly logsPrefix: string;
  server: PodwiredProcess | undefined;

  constructor(
    readonly opts: Options,
    readonly exec: Executor,
    readonly pool: NetnsPool,
    /** Clock ticks per second (getconf CLK_TCK), for podwired's CPU from /proc/PID/stat. */
    readonly clkTck: number,
  ) {
    this.logsPrefix = `b${opts.runId}`;
  }

  pod(tag: string, i: number, poolIndex: number): PodRef {
    return { containerId: `${tag}-${i}`, netnsPath: this.pool.path(poolIndex), ifname: 'eth0', podName: `${tag}-${i}` };
  }

  private serverCpu(): number | undefined {
    const pid = this.server?.pid;
    return pid === undefined ? undefined : procCpuMs(pid, this.clkTck);
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
export function attachServerDurations(cfg: ConfigResult, records: Array<Record<string, unknown>>): void {
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
