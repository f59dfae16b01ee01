/**
 * `--only cpu-floor` (also part of the full bench):
 *  1. podwired's CPU per ADD, DEL and STATUS (user+sys of the whole process from /proc/PID/stat
 *     before/after N sequential calls through the shim) next to the same for a bare grpc-js
 *     server (bare-grpc-server.ts: same proto, same server options, immediate empty replies)
 *     driven by the same shim, env and stdin: the CPU floor of one call including the HTTP/2
 *     connection setup the shim makes per call.
 *  2. Time until a pod's veth pair is gone after its DEL answered (podwired detaches and
 *     answers; its reaper destroys the pair later), sequentially and at concurrency 8.
 *  3. Latency floor: static no-op exec p50 + kernel-only ADD per pod (kernel-floor.ts), and
 *     podwire's sequential ADD p50 over it.
 *  4. podwired's datapath thread alone over the same sequential ADDs (thread-cpu.ts:
 *     /proc/PID/task/TID/schedstat) next to the kernel floor's work per pod (the `ip` processes'
 *     CPU, and their wall time as in 3); the event loop and V8's helper threads apart. The
 *     ADDs run in ADD_SEGMENTS segments, the thread's CPU read at each boundary, and before
 *     each segment the kernel floor runs again (its own netns pool; podwired idle meanwhile):
 *     the kernel's cost of the same objects depends on the host's state at the time (how many
 *     links and routes other programs hold: IPv6's route walk on every link up, sysfs, the
 *     RTNL lock they take), so each segment is set against the floor measured right before it,
 *     and the ratio is the median of those segments' ratios (a burst of another program's
 *     holding the RTNL lock, which the thread spends spinning on, lands in one segment). The
 *     whole run's mean against the median floor is shown next to it. Every CPU figure of the
 *     ADDs (the process's, each thread's) is read at the segments' boundaries and summed over
 *     the segments alone: the floor's runs in between are in none of them (podwired's helper
 *     threads and event loop go on using CPU while it waits: ~0.4 ms per ADD when counted).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PodwiredProcess } from '../lib/podwired-process';
import { SHIM_BINARY } from '../lib/paths';
import { runCommand } from '../lib/run-command';
import { type CniCallOutcome, CniDriver, type Executor, NetnsPool, type PluginUnderTest, type PodRef, describeFailure, podwirePlugin } from './cni-driver';
import { type VerbCpu, addDelSumRatio, goneAfterDel, ifindexesOfIpJson, latencyFloor, perCall, safeRatio, statCpuMs, verbCpuRow } from './cpu-floor-report';
import { type KernelFloorResult, findIp, runKernelFloor } from './kernel-floor';
import { type Stats, fmt, renderTable, summarize } from './stats';
import { type ThreadDelta, type ThreadSplit, datapathThreadId, readThreads, splitThreads, sumDeltas, threadDeltas } from './thread-cpu';

export interface CpuFloorOptions {
  runId: string;
  workDir: string;
  exec: Executor;
  helperPath: string | undefined;
  clkTck: number;
  /** Sequential calls per verb for the CPU rows. */
  calls: number;
  /**
   * ADD+DEL cycles before measuring (at most `calls`, one netns each). V8 goes on optimizing
   * podwired's code long after the first calls: its platform threads' compiling shows in the
   * "other threads" CPU until then.
   */
  warmup: number;
  /** Pods per "gone after DEL" row. */
  gonePods: number;
  /** Pods for the kernel floor when `floor` is not given. */
  floorPods: number;
  /** Reuse the full run's kernel floor / static no-op exec instead of measuring again. */
  floor?: KernelFloorResult | undefined;
  noop?: Stats | undefined;
  log: (msg: string) => void;
}

