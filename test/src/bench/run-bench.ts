/**
 * `npm run bench`: podwire side by side with the reference CNI plugins (bridge + host-local,
 * ptp + host-local), driven like a container runtime drives them. Measurement only: it creates
 * and deletes interfaces in its own network namespaces and never sends a packet.
 *
 *   node test/dist/bench/run-bench.js [--quick] [--pods N] [--fill N] [--samples N]
 *        [--shim-runs N] [--fill-budget-s S] [--executor helper|node] [--out PATH]
 *        [--run-id ID] [--work-dir DIR]
 *        [--only all|restart] [--restart-pods N,N] [--restart-timeout-s S] [--restart-poll-ms MS]
 *        [--restart-check-sample K] [--cpu-calls N] [--cpu-warmup N] [--gone-pods M]
 *
 * `--only cpu-floor` runs only the cpu-floor rows (cpu-floor.ts): podwired CPU per ADD/DEL/STATUS
 * vs a bare grpc-js server, time until a DEL'd pod's veth pair is gone, and the ADD latency
 * floor; they also run in the full bench.
 * `--only cri` runs only the CRI rows (cri-bench.ts): bridge+host-local vs podwire behind a private
 * containerd 1.6 driven through CRI (RunPodSandbox p50, churn@8, the CNI step from containerd's
 * debug log); they also run in the full bench.
 * `--only restart` runs only the "restart to serving after SIGKILL" rows (restart-bench.ts),
 * which need the shim and podwired but not the reference plugins.
 *
 * One module per workload: cni-workloads.ts (sequential, churn, latency at 0 and N pods, for
 * every configuration), shim-bench.ts (the shim alone), kernel-floor.ts, cpu-floor.ts,
 * restart-bench.ts, cri-bench.ts, peer-routes-bench.ts; bench-report.ts renders the main
 * tables and targets, bench-options.ts reads the command line. This file runs them in order and
 * writes the JSON (summarize-runs.ts reads it).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PodwiredProcess } from '../lib/podwired-process';
import { SERVER_MAIN, SHIM_BINARY } from '../lib/paths';
import { runCommand } from '../lib/run-command';
import { parseOptions } from './bench-options';
import { buildReport } from './bench-report';
import {
  BENCH_BRIDGE,
  type Executor,
  HelperPoolExecutor,
  NetnsPool,
  NodeSpawnExecutor,
  bridgePlugin,
  bridgePorts,
  compileExecHelper,
  hostLinkExists,
  podwirePlugin,
  ptpPlugin,
} from './cni-driver';
import { Bench, type ConfigResult, attachServerDurations } from './cni-workloads';
import { type CpuFloorResult, cpuFloorPoolPrefix, cpuFloorTargets, renderCpuFloor, runCpuFloor } from './cpu-floor';
import { type CriBenchResult, renderCri, runCriBench } from './cri-bench';
import { type KernelFloorResult, floorLinkPrefix, runKernelFloor } from './kernel-floor';
import { machine } from './machine';
import { runPeerRoutesBench } from './peer-routes-bench';
import { procStatusKb } from './proc-stats';
import { type RestartRowResult, cleanupRestartBench, renderRestart, restartTargets, runRestartBench } from './restart-bench';
import { runShimBench } from './shim-bench';
import { type Stats, fmt, renderTable } from './stats';

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root: the benchmark creates network namespaces and interfaces');
  const wallStart = performance.now();
  const clkTck = Number((await runCommand('getconf', ['CLK_TCK'])).stdout.trim()) || 100;
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
      (o.only === 'restart' || o.only === 'cri'
        ? ''
        : `cpu-floor: ${o.cpuCalls} sequential calls per verb after ${o.cpuWarmup} ADD+DEL cycles of warm-up, pair-gone rows with ${o.gonePods} pods @1 and @8${o.only === 'cpu-floor' ? ' only' : ''}\n`),
  );
  const needed =
    o.only !== 'all' ? [SHIM_BINARY, SERVER_MAIN] : ['/usr/lib/cni/bridge', '/usr/lib/cni/ptp', '/usr/lib/cni/host-local', SHIM_BINARY, SERVER_MAIN];
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
        clkTck,
        calls: o.cpuCalls,
        warmup: o.cpuWarmup,
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
        `${renderCpuFloor(cf)}\n\ntargets\n${renderTable(
          ['target', 'measured', 'result', 'margin'],
          targets.map((t) => [t.target, t.measured, t.met ? 'MET' : 'MISSED', t.margin]),
        )}\n\nbenchmark wall time: ${fmt(wallS)} s\n`,
      );
      const json = { machine: m, options: { ...o, workDir: undefined }, executor: exec.kind, cpuFloor: cf, targets, wallSeconds: wallS };
      fs.writeFileSync(o.out, `${JSON.stringify(json, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
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
      fs.writeFileSync(o.out, `${JSON.stringify(json, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
      process.stdout.write(`results written to ${o.out}\n`);
      return 0;
    }
    if (o.only === 'restart') {
      process.stderr.write('bench: restart to serving after SIGKILL\n');
      const rows = await restartRows();
      const targets = restartTargets(rows);
      const wallS = (performance.now() - wallStart) / 1000;
      process.stdout.write(
        `${renderRestart(rows)}\n\ntargets\n${renderTable(
          ['target', 'measured', 'result', 'margin'],
          targets.map((t) => [t.target, t.measured, t.met ? 'MET' : 'MISSED', t.margin]),
        )}\n\nbenchmark wall time: ${fmt(wallS)} s\n`,
      );
      const json = { machine: m, options: { ...o, workDir: undefined }, executor: exec.kind, restart: rows, targets, wallSeconds: wallS };
      fs.writeFileSync(o.out, `${JSON.stringify(json, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
      process.stdout.write(`results written to ${o.out}\n`);
      return rows.every((r) => r.verdict !== 'FAILED') ? 0 : 1;
    }

    const poolSize = Math.max(o.pods, o.churnPods, o.fill + o.samples);
    const t0 = performance.now();
    await pool.ensure(poolSize);
    process.stderr.write(`bench: ${poolSize} network namespaces ${prefix}-* created in ${fmt((performance.now() - t0) / 1000)} s\n`);

    const bench = new Bench(o, exec, pool, clkTck);
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
    report.text += `\n\n${renderCpuFloor(cpuFloor)}\n\ncpu-floor targets\n${renderTable(
      ['target', 'measured', 'result', 'margin'],
      cpuFloorTargetRows.map((t) => [t.target, t.measured, t.met ? 'MET' : 'MISSED', t.margin]),
    )}`;
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
    fs.writeFileSync(o.out, `${JSON.stringify(json, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
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
