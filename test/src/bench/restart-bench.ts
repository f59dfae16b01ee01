/**
 * "Restart to serving after SIGKILL" rows of the benchmark. Per pod count N:
 *
 *  1. start podwired (private socket and state dir under the work dir), wire N pods through
 *     the real shim with concurrency 8, each pod in its own netns, in 10.249.0.0/16 (no other
 *     bench part uses it);
 *  2. SIGKILL podwired, spawn it again on the same socket and state dir, and from the spawn on
 *     poll STATUS and the ADD of a new pod through the shim (PODWIRE_RETRY_TIMEOUT_MS=0, so
 *     the shim tries to connect once and this loop does the retrying every `pollMs`, 100 ms
 *     after the first 5 s; CNI code
 *     11 = not reachable yet, STATUS code 50 = not ready yet). Row value: spawn -> first
 *     successful ADD. Bounded by `restartTimeoutMs`: a timeout is a MISSED row;
 *  3. CHECK a spread sample of the pre-existing pods (and the new one) through the shim;
 *  4. DEL every pod through the shim, then assert nothing of this row is left: host veths
 *     (this server's owner alias or the names ADD returned), proto-199 routes in the row's
 *     subnet or on those veths (IPv4 and IPv6), leases/attachments rows in ipam.db, netns.
 *
 * Measurement only: interfaces are created and deleted, no packet is sent. Everything the row
 * creates is removed in a finally (podwired killed, netns deleted, state dir removed), also on
 * failure or timeout; cleanupRestartBench() does the same from a signal handler.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { IpLink, IpRoute } from '../lib/netns';
import { SHIM_BINARY } from '../lib/paths';
import { PodwiredProcess } from '../lib/podwired-process';
import { runCommand } from '../lib/run-command';
import { readStore } from '../lib/store-rows';
import { type CniCallOutcome, CniDriver, type Executor, NetnsPool, type PluginUnderTest, type PodRef, describeFailure, podwirePlugin } from './cni-driver';
import {
  type RestartVerdict,
  type StartupLogs,
  findStartupLogs,
  flattenFields,
  inIpv4Subnet,
  restartTarget,
  restartVerdict,
  spreadIndices,
} from './restart-report';
import { type Stats, fmt, renderTable, summarize } from './stats';

/** The rows' pod subnet: the other bench parts use 10.250-10.252 (host) and 10.62-10.66 (private netns). */
export const RESTART_SUBNET = '10.249.0.0/16';
export const RESTART_NETWORK = 'bench-restart';

export interface RestartBenchOptions {
  pods: number;
  runId: string;
  /** The row's files go in `<workDir>/restart-<pods>` (removed afterwards). */
  workDir: string;
  exec: Executor;
  /** Fill and DEL concurrency. */
  concurrency: number;
  /** Bound on spawn -> first successful ADD. */
  restartTimeoutMs: number;
  /** Sleep between two attempts of the STATUS and ADD loops after the restart (for the first 5 s; 100 ms after). */
  pollMs: number;
  /** Bound on the fill and on the DEL of all pods (each; at least 40 ms per pod). */
  phaseBudgetMs: number;
  /** Pre-existing pods to CHECK after the restart (at least 50 unless fewer pods exist). */
  checkSample: number;
  log: (msg: string) => void;
}

export interface PhaseSummary {
  attempted: number;
  ok: number;
  failed: number;
  wallMs: number;
  perSecond: number;
  latency: Stats;
  stoppedByBudget: boolean;
  firstError?: string;
}

export interface RestartMeasure {
  timeoutMs: number;
  pollMs: number;
  /** spawn -> first STATUS that succeeded. */
  spawnToStatusMs?: number;
  /** spawn -> first ADD (of a new pod) that succeeded: the row value. */
  spawnToAddMs?: number;
  /** When that successful ADD was issued (the earlier attempts could not connect). */
  successfulAddIssuedAtMs?: number;
  /** The successful ADD's own latency. */
  successfulAddLatencyMs?: number;
  /** spawn -> first STATUS answered by podwired at all (ok or "not ready", code 50). */
  spawnToFirstAnswerMs?: number;
  /** spawn -> the "podwired serving" log line (its pino time). */
  spawnToServingLogMs?: number;
  statusAttempts: number;
  addAttempts: number;
  /** CNI error codes seen per loop ("11": not reachable, "50": not ready...). */
  statusErrorCodes: Record<string, number>;
  addErrorCodes: Record<string, number>;
  /** An ADD failure other than "try again later" (ends the loop; the row fails). */
  addError?: string;
  timedOut: boolean;
  /** podwired exited on its own before serving. */
  serverExited?: string;
  /** podwired's CPU (user + sys) from spawn to the first successful ADD. */
  serverCpuMsToAdd?: number;
  serverRssMbAtAdd?: number;
  /** podwired's CPU from spawn to the end of the wait (the first ADD, or the bound). */
  serverCpuMsDuringWait?: number;
  startupLogs: StartupLogs;
}