export interface GoneRow {
  concurrency: number;
  pods: number;
  delOk: number;
  delFailed: number;
  del: Stats;
  goneAfterDel: Stats;
  neverGone: number;
  pollRounds: number;
  /** Mean time of one poll round (one `ip -j link show type veth` in the host netns). */
  pollRoundMs: number;
  /** Pod namespaces that still held a veth at the end (checked with `ip -n NS -j link show type veth`). */
  podNetnsWithVeth: number;
  firstError?: string;
}

/** Segments of the measured sequential ADDs, the datapath thread's CPU read at each boundary. */
export const ADD_SEGMENTS = 4;

/**
 * The datapath thread's CPU per ADD in each segment, the kernel floor's CPU per pod measured
 * right before each, their ratios; the ratio on the whole run's mean and the median floor.
 */
export interface DatapathSegments {
  datapathSegmentMs: number[];
  datapathMedianSegmentMs: number;
  segmentFloorCpuMs: number[];
  segmentRatios: number[];
  /** Whole-run mean over the median segment floor (CPU). */
  datapathMeanOverKernelFloorCpu: number;
}

export interface CpuFloorResult {
  calls: number;
  podwired: { add: number; del: number; delWithReaper: number; status: number; eventLoop: VerbSplit; failed: number; firstError?: string };
  bare: { add: number; del: number; delWithReaper: number; status: number; eventLoop: VerbSplit; failed: number; firstError?: string };
  verbs: VerbCpu[];
  addDelSumRatio: number;
  addDelSumRatioWithReaper: number;
  gone: GoneRow[];
  floor: { noopExec: Stats; kernelAddPerPodMs: number; floorMs: number; seqAdd: Stats; seqAddOverFloor: number; kernelFloorPods: number };
  /**
   * podwired's CPU per sequential ADD by thread (ms per ADD) and the datapath thread's over the
   * kernel floor's work per pod (by the `ip` processes' CPU; NaN when the executor cannot see it).
   */
  addThreads?: ThreadSplit & DatapathSegments & { kernelFloorCpuPerPodMs: number; datapathOverKernelFloorCpu: number; datapathOverKernelFloorWall: number };
}

