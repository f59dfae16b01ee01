import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../lib/paths';
import { runCommand } from '../lib/run-command';

/**
 * A runtime-like CNI driver for the benchmark: it executes a plugin binary exactly as libcni
 * does (CNI_* in the environment, the network configuration with `cniVersion` and `name` on
 * stdin, `prevResult` from ADD for CHECK and DEL, stdout parsed as JSON, a non-zero exit is a
 * failure carrying the CNI error), and times every execution.
 */

/** One program execution. */
export interface ExecRequest {
  file: string;
  args?: string[];
  env: Record<string, string>;
  stdin: string;
}

export interface ExecOutcome {
  /** Exit code; 128 + signal when killed; negative errno when the spawn itself failed. */
  status: number;
  /** Wall time from just before the spawn to the reap of the child. */
  elapsedMs: number;
  /** The child's user + system CPU time, when the executor can see it. */
  cpuMs: number | undefined;
  stdout: string;
  stderr: string;
}

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
          status: signal ? 128 : status,
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

/** Compiles the static exec helper into `dir`; returns its path. Throws when there is no C compiler. */
export async function compileExecHelper(dir: string): Promise<string> {
  const out = path.join(dir, 'exec-helper');
  const r = await runCommand('cc', ['-O2', '-Wall', '-static', '-o', out, EXEC_HELPER_SOURCE], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`cc exec-helper.c exited ${r.code}: ${r.stderr.trim()}`);
  return out;
}

/** One running `exec-helper serve` process: one execution at a time. */
class HelperProcess {
  private readonly child: ChildProcess;
  private buffered = Buffer.alloc(0);
  private waiting: ((o: ExecOutcome) => void) | undefined;
  private failed: ((e: Error) => void) | undefined;
  private exited = false;

  constructor(helper: string) {
    this.child = spawn(helper, ['serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.stdout?.on('data', (d: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      this.tryReply();
    });
    this.child.on('exit', (code) => {
      this.exited = true;
      this.failed?.(new Error(`exec-helper exited with ${code}`));
    });
    this.child.stdin?.on('error', () => undefined);
  }

  private tryReply(): void {
    const b = this.buffered;
    if (b.length < 24) return;
    const outLen = b.readUInt32LE(20);
    if (b.length < 24 + outLen + 4) return;
    const errLen = b.readUInt32LE(24 + outLen);
    const total = 24 + outLen + 4 + errLen;
    if (b.length < total) return;
    const outcome: ExecOutcome = {
      status: b.readInt32LE(0),
      elapsedMs: Number(b.readBigUInt64LE(4)) / 1e6,
      cpuMs: Number(b.readBigUInt64LE(12)) / 1e6,
      stdout: b.subarray(24, 24 + outLen).toString('utf8'),
      stderr: b.subarray(28 + outLen, total).toString('utf8'),
    };
    this.buffered = b.subarray(total);
    const w = this.waiting;
    this.waiting = undefined;
    this.failed = undefined;
    w?.(outcome);
  }

  get alive(): boolean {
    return !this.exited;
  }

  exec(req: ExecRequest): Promise<ExecOutcome> {
    if (this.exited) return Promise.reject(new Error('exec-helper is not running'));
    const args = req.args ?? [];
    const env = Object.entries(req.env).map(([k, v]) => `${k}=${v}`);
    const fields = [req.file, req.stdin, ...args, ...env].map((f) => Buffer.from(f, 'utf8'));
    const parts: Buffer[] = [u32(args.length), u32(env.length)];
    for (const f of fields) parts.push(u32(f.length), f);
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failed = reject;
      this.child.stdin?.write(Buffer.concat(parts));
    });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await done;
    clearTimeout(timer);
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/**
 * Executes through a pool of static C helpers that posix_spawn the plugin (as Go's os/exec
 * does: clone(CLONE_VM|CLONE_VFORK)) and time it themselves, so Node's heavier spawn is not
 * charged to the plugin. One helper per concurrent execution.
 */
export class HelperPoolExecutor implements Executor {
  readonly kind = 'posix_spawn exec-helper';
  private readonly idle: HelperProcess[] = [];
  private readonly all: HelperProcess[] = [];

  constructor(private readonly helper: string) {}

  async exec(req: ExecRequest): Promise<ExecOutcome> {
    let h = this.idle.pop();
    if (!h) {
      h = new HelperProcess(this.helper);
      this.all.push(h);
    }
    try {
      return await h.exec(req);
    } finally {
      if (h.alive) this.idle.push(h);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((h) => h.close()));
    this.all.length = 0;
    this.idle.length = 0;
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