export interface Leftovers {
  hostLinks: string[];
  routes4: string[];
  routes6: string[];
  leases?: number;
  attachments?: number;
  dbError?: string;
  netns: string[];
  /** How long the kernel-side checks waited for the reaper to finish. */
  waitedMs: number;
}

export interface RestartRowResult {
  pods: number;
  netnsCount: number;
  netnsCreateMs: number;
  subnet: string;
  concurrency: number;
  fill: PhaseSummary;
  podwiredRssMbAtFill?: number;
  killWaitMs: number;
  restart: RestartMeasure;
  check: { sampled: number; ok: number; failed: number; latency: Stats; failures: string[]; newPod?: string };
  del: (PhaseSummary & { skipped?: undefined }) | { skipped: string };
  leftovers?: Leftovers;
  /** When DEL through the shim was not possible or incomplete: what was removed without it. */
  fallbackCleanup?: string;
  /** The final kernel check, after podwired was stopped or killed and the netns deleted. */
  finalKernelCheck?: Pick<Leftovers, 'hostLinks' | 'routes4' | 'routes6' | 'netns' | 'waitedMs'>;
  netnsDeleteMs?: number;
  failures: string[];
  verdict: RestartVerdict;
  met: boolean;
  margin: string;
  limitMs: number;
  targetPods: number;
  wallMs: number;
}

// ---------------------------------------------------------------------------------------------
// What a signal handler must be able to stop: the row in flight.

const active = new Set<{ server?: PodwiredProcess; pool: NetnsPool; dir: string }>();

/** Kills podwired of a row in flight and deletes its netns and files (for SIGINT/SIGTERM). */
export async function cleanupRestartBench(): Promise<void> {
  for (const a of [...active]) {
    await a.server?.kill().catch(() => undefined);
    await a.pool.cleanup().catch(() => undefined);
    fs.rmSync(a.dir, { recursive: true, force: true });
    active.delete(a);
  }
}

// ---------------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let clkTck: number | undefined;
async function clockTicks(): Promise<number> {
  clkTck ??= Number((await runCommand('getconf', ['CLK_TCK'])).stdout.trim()) || 100;
  return clkTck;
}

function procStat(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie. */
function processAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  const f = procStat(pid);
  return f !== undefined && f[0] !== 'Z' && f[0] !== 'X';
}

function cpuMs(pid: number | undefined, tck: number): number | undefined {
  const f = pid === undefined ? undefined : procStat(pid);
  return f ? ((Number(f[11]) + Number(f[12])) * 1000) / tck : undefined;
}

function rssMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `op` over `items` with `concurrency` workers until done or `budgetMs` has passed. */
async function runPool<T>(
  items: T[],
  concurrency: number,
  budgetMs: number,
  op: (item: T, i: number) => Promise<CniCallOutcome>,
): Promise<{ outcomes: Array<CniCallOutcome | undefined>; summary: PhaseSummary }> {
  const outcomes: Array<CniCallOutcome | undefined> = new Array(items.length).fill(undefined);
  const started = performance.now();
  let next = 0;
  let stoppedByBudget = false;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      if (performance.now() - started > budgetMs) {
        stoppedByBudget = true;
        next = items.length;
        return;
      }
      outcomes[i] = await op(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  const wallMs = performance.now() - started;
  const done = outcomes.filter((o): o is CniCallOutcome => o !== undefined);
  const ok = done.filter((o) => o.ok);
  const bad = done.find((o) => !o.ok);
  return {
    outcomes,
    summary: {
      attempted: done.length,
      ok: ok.length,
      failed: done.length - ok.length,
      wallMs,
      perSecond: (ok.length * 1000) / wallMs,
      latency: summarize(ok.map((o) => o.elapsedMs)),
      stoppedByBudget,
      ...(bad ? { firstError: describeFailure(bad) } : {}),
    },
  };
}

function ownerTag(stateDir: string): string {
  return createHash('sha256').update(fs.realpathSync(stateDir)).digest('hex').slice(0, 12);
}

async function ipJsonLoose<T>(args: string[]): Promise<T[]> {
  const r = await runCommand('ip', ['-j', ...args], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`ip -j ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout.trim() === '' ? [] : (JSON.parse(r.stdout) as T[]);
}

/** This row's host veths and proto-199 routes still in the kernel (exported for a manual check). */
export async function kernelLeftovers(alias: string, hostNames: Set<string>): Promise<Pick<Leftovers, 'hostLinks' | 'routes4' | 'routes6'>> {
  const links = (await ipJsonLoose<IpLink & { ifalias?: string }>(['link', 'show']))
    .filter((l) => l.ifname.startsWith('pw') && (l.ifalias === alias || hostNames.has(l.ifname)))
    .map((l) => l.ifname);
  const mine = (r: IpRoute) => (r.dev !== undefined && hostNames.has(r.dev)) || inIpv4Subnet(r.dst, RESTART_SUBNET);
  const routes4 = (await ipJsonLoose<IpRoute>(['route', 'show', 'proto', '199'])).filter(mine).map((r) => `${r.dst} dev ${r.dev ?? '?'}`);
  const routes6 = (await ipJsonLoose<IpRoute>(['-6', 'route', 'show', 'proto', '199']))
    .filter((r) => r.dev !== undefined && hostNames.has(r.dev))
    .map((r) => `${r.dst} dev ${r.dev ?? '?'}`);
  return { hostLinks: links, routes4, routes6 };
}

/** Polls the kernel until this row's veths and routes are gone or `boundMs` passed (the reaper works in the background). */
async function waitKernelClean(alias: string, hostNames: Set<string>, boundMs: number) {
  const t0 = performance.now();
  for (;;) {
    const k = await kernelLeftovers(alias, hostNames);
    const empty = k.hostLinks.length + k.routes4.length + k.routes6.length === 0;
    if (empty || performance.now() - t0 > boundMs) return { ...k, waitedMs: performance.now() - t0 };
    await sleep(250);
  }
}

async function netnsLeft(prefix: string): Promise<string[]> {
  return (await runCommand('ip', ['netns', 'list'])).stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`${prefix}-`));
}

/** One "restart to serving after SIGKILL" row at `o.pods` pods. */
export async function runRestartRow(o: RestartBenchOptions): Promise<RestartRowResult> {
  const rowStart = performance.now();
  const tck = await clockTicks();
  const n = o.pods;
  const log = (m: string) => o.log(`[restart ${n}] ${m}`);
  const dir = path.join(o.workDir, `restart-${n}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'run'), { recursive: true, mode: 0o700 });
  const socket = path.join(dir, 'run', 'podwire.sock');
  const stateDir = path.join(dir, 'state');
  const pidFile = path.join(o.workDir, 'podwired-restart.pid');
  const nsPrefix = `pwb-${o.runId}-r${n}`;
  const pool = new NetnsPool(nsPrefix);
  const entry: { server?: PodwiredProcess; pool: NetnsPool; dir: string } = { pool, dir };
  active.add(entry);
  const failures: string[] = [];
  const tag = `b${o.runId}-rs${n}`;
  // One netns per pod (5,001 take ~9 s to create here). Several pods per netns with distinct
  // CNI_IFNAME does not work with podwired: each pod interface gets the on-link route to
  // 169.254.1.1/32 and a default route, both created exclusively, so the second interface in
  // a netns fails with EEXIST (measured: 25 of 100 ADDs with 4 per netns).
  const netnsCount = n + 1;
  // The fill and the DEL of all pods each get at least 40 ms per pod (5 pods/s at concurrency 8).
  const budgetMs = Math.max(o.phaseBudgetMs, n * 40);

  const plugin = podwirePlugin(SHIM_BINARY, socket);
  plugin.netconf = { ...plugin.netconf, name: RESTART_NETWORK, ipam: { ranges: [[{ subnet: RESTART_SUBNET }]] } };
  const driver = (env: Record<string, string>): CniDriver => new CniDriver({ ...plugin, env: { ...plugin.env, ...env } } as PluginUnderTest, o.exec);
  // Fill, CHECK and DEL: the shim's default connect retry, a call bounded at 60 s.
  const steady = driver({ PODWIRE_CALL_TIMEOUT_MS: '60000' });
  const pod = (i: number): PodRef => ({
    containerId: `${tag}-${i}`,
    netnsPath: pool.path(i),
    ifname: 'eth0',
    podName: `${tag}-${i}`,
  });

  const startServer = async (): Promise<PodwiredProcess> => {
    const s = new PodwiredProcess(socket, stateDir);
    entry.server = s;
    await s.start();
    if (s.pid !== undefined) fs.writeFileSync(pidFile, String(s.pid));
    return s;
  };

  let server: PodwiredProcess | undefined;
  const pods: PodRef[] = [];
  const results: Array<Record<string, unknown> | undefined> = [];
  const hostNames = new Set<string>();
  const noteHost = (json: Record<string, unknown> | undefined) => {
    const ifs = json?.interfaces;
    if (Array.isArray(ifs))
      for (const i of ifs as Array<{ name?: unknown; sandbox?: unknown }>) if (typeof i.name === 'string' && i.sandbox === undefined) hostNames.add(i.name);
  };
  const emptyPhase = (): PhaseSummary => ({ attempted: 0, ok: 0, failed: 0, wallMs: 0, perSecond: NaN, latency: summarize([]), stoppedByBudget: false });
  const restart: RestartMeasure = {
    timeoutMs: o.restartTimeoutMs,
    pollMs: o.pollMs,
    statusAttempts: 0,
    addAttempts: 0,
    statusErrorCodes: {},
    addErrorCodes: {},
    timedOut: false,
    startupLogs: {},
  };
  const row: RestartRowResult = {
    pods: n,
    netnsCount,
    netnsCreateMs: NaN,
    subnet: RESTART_SUBNET,
    concurrency: o.concurrency,
    fill: emptyPhase(),
    killWaitMs: NaN,
    restart,
    check: { sampled: 0, ok: 0, failed: 0, latency: summarize([]), failures: [] },
    del: { skipped: 'not reached' },
    failures,
    verdict: 'FAILED',
    met: false,
    margin: '',
    ...restartTarget(n),
    wallMs: NaN,
  };
  let newResult: Record<string, unknown> | undefined;
  const newPod = (): PodRef => ({ containerId: `${tag}-new`, netnsPath: pool.path(n), ifname: 'eth0', podName: `${tag}-new` });

  try {
    // 1. Namespaces, podwired, N pods.
    let t = performance.now();
    await pool.ensure(netnsCount);
    row.netnsCreateMs = performance.now() - t;
    log(`${netnsCount} netns created in ${fmt(row.netnsCreateMs / 1000)} s (one per pod)`);
    for (let i = 0; i < n; i++) pods.push(pod(i));

    server = await startServer();
    const fill = await runPool(pods, o.concurrency, budgetMs, (p) => steady.add(p));
    row.fill = fill.summary;
    fill.outcomes.forEach((x, i) => {
      results[i] = x?.ok ? x.json : undefined;
      noteHost(results[i]);
    });
    row.podwiredRssMbAtFill = rssMb(server.pid);
    log(`filled ${fill.summary.ok}/${n} pods in ${fmt(fill.summary.wallMs / 1000)} s (${fmt(fill.summary.perSecond)} pods/s)`);
    if (fill.summary.ok < n) {
      failures.push(
        `fill: ${fill.summary.ok}/${n} ADDs succeeded${fill.summary.stoppedByBudget ? ' (stopped by the time budget)' : ''}${fill.summary.firstError ? `, first error: ${fill.summary.firstError}` : ''}`,
      );
    }
    const before = await steady.status();
    if (!before.ok) failures.push(`STATUS before the kill failed: ${describeFailure(before)}`);
    const owner = String(server.logRecords().find((r) => typeof r.owner === 'string')?.owner ?? ownerTag(stateDir));
    const alias = `podwire:${owner}`;

    // 2. SIGKILL, spawn again, poll STATUS and a new pod's ADD from the spawn on.
    t = performance.now();
    await server.kill();
    row.killWaitMs = performance.now() - t;
    log(`podwired SIGKILLed (exit seen after ${fmt(row.killWaitMs)} ms); spawning it again`);

    const s2 = new PodwiredProcess(socket, stateDir);
    entry.server = s2;
    server = s2;
    const spawnEpoch = Date.now();
    const t0 = performance.now();
    const deadline = t0 + o.restartTimeoutMs;
    let startError: string | undefined;
    // start() spawns synchronously, then waits for the socket to accept (it does not gate the loops).
    const started = s2.start(o.restartTimeoutMs + 5_000).catch((err: unknown) => {
      startError = err instanceof Error ? err.message.split('\n')[0] : String(err);
    });
    if (s2.pid !== undefined) fs.writeFileSync(pidFile, String(s2.pid));
    const cpu0 = cpuMs(s2.pid, tck) ?? 0;
    const gone = () => startError !== undefined || !processAlive(s2.pid);
    const bump = (m: Record<string, number>, c: CniCallOutcome) => {
      const k = String(c.error?.code ?? `exit ${c.status}`);
      m[k] = (m[k] ?? 0) + 1;
    };
    // Poll every pollMs for the first 5 s (past both targets), then every 100 ms, so a slow
    // start-up is not also flooded by this loop's shim executions and STATUS calls.
    const pause = () => sleep(performance.now() - t0 < 5_000 ? o.pollMs : Math.max(o.pollMs, 100));
    const callEnv = () => ({ PODWIRE_RETRY_TIMEOUT_MS: '0', PODWIRE_CALL_TIMEOUT_MS: String(Math.max(1, Math.ceil(deadline - performance.now()))) });

    const statusLoop = async () => {
      while (performance.now() < deadline && !gone()) {
        const r = await driver(callEnv()).status();
        restart.statusAttempts++;
        const at = performance.now() - t0;
        if (r.ok || r.error?.code === 50) restart.spawnToFirstAnswerMs ??= at;
        if (r.ok) {
          restart.spawnToStatusMs = at;
          return;
        }
        bump(restart.statusErrorCodes, r);
        await pause();
      }
    };
    const addLoop = async () => {
      const p = newPod();
      while (performance.now() < deadline && !gone()) {
        const issued = performance.now() - t0;
        const r = await driver(callEnv()).add(p);
        restart.addAttempts++;
        if (r.ok) {
          restart.spawnToAddMs = performance.now() - t0;
          restart.successfulAddIssuedAtMs = issued;
          restart.successfulAddLatencyMs = r.elapsedMs;
          restart.serverCpuMsToAdd = (cpuMs(s2.pid, tck) ?? NaN) - cpu0;
          restart.serverRssMbAtAdd = rssMb(s2.pid);
          newResult = r.json;
          noteHost(r.json);
          return;
        }
        bump(restart.addErrorCodes, r);
        if (r.error?.code !== 11) {
          restart.addError = describeFailure(r);
          return;
        }
        await pause();
      }
    };
    await Promise.all([statusLoop(), addLoop()]);
    restart.serverCpuMsDuringWait = (cpuMs(s2.pid, tck) ?? NaN) - cpu0;
    if (restart.spawnToAddMs === undefined && restart.addError === undefined) {
      if (gone()) restart.serverExited = startError ?? 'podwired exited';
      else restart.timedOut = true;
    }
    if (restart.spawnToAddMs !== undefined) await started;
    await sleep(100); // the serving line is logged right before serving; let its pipe drain
    restart.startupLogs = findStartupLogs(s2.logRecords());
    const servingTime = restart.startupLogs.serving?.time;
    if (typeof servingTime === 'number') restart.spawnToServingLogMs = servingTime - spawnEpoch;
    log(
      `spawn -> STATUS ok ${fmt(restart.spawnToStatusMs)} ms, -> ADD ok ${fmt(restart.spawnToAddMs)} ms` +
        ` (${restart.addAttempts} ADD / ${restart.statusAttempts} STATUS attempts)` +
        (restart.timedOut ? `; TIMED OUT after ${fmt(o.restartTimeoutMs / 1000)} s` : '') +
        (restart.serverExited ? `; podwired exited: ${restart.serverExited}` : '') +
        (restart.addError ? `; ADD failed: ${restart.addError}` : ''),
    );
    if (restart.addError) failures.push(`ADD after the restart failed: ${restart.addError}`);
    if (restart.serverExited) failures.push(`podwired exited before serving: ${restart.serverExited}`);
    if (restart.spawnToAddMs !== undefined && restart.spawnToStatusMs === undefined) failures.push('STATUS never succeeded although ADD did');

    if (restart.spawnToAddMs === undefined) {
      row.del = { skipped: restart.timedOut ? `podwired did not serve ADD within ${fmt(o.restartTimeoutMs / 1000)} s` : 'podwired is not serving' };
      return row;
    }

    // 3. CHECK a spread sample of the pre-existing pods, and the new one.
    const k = Math.min(n, Math.max(50, o.checkSample));
    const sample = spreadIndices(n, k);
    const checked = await runPool(sample, o.concurrency, budgetMs, (i) =>
      results[i] !== undefined ? steady.check(pods[i] as PodRef, results[i]) : Promise.resolve(notAdded(i)),
    );
    const checkFailures = checked.outcomes.flatMap((x, j) => (x && !x.ok ? [`${pods[sample[j] ?? 0]?.containerId}: ${describeFailure(x)}`] : []));
    const newCheck = await steady.check(newPod(), newResult);
    row.check = {
      sampled: sample.length,
      ok: checked.summary.ok,
      failed: sample.length - checked.summary.ok,
      latency: checked.summary.latency,
      failures: checkFailures.slice(0, 5),
      ...(newCheck.ok ? {} : { newPod: describeFailure(newCheck) }),
    };
    log(`CHECK ${row.check.ok}/${sample.length} sampled pods ok${newCheck.ok ? ', new pod ok' : `, new pod FAILED: ${describeFailure(newCheck)}`}`);
    if (row.check.failed > 0) failures.push(`CHECK: ${row.check.failed}/${sample.length} sampled pods failed, first: ${checkFailures[0] ?? '(not run)'}`);
    if (!newCheck.ok) failures.push(`CHECK of the pod added after the restart failed: ${describeFailure(newCheck)}`);

    // 4. DEL everything through the shim, then look for anything left.
    const all = [...pods, newPod()];
    const allResults = [...results, newResult];
    const del = await runPool(all, o.concurrency, budgetMs, (p, i) => steady.del(p, allResults[i]));
    row.del = del.summary;
    log(`DEL ${del.summary.ok}/${all.length} in ${fmt(del.summary.wallMs / 1000)} s (${fmt(del.summary.perSecond)} pods/s)`);
    if (del.summary.ok < all.length)
      failures.push(
        `DEL: ${del.summary.ok}/${all.length} succeeded${del.summary.stoppedByBudget ? ' (stopped by the time budget)' : ''}${del.summary.firstError ? `, first error: ${del.summary.firstError}` : ''}`,
      );

    const kernel = await waitKernelClean(alias, hostNames, 30_000);
    const left: Leftovers = { ...kernel, netns: [] };
    try {
      const rows = readStore(s2.dbPath);
      left.leases = rows.leases.length;
      left.attachments = rows.attachments.length;
    } catch (err) {
      left.dbError = err instanceof Error ? err.message : String(err);
    }
    await s2.stop();
    t = performance.now();
    await pool.cleanup();
    row.netnsDeleteMs = performance.now() - t;
    left.netns = await netnsLeft(nsPrefix);
    row.leftovers = left;
    const leftNote = describeLeftovers(left);
    log(`after DEL: ${leftNote || 'nothing left'} (kernel checks waited ${fmt(left.waitedMs)} ms); netns deleted in ${fmt(row.netnsDeleteMs)} ms`);
    if (leftNote) failures.push(`left after DEL: ${leftNote}`);
    return row;
  } catch (err) {
    failures.push(`bench error: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    return row;
  } finally {
    // Whatever happened: podwired killed, netns deleted (the kernel destroys the veth pairs in
    // them, and their routes with them), this row's veths/routes removed, files removed.
    const notes: string[] = [];
    try {
      if (entry.server && processAlive(entry.server.pid)) {
        await entry.server.kill();
        notes.push('podwired killed');
      }
      if ((await netnsLeft(nsPrefix)).length > 0) {
        const t = performance.now();
        await pool.cleanup();
        row.netnsDeleteMs ??= performance.now() - t;
        notes.push('netns deleted');
      }
      let owner: string | undefined;
      try {
        owner = ownerTag(stateDir);
      } catch {
        owner = undefined;
      }
      if (owner !== undefined) {
        // Deleting a netns destroys its veth pairs (and their routes) in the background.
        const k = await waitKernelClean(`podwire:${owner}`, hostNames, 60_000);
        row.finalKernelCheck = {
          hostLinks: k.hostLinks.slice(0, 10),
          routes4: k.routes4.slice(0, 10),
          routes6: k.routes6.slice(0, 10),
          netns: await netnsLeft(nsPrefix),
          waitedMs: k.waitedMs,
        };
        if (k.hostLinks.length > 0) {
          await runCommand('ip', ['-force', '-batch', '-'], { input: `${k.hostLinks.map((l) => `link del ${l}`).join('\n')}\n`, timeoutMs: 300_000 });
        }
        for (const r of k.routes4) await runCommand('ip', ['route', 'del', ...r.split(' ')]);
        if (k.hostLinks.length + k.routes4.length + k.routes6.length > 0) {
          notes.push(`removed by hand: ${k.hostLinks.length} veths, ${k.routes4.length + k.routes6.length} routes`);
          failures.push(
            `left in the kernel after podwired was stopped and the netns deleted: ${k.hostLinks.length} veths, ${k.routes4.length} IPv4 / ${k.routes6.length} IPv6 routes`,
          );
        }
      }
    } catch (err) {
      notes.push(`cleanup error: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (notes.length) row.fallbackCleanup = notes.join('; ');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(pidFile, { force: true });
    active.delete(entry);
    const v = restartVerdict({ pods: n, spawnToAddMs: restart.spawnToAddMs, timeoutMs: o.restartTimeoutMs, failures });
    row.verdict = v.verdict;
    row.met = v.met;
    row.margin = v.margin;
    row.wallMs = performance.now() - rowStart;
    log(`${v.verdict === 'FAILED' ? v.margin : `${v.verdict}: ${v.margin}`} (row took ${fmt(row.wallMs / 1000)} s)`);
  }
}

function notAdded(i: number): CniCallOutcome {
  return { ok: false, status: -1, elapsedMs: 0, cpuMs: undefined, json: undefined, error: { msg: `pod ${i} was never added` }, stdout: '', stderr: '' };
}

export function describeLeftovers(l: Leftovers): string {
  const parts: string[] = [];
  if (l.hostLinks.length) parts.push(`${l.hostLinks.length} host veths (${l.hostLinks.slice(0, 3).join(', ')})`);
  if (l.routes4.length) parts.push(`${l.routes4.length} IPv4 proto-199 routes (${l.routes4.slice(0, 3).join(', ')})`);
  if (l.routes6.length) parts.push(`${l.routes6.length} IPv6 proto-199 routes`);
  if (l.leases) parts.push(`${l.leases} leases`);
  if (l.attachments) parts.push(`${l.attachments} attachments`);
  if (l.dbError) parts.push(`ipam.db unreadable: ${l.dbError}`);
  if (l.netns.length) parts.push(`${l.netns.length} netns`);
  return parts.join(', ');
}

/** Runs one row per pod count, one after the other. */
export async function runRestartBench(counts: number[], base: Omit<RestartBenchOptions, 'pods'>): Promise<RestartRowResult[]> {
  const rows: RestartRowResult[] = [];
  for (const pods of counts) rows.push(await runRestartRow({ ...base, pods }));
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Report

export interface RestartTargetRow {
  target: string;
  measured: string;
  met: boolean;
  margin: string;
}

const sec = (ms: number | undefined) => (ms === undefined || !Number.isFinite(ms) ? '-' : `${fmt(ms / 1000)} s`);

export function restartTargets(rows: RestartRowResult[]): RestartTargetRow[] {
  return rows.map((r) => ({
    target: `restart after SIGKILL with ${r.pods.toLocaleString('en-US')} pods: spawn -> first ADD <= ${fmt(r.limitMs / 1000)} s`,
    measured:
      r.restart.spawnToAddMs !== undefined
        ? `${sec(r.restart.spawnToAddMs)} (STATUS ok at ${sec(r.restart.spawnToStatusMs)})`
        : r.restart.timedOut
          ? `timed out (> ${sec(r.restart.timeoutMs)})`
          : 'no ADD',
    met: r.met,
    margin: r.margin,
  }));
}

export function renderRestart(rows: RestartRowResult[]): string {
  const lines: string[] = [];
  lines.push('restart to serving after SIGKILL (podwired killed with N wired pods, spawned again on the same state dir)');
  lines.push(
    renderTable(
      ['pods', 'netns', 'fill @c (pods/s)', 'spawn->STATUS', 'spawn->ADD', 'target', 'result', 'CHECK sample', 'DEL (pods/s)', 'left after DEL'],
      rows.map((r) => [
        r.pods.toLocaleString('en-US'),
        `${r.netnsCount.toLocaleString('en-US')} (${sec(r.netnsCreateMs)})`,
        `${sec(r.fill.wallMs)} @${r.concurrency} (${fmt(r.fill.perSecond)})`,
        sec(r.restart.spawnToStatusMs),
        r.restart.spawnToAddMs !== undefined ? sec(r.restart.spawnToAddMs) : r.restart.timedOut ? `> ${sec(r.restart.timeoutMs)}` : '-',
        `<= ${fmt(r.limitMs / 1000)} s`,
        r.verdict,
        r.check.sampled ? `${r.check.ok}/${r.check.sampled} ok` : '-',
        'skipped' in r.del ? 'skipped' : `${r.del.ok}/${r.del.attempted} ${sec(r.del.wallMs)} (${fmt(r.del.perSecond)})`,
        r.leftovers ? describeLeftovers(r.leftovers) || 'nothing' : '-',
      ]),
    ),
  );
  for (const r of rows) {
    const m = r.restart;
    const notes = [
      'one netns per pod',
      `first STATUS answer (ok or code 50) ${sec(m.spawnToFirstAnswerMs)}`,
      `the successful ADD was issued at ${sec(m.successfulAddIssuedAtMs)} and took ${fmt(m.successfulAddLatencyMs)} ms`,
      `attempts: ${m.addAttempts} ADD ${JSON.stringify(m.addErrorCodes)}, ${m.statusAttempts} STATUS ${JSON.stringify(m.statusErrorCodes)} (poll ${m.pollMs} ms for 5 s, then 100 ms)`,
      m.spawnToAddMs !== undefined
        ? `podwired CPU to first ADD ${fmt(m.serverCpuMsToAdd)} ms, RSS ${fmt(m.serverRssMbAtAdd)} MB`
        : `podwired CPU during the wait ${fmt(m.serverCpuMsDuringWait)} ms`,
    ];
    lines.push(`  ${r.pods}: ${notes.join('; ')}`);
    const serving = m.startupLogs.serving;
    lines.push(
      serving
        ? `  ${r.pods}: "podwired serving" at ${sec(m.spawnToServingLogMs)} after spawn: ${flattenFields(serving)}`
        : `  ${r.pods}: no "podwired serving" log line seen`,
    );
    if (m.startupLogs.verification) lines.push(`  ${r.pods}: "${String(m.startupLogs.verification.msg)}": ${flattenFields(m.startupLogs.verification)}`);
    if (r.fallbackCleanup) lines.push(`  ${r.pods}: cleanup without DEL: ${r.fallbackCleanup}`);
    const fk = r.finalKernelCheck;
    if (fk && !r.leftovers) {
      const n = fk.hostLinks.length + fk.routes4.length + fk.routes6.length + fk.netns.length;
      lines.push(
        `  ${r.pods}: after that, ${n === 0 ? 'no veth, proto-199 route or netns of this row left' : `left (removed by hand): ${fk.hostLinks.length} veths, ${fk.routes4.length + fk.routes6.length} routes, ${fk.netns.length} netns`} (waited ${sec(fk.waitedMs)})`,
      );
    }
    if (r.check.failures.length) lines.push(`  ${r.pods}: CHECK failures: ${r.check.failures.join(' | ')}`);
    if (r.failures.length) lines.push(`  ${r.pods}: FAILED: ${r.failures.join(' | ')}`);
  }
  return lines.join('\n');
}
