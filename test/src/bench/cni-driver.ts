import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../lib/paths';
import { type ExecOutcome, type ExecRequest, HelperPool, builtExecHelper } from '../lib/exec-helper-process';
import { runCommand } from '../lib/run-command';

/**
 * A runtime-like CNI driver for the benchmark: it executes a plugin binary exactly as libcni
 * does (CNI_* in the environment, the network configuration with `cniVersion` and `name` on
 * stdin, `prevResult` from ADD for CHECK and DEL, stdout parsed as JSON, a non-zero exit is a
 * failure carrying the CNI error), and times every execution.
 */

export type { ExecOutcome, ExecRequest } from '../lib/exec-helper-process';

export interface Executor {
  readonly kind: string;
  exec(req: ExecRequest): Promise<ExecOutcome>;
  close(): Promise<void>;
}

/** Executes with Node's child_process.spawn (timing includes Node's own spawn cost). */
export class NodeSpawnExecutor implements Executor {
  readonly kind = 'node-spawn';

  exec(req: ExecRequest): Promise<ExecOutcome> {
    return new Promise((resolve) => {
      const started = process.hrtime.bigint();
      const child = spawn(req.file, req.args ?? [], { env: req.env, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let spawnError: NodeJS.ErrnoException | undefined;
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.on('error', (e: NodeJS.ErrnoException) => (spawnError = e));
      child.on('close', (code, signal) => {
        const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
        const status = spawnError ? -(typeof spawnError.errno === 'number' ? Math.abs(spawnError.errno) : 1) : (code ?? 128);
        resolve({
          status: signal ? 256 + (os.constants.signals[signal] ?? 0) : status,
          elapsedMs,
          cpuMs: undefined,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8') + (spawnError ? String(spawnError) : ''),
        });
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(req.stdin);
    });
  }

  async close(): Promise<void> {}
}

/** Source of the C exec helper (not compiled by tsc; see exec-helper.c). */
export const EXEC_HELPER_SOURCE = path.join(REPO_ROOT, 'test', 'src', 'bench', 'exec-helper.c');

/**
 * The static exec helper: the one scripts/build.sh built when it is newer than its source,
 * else compiled into `dir`; returns its path. Throws when it must be compiled and there is no
 * C compiler.
 */
export async function compileExecHelper(dir: string): Promise<string> {
  const built = builtExecHelper();
  if (built && fs.statSync(built).mtimeMs >= fs.statSync(EXEC_HELPER_SOURCE).mtimeMs) return built;
  const out = path.join(dir, 'exec-helper');
  const r = await runCommand('cc', ['-O2', '-Wall', '-static', '-o', out, EXEC_HELPER_SOURCE], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`cc exec-helper.c exited ${r.code}: ${r.stderr.trim()}`);
  return out;
}

/**
 * Executes through a pool of static C helpers that posix_spawn the plugin (as Go's os/exec
 * does: clone(CLONE_VM|CLONE_VFORK)) and time it themselves, so Node's heavier spawn is not
 * charged to the plugin. One helper per concurrent execution.
 */
export class HelperPoolExecutor implements Executor {
  readonly kind = 'posix_spawn exec-helper';
  private readonly pool: HelperPool;

  constructor(helper: string) {
    this.pool = new HelperPool(helper);
  }

  exec(req: ExecRequest): Promise<ExecOutcome> {
    return this.pool.exec(req);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** A plugin under test: the binary, CNI_PATH, its network configuration, extra environment. */
export interface PluginUnderTest {
  label: string;
  binary: string;
  cniPath: string;
  /** The network configuration as a runtime would load it (cniVersion and name included). */
  netconf: Record<string, unknown>;
  env?: Record<string, string>;
}

export interface PodRef {
  containerId: string;
  netnsPath: string;
  ifname: string;
  podName: string;
}

export interface CniError {
  code?: number;
  msg?: string;
  details?: string;
}

export interface CniCallOutcome {
  ok: boolean;
  status: number;
  elapsedMs: number;
  cpuMs: number | undefined;
  /** Parsed stdout (the result on success, the CNI error on failure), when it is JSON. */
  json: Record<string, unknown> | undefined;
  error: CniError | undefined;
  stdout: string;
  stderr: string;
}

/** CNI_ARGS as containerd passes them for a Kubernetes pod. */
export function k8sCniArgs(pod: PodRef): string {
  return `IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=${pod.podName};K8S_POD_INFRA_CONTAINER_ID=${pod.containerId}`;
}

export class CniDriver {
  constructor(
    readonly plugin: PluginUnderTest,
    private readonly executor: Executor,
  ) {}

  /** The stdin libcni builds: the plugin's config with cniVersion and name, plus prevResult for CHECK/DEL. */
  stdinFor(prevResult?: unknown, overrides: Record<string, unknown> = {}): string {
    const conf: Record<string, unknown> = { ...this.plugin.netconf, ...overrides };
    if (typeof conf.cniVersion !== 'string' || typeof conf.name !== 'string') {
      throw new Error(`${this.plugin.label}: network configuration must carry cniVersion and name`);
    }
    if (prevResult !== undefined) conf.prevResult = prevResult;
    return JSON.stringify(conf);
  }

  private envFor(command: string, pod: PodRef | undefined): Record<string, string> {
    return {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: command,
      ...(pod ? { CNI_CONTAINERID: pod.containerId, CNI_NETNS: pod.netnsPath, CNI_IFNAME: pod.ifname, CNI_ARGS: k8sCniArgs(pod) } : {}),
      CNI_PATH: this.plugin.cniPath,
      ...this.plugin.env,
    };
  }

  async call(command: string, pod: PodRef | undefined, prevResult?: unknown, overrides?: Record<string, unknown>): Promise<CniCallOutcome> {
    const o = await this.executor.exec({ file: this.plugin.binary, env: this.envFor(command, pod), stdin: this.stdinFor(prevResult, overrides) });
    let json: Record<string, unknown> | undefined;
    try {
      const parsed = o.stdout.trim() === '' ? undefined : (JSON.parse(o.stdout) as unknown);
      json = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      json = undefined;
    }
    const ok = o.status === 0;
    return {
      ok,
      status: o.status,
      elapsedMs: o.elapsedMs,
      cpuMs: o.cpuMs,
      json,
      error: ok ? undefined : ((json as CniError | undefined) ?? { msg: `exit ${o.status}: ${o.stderr.trim() || o.stdout.trim()}` }),
      stdout: o.stdout,
      stderr: o.stderr,
    };
  }

  add(pod: PodRef): Promise<CniCallOutcome> {
    return this.call('ADD', pod);
  }

  check(pod: PodRef, prevResult: unknown): Promise<CniCallOutcome> {
    return this.call('CHECK', pod, prevResult);
  }

  del(pod: PodRef, prevResult?: unknown): Promise<CniCallOutcome> {
    return this.call('DEL', pod, prevResult);
  }

  version(): Promise<CniCallOutcome> {
    return this.call('VERSION', undefined);
  }

  /** STATUS exists from CNI 1.1.0 on: the runtime sends the configuration as 1.1.0. */
  status(): Promise<CniCallOutcome> {
    return this.call('STATUS', undefined, undefined, { cniVersion: '1.1.0' });
  }
}

/** A one-line description of a failed call. */
export function describeFailure(o: CniCallOutcome): string {
  const e = o.error;
  return `exit ${o.status}${e?.code !== undefined ? ` code ${e.code}` : ''}: ${e?.msg ?? ''}${e?.details ? ` (${e.details})` : ''}${o.stderr.trim() ? ` stderr: ${o.stderr.trim().slice(0, 300)}` : ''}`;
}

/** The outcome when the call succeeded; otherwise throws `what: <the failure>`. */
export function requireOk(o: CniCallOutcome, what: string): CniCallOutcome {
  if (!o.ok) throw new Error(`${what}: ${describeFailure(o)}`);
  return o;
}

/**
 * ADD then DEL of every pod in `pods`, 8 workers at a time (churn @8), each call's latency
 * pushed to `into`; a failed call throws `<bench> churn ADD|DEL: <the failure>`.
 */
export async function churnAt8(d: CniDriver, pods: readonly PodRef[], into: { add: number[]; del: number[] }, bench: string): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const p = pods[next++];
      if (p === undefined) return;
      const a = requireOk(await d.add(p), `${bench} churn ADD`);
      into.add.push(a.elapsedMs);
      into.del.push(requireOk(await d.del(p, a.json), `${bench} churn DEL`).elapsedMs);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/**
 * The options of a bench group that runs two podwired side by side in private node netns and
 * interleaves their calls round by round (masquerade off/on, without/with NetworkPolicy).
 */
export interface TwoServerGroupOptions {
  runId: string;
  workDir: string;
  exec: Executor;
  seqPods: number;
  churnPods: number;
  rounds: number;
  log: (msg: string) => void;
}

// ---------------------------------------------------------------------------------------------
// The configurations under test.

export const REFERENCE_CNI_DIR = '/usr/lib/cni';
export const BENCH_BRIDGE = 'cni-bench0';

export interface RangeLimits {
  rangeStart?: string;
  rangeEnd?: string;
}

/** (a) reference bridge + host-local. */
export function bridgePlugin(dataDir: string, limits: RangeLimits = {}): PluginUnderTest {
  return {
    label: 'bridge+host-local',
    binary: path.join(REFERENCE_CNI_DIR, 'bridge'),
    cniPath: REFERENCE_CNI_DIR,
    netconf: {
      cniVersion: '1.0.0',
      name: 'bench-bridge',
      type: 'bridge',
      bridge: BENCH_BRIDGE,
      isGateway: true,
      ipMasq: false,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.250.0.0/16', ...limits }]], dataDir },
    },
  };
}

/** (b) reference ptp + host-local. */
export function ptpPlugin(dataDir: string, limits: RangeLimits = {}): PluginUnderTest {
  return {
    label: 'ptp+host-local',
    binary: path.join(REFERENCE_CNI_DIR, 'ptp'),
    cniPath: REFERENCE_CNI_DIR,
    netconf: {
      cniVersion: '1.0.0',
      name: 'bench-ptp',
      type: 'ptp',
      ipMasq: false,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.251.0.0/16', ...limits }]], dataDir },
    },
  };
}

/** (c) podwire through its shim, against the podwired listening on `socket`. */
export function podwirePlugin(shimBinary: string, socket: string, limits: RangeLimits = {}): PluginUnderTest {
  return {
    label: 'podwire',
    binary: shimBinary,
    cniPath: path.dirname(shimBinary),
    netconf: { cniVersion: '1.0.0', name: 'bench-podwire', type: 'podwire', ipam: { ranges: [[{ subnet: '10.252.0.0/16', ...limits }]] } },
    env: { PODWIRE_SOCKET: socket },
  };
}

// ---------------------------------------------------------------------------------------------
// Network namespaces, created and deleted in bulk through one `ip -batch` process.

export class NetnsPool {
  private readonly names: string[] = [];

  constructor(readonly prefix: string) {}

  get size(): number {
    return this.names.length;
  }

  name(i: number): string {
    const n = this.names[i];
    if (n === undefined) throw new Error(`netns pool has no entry ${i}`);
    return n;
  }

  path(i: number): string {
    return `/var/run/netns/${this.name(i)}`;
  }

  /** Grows the pool to `n` namespaces. */
  async ensure(n: number): Promise<void> {
    const lines: string[] = [];
    for (let i = this.names.length; i < n; i++) {
      const name = `${this.prefix}-${i}`;
      this.names.push(name);
      lines.push(`netns add ${name}`);
    }
    if (lines.length === 0) return;
    const r = await runCommand('ip', ['-batch', '-'], { input: `${lines.join('\n')}\n`, timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`ip -batch (netns add x${lines.length}) exited ${r.code}: ${r.stderr.trim()}`);
  }

  /** Deletes every namespace whose name starts with this pool's prefix (and only those). */
  async cleanup(): Promise<void> {
    const listed = (await runCommand('ip', ['netns', 'list'])).stdout
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n.startsWith(`${this.prefix}-`));
    this.names.length = 0;
    if (listed.length === 0) return;
    await runCommand('ip', ['-batch', '-'], { input: `${listed.map((n) => `netns del ${n}`).join('\n')}\n`, timeoutMs: 120_000 });
  }
}

/** True when a host link of this name exists. */
export function hostLinkExists(name: string): boolean {
  return fs.existsSync(`/sys/class/net/${name}`);
}

/** Names of the links enslaved to a bridge. */
export function bridgePorts(bridge: string): string[] {
  try {
    return fs.readdirSync(`/sys/class/net/${bridge}/brif`);
  } catch {
    return [];
  }
}