/** The netns pool prefix of this part (inside the main run's `pwb-<runId>-` prefix). */
export function cpuFloorPoolPrefix(runId: string): string {
  return `pwb-${runId}-cpu`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function medianOf(xs: readonly number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function procCpu(pid: number, clkTck: number): number {
  return statCpuMs(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'), clkTck);
}

/** The CPU of the process's main thread only (its event loop): /proc/PID/task/PID/stat. */
function mainThreadCpu(pid: number, clkTck: number): number {
  return statCpuMs(fs.readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8'), clkTck);
}

/** CPU per call of a server, all threads and its main thread (event loop) alone. */
export interface VerbSplit {
  add: number;
  del: number;
  status: number;
}

/** The bare grpc-js server as a child process. */
class BareServer {
  private child: ChildProcess | undefined;
  readonly dir: string;
  readonly socket: string;
  pid: number | undefined;

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pwb-bare-'));
    fs.chmodSync(this.dir, 0o700);
    this.socket = path.join(this.dir, 'bare.sock');
  }

  async start(): Promise<void> {
    const script = path.join(__dirname, 'bare-grpc-server.js');
    const child = spawn(process.execPath, [script, this.socket], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => reject(new Error('bare grpc server did not start in 15 s')), 15_000);
      child.once('exit', (code) => reject(new Error(`bare grpc server exited ${code}`)));
      child.stdout?.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        if (buf.includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    this.pid = child.pid;
  }

  async stop(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (c && c.exitCode === null && c.signalCode === null) {
      const done = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), 5_000);
      await done;
      clearTimeout(t);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function pod(tag: string, i: number, pool: NetnsPool): PodRef {
  return { containerId: `${tag}-${i}`, netnsPath: pool.path(i), ifname: 'eth0', podName: `${tag}-${i}` };
}

async function sequential(n: number, fn: (i: number) => Promise<CniCallOutcome>): Promise<CniCallOutcome[]> {
  const out: CniCallOutcome[] = [];
  for (let i = 0; i < n; i++) out.push(await fn(i));
  return out;
}

async function concurrent(n: number, c: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(c, n) }, worker));
}

/** The host-side ifindexes of the veths of pods in an ADD result (interfaces without a sandbox). */
function hostIfindex(result: Record<string, unknown> | undefined): number | undefined {
  const ifs = (result?.interfaces as Array<{ name?: string; sandbox?: string }> | undefined) ?? [];
  const host = ifs.find((x) => !x.sandbox && typeof x.name === 'string');
  if (!host?.name) return undefined;
  try {
    return Number(fs.readFileSync(`/sys/class/net/${host.name}/ifindex`, 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** Per-verb CPU through the shim against the server with `pid`. */
async function cpuPerVerb(
  d: CniDriver,
  pid: () => number,
  tag: string,
  o: CpuFloorOptions,
  pool: NetnsPool,
  settle: () => Promise<void>,
  /** Runs before each segment of the measured ADDs (outside the thread's readings). */
  beforeSegment: (segment: number) => Promise<void> = async () => undefined,
): Promise<{
  add: number;
  del: number;
  delWithReaper: number;
  status: number;
  eventLoop: VerbSplit;
  failed: number;
  firstError?: string;
  addOutcomes: CniCallOutcome[];
  addThreads: ThreadSplit;
  segmentMs: number[];
}> {
  const n = o.calls;
  let failed = 0;
  let firstError: string | undefined;
  const note = (xs: CniCallOutcome[]) => {
    for (const x of xs)
      if (!x.ok) {
        failed++;
        firstError ??= describeFailure(x);
      }
    return xs.filter((x) => x.ok).length;
  };
  // Warm-up (JIT, first connections): STATUS and ADD+DEL cycles (o.warmup) under their own container ids.
  note(await sequential(20, () => d.status()));
  const wpods = Math.min(o.warmup, n);
  for (let i = 0; i < wpods; i++) {
    const p = pod(`${tag}-warm`, i, pool);
    const a = await d.add(p);
    note([a, await d.del(p, a.ok ? a.json : undefined)]);
  }
  await settle();

  const pods = Array.from({ length: n }, (_, i) => pod(tag, i, pool));
  const main = () => mainThreadCpu(pid(), o.clkTck);
  // The ADDs in segments. Everything is read at each segment's boundaries and summed over the
  // segments only: what runs before a segment (the kernel floor) is left out of every figure.
  const dpTid = datapathThreadId(pid(), readThreads(pid()));
  const adds: CniCallOutcome[] = [];
  const segmentMs: number[] = [];
  const segmentDeltas: ThreadDelta[][] = [];
  let addCpuMs = 0;
  let addLoopMs = 0;
  for (let seg = 0; seg < ADD_SEGMENTS; seg++) {
    const from = Math.floor((seg * n) / ADD_SEGMENTS);
    const to = Math.floor(((seg + 1) * n) / ADD_SEGMENTS);
    await beforeSegment(seg);
    const t0 = readThreads(pid());
    const c0 = procCpu(pid(), o.clkTck);
    const m0 = main();
    for (let i = from; i < to; i++) adds.push(await d.add(pods[i] as PodRef));
    addCpuMs += procCpu(pid(), o.clkTck) - c0;
    addLoopMs += main() - m0;
    const deltas = threadDeltas(t0, readThreads(pid()), o.clkTck);
    segmentDeltas.push(deltas);
    const dp = deltas.find((t) => t.tid === dpTid)?.cpuMs ?? NaN;
    segmentMs.push(perCall(0, dp, adds.slice(from, to).filter((x) => x.ok).length));
  }
  const okAdds = note(adds);
  const split = splitThreads(pid(), sumDeltas(segmentDeltas), dpTid);
  const per = (ms: number) => perCall(0, ms, okAdds);
  const addThreads: ThreadSplit = {
    ...split,
    mainMs: per(split.mainMs),
    datapathMs: per(split.datapathMs),
    datapathUserMs: per(split.datapathUserMs),
    datapathSysMs: per(split.datapathSysMs),
    otherMs: per(split.otherMs),
  };
  const add = perCall(0, addCpuMs, okAdds);
  const addLoop = perCall(0, addLoopMs, okAdds);
  let c0 = procCpu(pid(), o.clkTck);
  let m0 = main();
  const dels = await sequential(n, (i) => d.del(pods[i] as PodRef, adds[i]?.ok ? adds[i]?.json : undefined));
  let c1 = procCpu(pid(), o.clkTck);
  const okDels = note(dels);
  const del = perCall(c0, c1, okDels);
  const delLoop = perCall(m0, main(), okDels);
  await settle();
  const delWithReaper = perCall(c0, procCpu(pid(), o.clkTck), okDels);
  c0 = procCpu(pid(), o.clkTck);
  m0 = main();
  const st = await sequential(n, () => d.status());
  c1 = procCpu(pid(), o.clkTck);
  const okSt = note(st);
  const status = perCall(c0, c1, okSt);
  const eventLoop = { add: addLoop, del: delLoop, status: perCall(m0, main(), okSt) };
  return { add, del, delWithReaper, status, eventLoop, failed, ...(firstError ? { firstError } : {}), addOutcomes: adds, addThreads, segmentMs };
}

/** Waits (bounded) until no veth of the pool's first `n` namespaces is left in the host netns. */
async function waitPairsGone(pool: NetnsPool, n: number, boundMs: number): Promise<void> {
  const deadline = performance.now() + boundMs;
  while (performance.now() < deadline) {
    const left = await vethLeftInPods(pool, n, 1);
    if (left === 0) return;
    await sleep(50);
  }
}

/** How many of the pool's first `n` namespaces still hold a veth (stops counting at `stopAt`). */
async function vethLeftInPods(pool: NetnsPool, n: number, stopAt = Infinity): Promise<number> {
  const ip = findIp();
  let left = 0;
  for (let i = 0; i < n && left < stopAt; i++) {
    const r = await runCommand(ip, ['-n', pool.name(i), '-j', 'link', 'show', 'type', 'veth']);
    if (ifindexesOfIpJson(r.stdout).size > 0) left++;
  }
  return left;
}

async function goneRow(d: CniDriver, pool: NetnsPool, tag: string, m: number, c: number, o: CpuFloorOptions): Promise<GoneRow> {
  const ip = findIp();
  const pods = Array.from({ length: m }, (_, i) => pod(tag, i, pool));
  const results: Array<Record<string, unknown> | undefined> = new Array(m).fill(undefined);
  const idx: Array<number | undefined> = new Array(m).fill(undefined);
  let firstError: string | undefined;
  await concurrent(m, 8, async (i) => {
    const a = await d.add(pods[i] as PodRef);
    if (a.ok) {
      results[i] = a.json;
      idx[i] = hostIfindex(a.json);
    } else firstError ??= describeFailure(a);
  });
  const answeredAt: Array<number | undefined> = new Array(m).fill(undefined);
  const goneAt: Array<number | undefined> = new Array(m).fill(undefined);
  const delTimes: number[] = [];
  let delFailed = 0;
  let delsDone = false;
  let rounds = 0;
  let roundMs = 0;
  const poller = (async () => {
    let lastDelDoneAt: number | undefined;
    for (;;) {
      const t0 = performance.now();
      const r = await runCommand(ip, ['-j', 'link', 'show', 'type', 'veth']);
      const t1 = performance.now();
      rounds++;
      roundMs += t1 - t0;
      const present = ifindexesOfIpJson(r.stdout);
      let pending = 0;
      for (let i = 0; i < m; i++) {
        if (goneAt[i] !== undefined || results[i] === undefined) continue;
        const x = idx[i];
        // Seen gone: the dump finished at t1 without it (upper bound).
        if (answeredAt[i] !== undefined && x !== undefined && !present.has(x)) goneAt[i] = t1;
        else pending++;
      }
      if (delsDone) {
        lastDelDoneAt ??= t1;
        if (pending === 0 || t1 - lastDelDoneAt > 10_000) return;
      }
      await sleep(5);
    }
  })();
  await concurrent(m, c, async (i) => {
    if (results[i] === undefined) return;
    const dl = await d.del(pods[i] as PodRef, results[i]);
    if (dl.ok) {
      answeredAt[i] = performance.now();
      delTimes.push(dl.elapsedMs);
    } else {
      delFailed++;
      firstError ??= describeFailure(dl);
    }
  });
  delsDone = true;
  await poller;
  // A pod whose host ifindex was unknown: no poll answer; they count as never seen gone.
  const g = goneAfterDel(answeredAt, goneAt);
  const left = await vethLeftInPods(pool, m);
  o.log(
    `gone after DEL @${c}: DEL p50 ${fmt(summarize(delTimes).p50)} ms, gone p50 ${fmt(g.gone.p50)} / p99 ${fmt(g.gone.p99)} / max ${fmt(g.gone.max)} ms, ${left} netns with a veth left`,
  );
  return {
    concurrency: c,
    pods: m,
    delOk: delTimes.length,
    delFailed,
    del: summarize(delTimes),
    goneAfterDel: g.gone,
    neverGone: g.neverGone,
    pollRounds: rounds,
    pollRoundMs: rounds ? roundMs / rounds : NaN,
    podNetnsWithVeth: left,
    ...(firstError ? { firstError } : {}),
  };
}

export async function runCpuFloor(o: CpuFloorOptions): Promise<CpuFloorResult> {
  const pool = new NetnsPool(cpuFloorPoolPrefix(o.runId));
  const pools: NetnsPool[] = [];
  const bare = new BareServer();
  const pwDir = fs.mkdtempSync(path.join(o.workDir, 'cpu-floor-'));
  let server: PodwiredProcess | undefined;
  try {
    await pool.ensure(Math.max(o.calls, o.gonePods, o.floorPods, 10));

    // 3a. Static no-op exec and kernel floor (before any podwire pod exists in the pool).
    let noop = o.noop;
    if (!noop) {
      const noopPlugin: PluginUnderTest = {
        label: 'noop',
        binary: o.helperPath ?? '/bin/true',
        cniPath: '/',
        netconf: { cniVersion: '1.0.0', name: 'noop' },
        env: { EXEC_HELPER_NOOP: '1' },
      };
      const nd = new CniDriver(noopPlugin, o.exec);
      const xs = await sequential(200, () => nd.version());
      noop = summarize(xs.filter((x) => x.ok).map((x) => x.elapsedMs));
    }
    const floor = o.floor ?? (await runKernelFloor(o.exec, pool, o.floorPods, o.runId));

    // 1a. The bare grpc-js server.
    await bare.start();
    const barePid = bare.pid as number;
    const bareDriver = new CniDriver(podwirePlugin(SHIM_BINARY, bare.socket), o.exec);
    o.log(`bare grpc-js server pid ${barePid}: ${o.calls} calls per verb`);
    const b = await cpuPerVerb(
      bareDriver,
      () => barePid,
      `cpub${o.runId}`,
      o,
      pool,
      () => sleep(300),
    );
    await bare.stop();

    // 1b. podwired.
    server = new PodwiredProcess(path.join(pwDir, 'run', 'podwire.sock'), path.join(pwDir, 'state'));
    await server.start();
    const s = server;
    const pwDriver = new CniDriver(podwirePlugin(SHIM_BINARY, s.socket), o.exec);
    o.log(`podwired pid ${s.pid}: ${o.calls} calls per verb`);
    const settle = async () => {
      await waitPairsGone(pool, o.calls, 5_000);
      await sleep(300);
    };
    // The kernel floor before each segment of podwired's ADDs, in a netns pool of its own.
    const floorPool = new NetnsPool(`${cpuFloorPoolPrefix(o.runId)}f`);
    pools.push(floorPool);
    await floorPool.ensure(o.floorPods);
    const segmentFloors: KernelFloorResult[] = [];
    const beforeSegment = async (seg: number): Promise<void> => {
      segmentFloors.push(await runKernelFloor(o.exec, floorPool, o.floorPods, o.runId, 1000 + seg * o.floorPods));
    };
    const p = await cpuPerVerb(pwDriver, () => s.pid as number, `cpup${o.runId}`, o, pool, settle, beforeSegment);
    const seqAdd = summarize(p.addOutcomes.filter((x) => x.ok).map((x) => x.elapsedMs));

    // 2. Time until the pair is gone.
    const gone: GoneRow[] = [];
    for (const c of [1, 8]) gone.push(await goneRow(pwDriver, pool, `gone${c}-${o.runId}`, o.gonePods, c, o));
    await server.stop();
    server = undefined;

    const strip = (x: typeof p) => {
      const { addOutcomes: _a, addThreads: _t, segmentMs: _s, ...rest } = x;
      void _a;
      void _t;
      void _s;
      return rest;
    };
    const segmentFloorCpuMs = segmentFloors.map((f) => f.addKernelCpuPerPodMs ?? NaN);
    const segmentRatios = p.segmentMs.map((x, i) => safeRatio(x, segmentFloorCpuMs[i]));
    const kernelFloorCpuPerPodMs = medianOf(segmentFloorCpuMs);
    const kernelAdd = floor.addKernelPerPodMs;
    const floorMs = latencyFloor(noop.p50, kernelAdd);
    return {
      calls: o.calls,
      podwired: strip(p),
      bare: strip(b),
      verbs: [
        verbCpuRow('ADD', p.add, b.add),
        verbCpuRow('DEL', p.del, b.del),
        verbCpuRow('DEL incl. reaper + 300 ms idle', p.delWithReaper, b.delWithReaper),
        verbCpuRow('STATUS', p.status, b.status),
      ],
      addDelSumRatio: addDelSumRatio(p.add, p.del, b.add, b.del),
      addDelSumRatioWithReaper: addDelSumRatio(p.add, p.delWithReaper, b.add, b.delWithReaper),
      gone,
      floor: { noopExec: noop, kernelAddPerPodMs: kernelAdd, floorMs, seqAdd, seqAddOverFloor: safeRatio(seqAdd.p50, floorMs), kernelFloorPods: floor.pods },
      addThreads: {
        ...p.addThreads,
        datapathSegmentMs: p.segmentMs,
        datapathMedianSegmentMs: medianOf(p.segmentMs),
        segmentFloorCpuMs,
        segmentRatios,
        datapathMeanOverKernelFloorCpu: safeRatio(p.addThreads.datapathMs, kernelFloorCpuPerPodMs),
        kernelFloorCpuPerPodMs,
        datapathOverKernelFloorCpu: medianOf(segmentRatios),
        datapathOverKernelFloorWall: safeRatio(p.addThreads.datapathMs, kernelAdd),
      },
    };
  } finally {
    await bare.stop().catch(() => undefined);
    if (server) await server.stop().catch(() => undefined);
    await pool.cleanup().catch(() => undefined);
    for (const fp of pools) await fp.cleanup().catch(() => undefined);
    fs.rmSync(pwDir, { recursive: true, force: true });
  }
}

export interface CpuFloorTarget {
  target: string;
  measured: string;
  met: boolean;
  margin: string;
}

export function cpuFloorTargets(r: CpuFloorResult): CpuFloorTarget[] {
  const t: CpuFloorTarget[] = [];
  t.push({
    target: 'podwired CPU per ADD+DEL <= 2x bare grpc-js server',
    measured: `${fmt(r.addDelSumRatio)}x (${fmt(r.podwired.add + r.podwired.del)} vs ${fmt(r.bare.add + r.bare.del)} ms; incl. reaper ${fmt(r.addDelSumRatioWithReaper)}x)`,
    met: r.addDelSumRatio <= 2,
    margin: `limit 2x`,
  });
  for (const g of r.gone) {
    t.push({
      target: `pair gone after DEL p99 <= 1 s (@${g.concurrency})`,
      measured: `${fmt(g.goneAfterDel.p99)} ms (max ${fmt(g.goneAfterDel.max)}, never gone ${g.neverGone})`,
      met: g.goneAfterDel.p99 <= 1000 && g.neverGone === 0 && g.podNetnsWithVeth === 0,
      margin: `${fmt(1000 - g.goneAfterDel.p99)} ms under`,
    });
  }
  const th = r.addThreads;
  if (th) {
    t.push({
      target: "datapath thread CPU per ADD <= 1.2x the kernel floor's work per pod (ip CPU)",
      measured: `${fmt(th.datapathOverKernelFloorCpu)}x (median of ${th.segmentRatios.length} segments' ratios ${th.segmentRatios.map((x) => fmt(x)).join(' / ')}; whole-run mean ${fmt(th.datapathMs, 3)} vs median floor ${fmt(th.kernelFloorCpuPerPodMs, 3)} ms, ${fmt(th.datapathMeanOverKernelFloorCpu)}x)`,
      met: th.datapathOverKernelFloorCpu <= 1.2,
      margin: 'limit 1.2x',
    });
  }
  t.push({
    target: 'seq ADD p50 <= 2x latency floor (no-op exec + kernel work)',
    measured: `${fmt(r.floor.seqAddOverFloor)}x (${fmt(r.floor.seqAdd.p50)} vs ${fmt(r.floor.floorMs)} ms)`,
    met: r.floor.seqAddOverFloor <= 2,
    margin: 'limit 2x',
  });
  return t;
}

export function renderCpuFloor(r: CpuFloorResult): string {
  const ms = (s: Stats) => `${fmt(s.p50)} / ${fmt(s.p99)}`;
  const lines: string[] = [];
  lines.push(`podwired CPU per call vs a bare grpc-js server (same proto, options, shim; ${r.calls} sequential calls per verb; /proc/PID/stat user+sys)`);
  lines.push(
    renderTable(
      ['verb', 'podwired CPU ms/call', 'bare server CPU ms/call', 'ratio'],
      [
        ...r.verbs.map((v) => [v.verb, fmt(v.podwiredMsPerCall, 3), fmt(v.bareMsPerCall, 3), `${fmt(v.ratio)}x`]),
        ['ADD+DEL', fmt(r.podwired.add + r.podwired.del, 3), fmt(r.bare.add + r.bare.del, 3), `${fmt(r.addDelSumRatio)}x`],
        [
          'ADD+DEL incl. reaper',
          fmt(r.podwired.add + r.podwired.delWithReaper, 3),
          fmt(r.bare.add + r.bare.delWithReaper, 3),
          `${fmt(r.addDelSumRatioWithReaper)}x`,
        ],
      ],
    ),
  );
  lines.push('');
  lines.push('of which the event loop (main thread: /proc/PID/task/PID/stat); podwired does its kernel work on its datapath thread');
  lines.push(
    renderTable(
      ['verb', 'podwired event loop ms/call', 'podwired other threads ms/call', 'bare server event loop ms/call'],
      (['add', 'del', 'status'] as const).map((v) => [
        v.toUpperCase(),
        fmt(r.podwired.eventLoop[v], 3),
        fmt(r.podwired[v] - r.podwired.eventLoop[v], 3),
        fmt(r.bare.eventLoop[v], 3),
      ]),
    ),
  );
  if (r.podwired.failed || r.bare.failed)
    lines.push(`cpu-floor failures: podwired ${r.podwired.failed} (${r.podwired.firstError ?? ''}), bare ${r.bare.failed} (${r.bare.firstError ?? ''})`);
  lines.push('');
  lines.push('time until the veth pair is gone after DEL answered (host dump `ip -j link show type veth` every ~5 ms; ms)');
  lines.push(
    renderTable(
      ['DEL concurrency', 'pods', 'DEL p50 / p99', 'gone p50 / p99', 'gone max', 'never gone', 'netns with veth at end', 'poll round'],
      r.gone.map((g) => [
        String(g.concurrency),
        `${g.delOk}/${g.pods}`,
        ms(g.del),
        ms(g.goneAfterDel),
        fmt(g.goneAfterDel.max),
        String(g.neverGone),
        String(g.podNetnsWithVeth),
        fmt(g.pollRoundMs),
      ]),
    ),
  );
  for (const g of r.gone) if (g.firstError) lines.push(`gone@${g.concurrency} failure: ${g.firstError}`);
  lines.push('');
  lines.push('ADD latency floor (ms)');
  lines.push(
    renderTable(
      ['what', 'ms'],
      [
        ['static no-op exec p50 (same executor)', fmt(r.floor.noopExec.p50, 3)],
        [`kernel-only ADD per pod (kernel floor, ${r.floor.kernelFloorPods} pods)`, fmt(r.floor.kernelAddPerPodMs, 3)],
        ['floor = no-op exec + kernel work', fmt(r.floor.floorMs, 3)],
        [`podwire seq ADD p50 / p99 (${r.floor.seqAdd.n} pods)`, ms(r.floor.seqAdd)],
        ['seq ADD p50 / floor', `${fmt(r.floor.seqAddOverFloor)}x`],
      ],
    ),
  );
  const th = r.addThreads;
  if (th) {
    lines.push('');
    lines.push(`podwired CPU per sequential ADD by thread (/proc/PID/task/TID/schedstat; ${r.calls} ADDs) next to the kernel floor's work per pod (ms)`);
    lines.push(
      renderTable(
        ['what', 'ms per ADD'],
        [
          [`datapath thread (tid ${th.datapathTid ?? '?'}${th.datapathIsBusiest ? '' : ', NOT the busiest thread'}), whole run`, fmt(th.datapathMs, 3)],
          [
            `  per segment of ${Math.floor(r.calls / ADD_SEGMENTS)} ADDs (median)`,
            `${th.datapathSegmentMs.map((x) => fmt(x, 3)).join(' / ')} (${fmt(th.datapathMedianSegmentMs, 3)})`,
          ],
          ['  of which user / system (clock ticks)', `${fmt(th.datapathUserMs, 3)} / ${fmt(th.datapathSysMs, 3)}`],
          ['event loop (main thread)', fmt(th.mainMs, 3)],
          ['other threads (V8 GC helpers, link-delete worker, libuv pool)', fmt(th.otherMs, 3)],
          [
            `kernel floor's work per pod, ip CPU (user+sys, ${r.floor.kernelFloorPods} pods before each segment; median)`,
            `${th.segmentFloorCpuMs.map((x) => fmt(x, 3)).join(' / ')} (${fmt(th.kernelFloorCpuPerPodMs, 3)})`,
          ],
          ["kernel floor's work per pod, ip wall time (the latency floor's)", fmt(r.floor.kernelAddPerPodMs, 3)],
          ['datapath thread / kernel floor per segment (CPU)', th.segmentRatios.map((x) => `${fmt(x)}x`).join(' / ')],
          [
            'datapath thread / kernel floor (CPU: median of the segments, whole run / median floor; wall)',
            `${fmt(th.datapathOverKernelFloorCpu)}x, ${fmt(th.datapathMeanOverKernelFloorCpu)}x; ${fmt(th.datapathOverKernelFloorWall)}x`,
          ],
        ],
      ),
    );
  }
  return lines.join('\n');
}
