import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './paths';
import { runCommand } from './run-command';

/**
 * The real libcni (containernetworking/cni's libcni from Debian's golang-github-appc-cni-dev)
 * driving a network configuration list, through `test/build/libcni-driver`
 * (test/libcni-driver/main.go, built by scripts/install-libcni-helper.sh). Nothing of
 * libcni's behaviour is re-implemented here: config injection (name, cniVersion, runtimeConfig
 * from declared capabilities), prevResult chaining, the result cache that CHECK and DEL read,
 * ADD in list order and DEL in reverse all happen in libcni itself. The driver records every
 * plugin execution (what the plugin got on stdin and printed), so tests can assert on them.
 */

export const LIBCNI_DRIVER = path.join(REPO_ROOT, 'test', 'build', 'libcni-driver');

/** Where Debian's containernetworking-plugins puts the reference plugins. */
export const REFERENCE_PLUGIN_DIR = '/usr/lib/cni';

export interface PluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface NetworkConfList {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: PluginConf[];
}

export interface RuntimeConf {
  containerId: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS pairs, in order. */
  args?: Array<[string, string]>;
  /** Capability arguments the runtime offers (portMappings, bandwidth, ips, mac, dns, ...). */
  capabilityArgs?: Record<string, unknown>;
}

/** A CNI 1.0.0-shaped result, as far as the tests read it. */
export interface CniResult {
  cniVersion: string;
  interfaces?: Array<{ name: string; mac?: string; sandbox?: string; mtu?: number }>;
  ips?: Array<{ address: string; gateway?: string; interface?: number }>;
  routes?: Array<{ dst: string; gw?: string }>;
  dns?: Record<string, unknown>;
  [key: string]: unknown;
}

export type Verb = 'ADD' | 'CHECK' | 'DEL' | 'VERSION';

/** One plugin execution by libcni, as the driver recorded it. */
export interface PluginInvocation {
  verb: Verb;
  type: string;
  binary: string;
  stdin: Record<string, unknown>;
  /** 0 when the plugin succeeded, 1 otherwise (libcni does not expose the exact status). */
  exitCode: number;
  stdout: string;
  error?: string;
  elapsedMs: number;
}

/** A libcni operation failed: carries the plugin's CNI error (code, msg, details) when there was one. */
export class LibcniError extends Error {
  constructor(
    readonly operation: string,
    readonly code: number | undefined,
    readonly msg: string | undefined,
    readonly details: string | undefined,
    /** The failing plugin's type, when a plugin failed. */
    readonly type: string | undefined,
    message: string,
  ) {
    super(`libcni ${operation}${type ? ` (plugin "${type}")` : ''}: ${message}`);
    this.name = 'LibcniError';
  }
}

export interface LibcniOptions {
  /** CNI_PATH directories, searched in order for each plugin's `type`. */
  cniPath: string[];
  /** A private directory: the conflist file, libcni's result cache, the execution log. */
  workDir: string;
  /** Extra environment (libcni passes its whole environment on to the plugins). */
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Per-call options: environment for this call only (e.g. a different PATH for the plugins). */
export interface CallOptions {
  env?: Record<string, string>;
}

/** A network configuration list driven by the real libcni. */
export class Libcni {
  private readonly conflistFile: string;
  private readonly cacheDir: string;
  private readonly logFile: string;
  private logged = 0;
  /** Every plugin execution, in order. */
  readonly invocations: PluginInvocation[] = [];

  constructor(
    readonly list: NetworkConfList,
    private readonly opts: LibcniOptions,
  ) {
    fs.mkdirSync(opts.workDir, { recursive: true });
    this.conflistFile = path.join(opts.workDir, `${list.name}.conflist`);
    this.cacheDir = path.join(opts.workDir, 'cache');
    this.logFile = path.join(opts.workDir, `${list.name}.invocations.jsonl`);
    fs.writeFileSync(this.conflistFile, JSON.stringify(list, null, 2));
  }

  /** Why the driver cannot run here (not built), or undefined. */
  static unavailable(): string | undefined {
    return fs.existsSync(LIBCNI_DRIVER) ? undefined : `${LIBCNI_DRIVER} is not built (bash scripts/install-libcni-helper.sh builds it)`;
  }

