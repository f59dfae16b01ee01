#!/usr/bin/env node
/**
 * `node test/dist/bench/datapath-probe.js [--pods N] [--rounds R] [--fill K] [--strace] [--perf]
 *   [--perf-process] [--cpu-prof] [--floor] [--out DIR]` (root): where podwired's CPU per sequential ADD goes, thread by thread.
 * Starts its own podwired on a private socket, drives N sequential ADDs (then DELs) through the
 * shim R times and reads every thread's CPU from /proc/PID/task/TID/schedstat before and after
 * each ADD phase. Optional extra rounds, each with one tool attached to the datapath thread only:
 * `strace -c` (syscall counts per ADD) and a plain strace log of a few ADDs, `perf record`
 * (podwired started with --perf-basic-prof so JavaScript frames have names), and V8's CPU
 * profiler (--cpu-prof: one .cpuprofile per thread, written when podwired stops). `--floor`
 * also runs the kernel floor (kernel-floor.ts) with its CPU times. A measuring tool, not part of
 * `npm run bench`: its numbers under strace or perf are not CPU figures.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PodwiredProcess } from '../lib/podwired-process';
import { SHIM_BINARY } from '../lib/paths';
import { runCommand } from '../lib/run-command';
import {
  type CniCallOutcome,
  CniDriver,
  type Executor,
  HelperPoolExecutor,
  NetnsPool,
  NodeSpawnExecutor,
  type PodRef,
  compileExecHelper,
  describeFailure,
  podwirePlugin,
} from './cni-driver';
import { floorLinkPrefix, runKernelFloor } from './kernel-floor';
import { fmt, renderTable, summarize } from './stats';
import { type ThreadCpu, datapathThreadId, readThreads, splitThreads, threadDeltas } from './thread-cpu';

interface ProbeOptions {
  pods: number;
  /** Pods ADDed (and kept) before the measured rounds: the host's size while they run. */
  fill: number;
  rounds: number;
  strace: boolean;
  perf: boolean;
  /** perf record of every thread of podwired (-p), not only the datapath thread (-t). */
  perfProcess: boolean;
  cpuProf: boolean;
  floor: boolean;
  /** --floor-only: the kernel floor and nothing else. */
  floorOnly: boolean;
  out: string;
}

function parse(argv: string[]): ProbeOptions {
  const o: ProbeOptions = {
    pods: 200,
    fill: 0,
    rounds: 3,
    strace: false,
    perf: false,
    perfProcess: false,
    cpuProf: false,
    floor: false,
    floorOnly: false,
    out: path.resolve('datapath-probe'),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const int = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new Error(`${a} needs a positive integer`);
      return v;
    };
    if (a === '--pods') o.pods = int();
    else if (a === '--rounds') o.rounds = int();
    else if (a === '--fill') o.fill = Number(argv[++i] ?? '0');
    else if (a === '--strace') o.strace = true;
    else if (a === '--perf') o.perf = true;
    else if (a === '--perf-process') o.perf = o.perfProcess = true;
    else if (a === '--cpu-prof') o.cpuProf = true;
    else if (a === '--floor') o.floor = true;
    else if (a === '--floor-only') o.floor = o.floorOnly = true;
    else if (a === '--out') o.out = path.resolve(argv[++i] ?? '.');
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function pod(tag: string, i: number, pool: NetnsPool): PodRef {
  return { containerId: `${tag}-${i}`, netnsPath: pool.path(i), ifname: 'eth0', podName: `${tag}-${i}` };
}

/** Starts a tool attached to one thread; resolves once it has attached (a fixed settle time). */
async function attach(file: string, args: string[], log: string): Promise<ChildProcess> {
  const child = spawn(file, args, { stdio: ['ignore', 'ignore', fs.openSync(log, 'w')] });
  await sleep(1000);
  return child;
}

async function detach(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGINT');
  const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await done;
  clearTimeout(t);
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  fs.mkdirSync(o.out, { recursive: true });
  const clkTck = Number((await runCommand('getconf', ['CLK_TCK'])).stdout.trim()) || 100;
  const nodeArgs: string[] = [];
  if (o.perf) nodeArgs.push('--perf-basic-prof', '--interpreted-frames-native-stack');
  if (o.cpuProf) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${path.join(o.out, 'cpuprof')}`, '--cpu-prof-interval=250');
  if (nodeArgs.length) process.env.PODWIRED_NODE_ARGS = nodeArgs.join(' ');
  const runId = String(process.pid);
  const pool = new NetnsPool(`pwb-${runId}-probe`);
  const work = fs.mkdtempSync(`/tmp/pwb-${runId}-probe-`);
  let exec: Executor | undefined;
  let server: PodwiredProcess | undefined;
  try {
    try {
      exec = new HelperPoolExecutor(await compileExecHelper(work));
    } catch {
      exec = new NodeSpawnExecutor();
    }
    await pool.ensure(o.pods + o.fill);
    if (o.floor) {
      const f = await runKernelFloor(exec, pool, Math.min(o.pods, 100), runId);
      const { podBatch: _p, emptyPodBatch: _e, podBatchCpu: _pc, emptyPodBatchCpu: _ec, ...brief } = f;
      void [_p, _e, _pc, _ec];
      process.stdout.write(`kernel floor: ${JSON.stringify(brief)}\n`);
      if (o.floorOnly) return;
    }
    server = new PodwiredProcess(path.join(work, 'run', 'podwire.sock'), path.join(work, 'state'));
    await server.start();
    const pid = server.pid as number;
    const d = new CniDriver(podwirePlugin(SHIM_BINARY, server.socket), exec);
    const settle = async () => {
      for (let i = 0; i < 100; i++) {
        const left = (await runCommand('ip', ['-j', 'link', 'show', 'type', 'veth'])).stdout;
        if (!left.includes('"ifname":"pz')) break; // detached pairs (renamed pz…) are destroyed
        await sleep(50);
      }
      await sleep(300);
    };
    const round = async (tag: string): Promise<{ before: ThreadCpu[]; after: ThreadCpu[]; adds: CniCallOutcome[] }> => {
      const pods = Array.from({ length: o.pods }, (_, i) => pod(tag, i, pool));
      const adds: CniCallOutcome[] = [];
      const before = readThreads(pid);
      for (const p of pods) adds.push(await d.add(p));
      const after = readThreads(pid);
      const bad = adds.find((x) => !x.ok);
      if (bad) throw new Error(`ADD failed: ${describeFailure(bad)}`);
      for (let i = 0; i < pods.length; i++) await d.del(pods[i] as PodRef, adds[i]?.json);
      await settle();
      return { before, after, adds };
    };
    // Warm-up: JIT, first connections.
    for (let i = 0; i < 20; i++) {
      const p = pod('warm', i, pool);
      const a = await d.add(p);
      await d.del(p, a.ok ? a.json : undefined);
    }
    await settle();
    // The fill: pods on the host while the measured rounds run (pool entries after the measured ones).
    const filled: Array<{ p: PodRef; json: Record<string, unknown> | undefined }> = [];
    for (let i = 0; i < o.fill; i++) {
      const p: PodRef = { containerId: `fill-${i}`, netnsPath: pool.path(o.pods + i), ifname: 'eth0', podName: `fill-${i}` };
      const a = await d.add(p);
      if (!a.ok) throw new Error(`fill ADD failed: ${describeFailure(a)}`);
      filled.push({ p, json: a.json });
    }
    if (o.fill) process.stdout.write(`${o.fill} pods present during the measured rounds\n`);
    const dpTid = datapathThreadId(pid, readThreads(pid));
    process.stdout.write(`podwired pid ${pid}, datapath thread ${dpTid}\n`);
    const rows: string[][] = [];
    const perAdd: number[] = [];
    for (let r = 0; r < o.rounds; r++) {
      server.logs.push(`=== datapath-probe: round ${r} starts`);
      const x = await round(`r${r}`);
      const deltas = threadDeltas(x.before, x.after, clkTck);
      const s = splitThreads(pid, deltas, dpTid);
      const n = o.pods;
      perAdd.push(s.datapathMs / n);
      rows.push([
        String(r),
        fmt(summarize(x.adds.map((a) => a.elapsedMs)).p50, 3),
        fmt(s.mainMs / n, 3),
        fmt(s.datapathMs / n, 3),
        fmt(s.datapathUserMs / n, 3),
        fmt(s.datapathSysMs / n, 3),
        fmt(s.otherMs / n, 3),
        s.datapathIsBusiest ? 'yes' : 'NO',
      ]);
      fs.writeFileSync(
        path.join(o.out, `round-${r}-threads.json`),
        JSON.stringify(
          deltas.map((t) => ({ ...t, perAddMs: t.cpuMs / n })),
          null,
          1,
        ),
      );
    }
    process.stdout.write(
      `${renderTable(['round', 'ADD p50 ms', 'main ms/ADD', 'datapath ms/ADD', 'dp user (ticks)', 'dp sys (ticks)', 'other threads ms/ADD', 'dp busiest'], rows)}\n` +
        `datapath thread CPU per ADD: median ${fmt(summarize(perAdd).p50, 3)} ms (${fmt(summarize(perAdd).min, 3)}–${fmt(summarize(perAdd).max, 3)})\n`,
    );
    if (o.strace && dpTid !== undefined) {
      const log = path.join(o.out, 'strace-c.txt');
      const st = await attach('strace', ['-c', '-p', String(dpTid), '-o', log], `${log}.stderr`);
      await round('sc');
      await detach(st);
      process.stdout.write(`strace -c of the datapath thread over ${o.pods} ADDs + DELs: ${log}\n`);
      // A plain log of ADDs alone (a few), each syscall with its time.
      const plain = path.join(o.out, 'strace-add.txt');
      const st2 = await attach('strace', ['-tt', '-T', '-p', String(dpTid), '-o', plain], `${plain}.stderr`);
      const pods = Array.from({ length: 5 }, (_, i) => pod('sp', i, pool));
      const adds: CniCallOutcome[] = [];
      for (const p of pods) adds.push(await d.add(p));
      await detach(st2);
      for (let i = 0; i < pods.length; i++) await d.del(pods[i] as PodRef, adds[i]?.json);
      await settle();
      // ADD phase alone, counted: strace -c over ADDs only.
      const addOnly = path.join(o.out, 'strace-c-add.txt');
      const st3 = await attach('strace', ['-c', '-p', String(dpTid), '-o', addOnly], `${addOnly}.stderr`);
      const pods3 = Array.from({ length: o.pods }, (_, i) => pod('sa', i, pool));
      const adds3: CniCallOutcome[] = [];
      for (const p of pods3) adds3.push(await d.add(p));
      await detach(st3);
      for (let i = 0; i < pods3.length; i++) await d.del(pods3[i] as PodRef, adds3[i]?.json);
      await settle();
      process.stdout.write(`strace -c over ${o.pods} ADDs only: ${addOnly}; plain log of 5 ADDs: ${plain}\n`);
    }
    if (o.cpuProf) {
      // ADDs alone, their monotonic time window (the clock of .cpuprofile timestamps, in µs) noted
      // so the profile can be cut to it.
      const pods = Array.from({ length: o.pods }, (_, i) => pod('cp', i, pool));
      const adds: CniCallOutcome[] = [];
      const t0 = process.hrtime.bigint() / 1000n;
      for (const p of pods) adds.push(await d.add(p));
      const t1 = process.hrtime.bigint() / 1000n;
      fs.writeFileSync(path.join(o.out, 'cpu-prof-add-window.json'), JSON.stringify({ startUs: Number(t0), endUs: Number(t1), adds: o.pods }));
      for (let i = 0; i < pods.length; i++) await d.del(pods[i] as PodRef, adds[i]?.json);
      await settle();
    }
    if (o.perf && dpTid !== undefined) {
      const data = path.join(o.out, 'perf.data');
      const pf = await attach(
        'perf',
        ['record', '-F', '2999', '-g', ...(o.perfProcess ? ['-p', String(pid)] : ['-t', String(dpTid)]), '-o', data],
        path.join(o.out, 'perf.stderr'),
      );
      const pods = Array.from({ length: o.pods }, (_, i) => pod('pf', i, pool));
      const adds: CniCallOutcome[] = [];
      for (const p of pods) adds.push(await d.add(p));
      await detach(pf);
      for (let i = 0; i < pods.length; i++) await d.del(pods[i] as PodRef, adds[i]?.json);
      await settle();
      process.stdout.write(`perf record of the datapath thread over ${o.pods} ADDs: ${data} (map /tmp/perf-${pid}.map)\n`);
    }
    for (const f of filled) await d.del(f.p, f.json);
    await settle();
    await server.stop();
    // Everything podwired printed (its log; V8's --trace-* output when PODWIRED_NODE_ARGS asks for it).
    fs.writeFileSync(path.join(o.out, 'podwired.log'), `${server.logs.join('\n')}\n`);
    server = undefined;
  } finally {
    if (server) await server.stop().catch(() => undefined);
    await exec?.close().catch(() => undefined);
    await pool.cleanup().catch(() => undefined);
    const fp = floorLinkPrefix(runId);
    for (const n of fs.readdirSync('/sys/class/net').filter((x) => x.startsWith(fp))) await runCommand('ip', ['link', 'del', n]);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`datapath-probe failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