  private async run(verb: string, rt: RuntimeConf | undefined, call: CallOptions = {}): Promise<string> {
    const args = [verb, '-conflist', this.conflistFile, '-cni-path', this.opts.cniPath.join(':'), '-cache-dir', this.cacheDir, '-log', this.logFile];
    if (rt) {
      args.push('-container-id', rt.containerId, '-netns', rt.netns, '-ifname', rt.ifname);
      if (rt.args?.length) args.push('-args', rt.args.map(([k, v]) => `${k}=${v}`).join(';'));
      if (rt.capabilityArgs) args.push('-capability-args', JSON.stringify(rt.capabilityArgs));
    }
    const r = await runCommand(LIBCNI_DRIVER, args, {
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...this.opts.env, ...call.env },
      timeoutMs: this.opts.timeoutMs ?? 150_000,
    });
    this.readLog();
    if (r.code === 0) return r.stdout;
    let parsed: { error?: string; code?: number; msg?: string; details?: string } | undefined;
    try {
      parsed = JSON.parse(r.stdout) as typeof parsed;
    } catch {
      parsed = undefined;
    }
    const failed = [...this.invocations].reverse().find((i) => i.exitCode !== 0);
    throw new LibcniError(
      verb,
      parsed?.code,
      parsed?.msg,
      parsed?.details,
      parsed?.code !== undefined ? failed?.type : undefined,
      `${parsed?.error ?? (r.stdout.trim() || `exit ${r.code} ${r.signal ?? ''}`)}${r.stderr.trim() ? `\nstderr: ${r.stderr.trim()}` : ''}`,
    );
  }

  /** Appends the executions the driver logged since the last read. */
  private readLog(): void {
    if (!fs.existsSync(this.logFile)) return;
    const lines = fs
      .readFileSync(this.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    for (const line of lines.slice(this.logged)) {
      const inv = JSON.parse(line) as Omit<PluginInvocation, 'stdin'> & { stdin: unknown };
      this.invocations.push({
        ...inv,
        stdin: (typeof inv.stdin === 'object' && inv.stdin !== null ? inv.stdin : { raw: inv.stdin }) as Record<string, unknown>,
      });
    }
    this.logged = lines.length;
  }

  /** libcni's ValidateNetworkList: every plugin found in CNI_PATH and supporting the list's cniVersion. */
  async validate(): Promise<void> {
    await this.run('validate', undefined);
  }

  /** AddNetworkList; resolves with the final result (what libcni caches). */
  async add(rt: RuntimeConf, call?: CallOptions): Promise<CniResult> {
    return JSON.parse(await this.run('add', rt, call)) as CniResult;
  }

  /** CheckNetworkList (libcni reads the cached ADD result as prevResult). */
  async check(rt: RuntimeConf, call?: CallOptions): Promise<void> {
    await this.run('check', rt, call);
  }

  /** DelNetworkList (in reverse order, with the cached result). */
  async del(rt: RuntimeConf, call?: CallOptions): Promise<void> {
    await this.run('del', rt, call);
  }

  /** The cached ADD result, or undefined. */
  async cached(rt: RuntimeConf): Promise<CniResult | undefined> {
    const out = (await this.run('cached', rt)).trim();
    return out === 'null' ? undefined : (JSON.parse(out) as CniResult);
  }

  /**
   * Test clean-up, not libcni: DEL of every plugin in reverse order even when one fails (each
   * through libcni's DelNetwork), so one failing plugin cannot leave the others' state behind.
   * Resolves with the failure, if any.
   */
  async delBestEffort(rt: RuntimeConf): Promise<string[]> {
    try {
      await this.run('del-best-effort', rt);
      return [];
    } catch (e) {
      return [(e as Error).message];
    }
  }
}

/**
 * A CNI bin directory under `root` holding `podwire` as a symlink to the built shim, so a
 * runtime (or libcni) finds the real shim by the plugin type "podwire".
 */
export function podwirePluginDir(root: string, shimBinary: string): string {
  const dir = path.join(root, 'cni-bin');
  fs.mkdirSync(dir, { recursive: true });
  const link = path.join(dir, 'podwire');
  fs.rmSync(link, { force: true });
  fs.symlinkSync(shimBinary, link);
  return dir;
}
