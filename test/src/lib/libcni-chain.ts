import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCommand } from './run-command';

/**
 * A network configuration list driven the way libcni (containernetworking/cni/libcni) drives
 * one, so podwire can be tested in a chain with the reference plugins without a runtime:
 *
 * - every plugin's config gets the list's `cniVersion` and `name` inserted;
 * - `runtimeConfig` holds only the capabilities the plugin declares as `true` in its
 *   `capabilities` and the runtime supplies (nothing is inserted when none match);
 * - ADD runs the plugins in list order, each one (after the first) with `prevResult` = the
 *   previous plugin's result; a failing plugin stops the chain;
 * - CHECK (cniVersion >= 0.4.0, unless `disableCheck`) runs in list order with the final ADD
 *   result as `prevResult`; DEL runs in reverse order with it (from 0.4.0 on);
 * - a plugin is found by its `type` in the `CNI_PATH` directories, and executed with the
 *   runtime's environment plus `CNI_COMMAND`, `CNI_CONTAINERID`, `CNI_NETNS`, `CNI_IFNAME`,
 *   `CNI_ARGS` (`K=V;K=V`) and `CNI_PATH`; stdout is the result or a CNI error object.
 */

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

/** One plugin execution, recorded so tests can see exactly what each plugin received. */
export interface PluginInvocation {
  verb: Verb;
  type: string;
  binary: string;
  stdin: Record<string, unknown>;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/** A plugin failed: carries the plugin's CNI error (code, msg, details) and its raw output. */
export class CniPluginError extends Error {
  constructor(
    readonly verb: Verb,
    readonly type: string,
    readonly code: number | undefined,
    readonly msg: string,
    readonly details: string | undefined,
    readonly invocation: PluginInvocation,
  ) {
    super(
      `${verb} of plugin "${type}" failed` +
        (code !== undefined ? ` with CNI error ${code}` : ` (exit ${invocation.exitCode})`) +
        `: ${msg}${details ? ` (${details})` : ''}` +
        (invocation.stderr.trim() ? `\nstderr: ${invocation.stderr.trim()}` : ''),
    );
    this.name = 'CniPluginError';
  }
}

/** Compares dotted versions numerically: <0, 0, >0. */
function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const CIDR_V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const IP_V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function validIp(s: unknown, cidr: boolean): boolean {
  if (typeof s !== 'string') return false;
  if (s.includes(':')) return /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(s) && s.includes('/') === cidr;
  const m = (cidr ? CIDR_V4 : IP_V4).exec(s);
  if (!m) return false;
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) return false;
  return !cidr || Number(m[5]) <= 32;
}

/**
 * The checks libcni's result decoding (Go's types/100 unmarshalling into net.IPNet, net.IP,
 * int) would fail on, so a malformed result fails here as it would in a runtime, with a
 * message naming the field.
 */
export function resultProblems(r: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(r)) return ['result is not a JSON object'];
  if (typeof r.cniVersion !== 'string') problems.push('cniVersion is missing');
  const ifaces = r.interfaces;
  if (ifaces !== undefined) {
    if (!Array.isArray(ifaces)) problems.push('interfaces is not a list');
    else
      ifaces.forEach((i, n) => {
        if (!isObject(i) || typeof i.name !== 'string') problems.push(`interfaces[${n}] has no name`);
        else if (i.mac !== undefined && (typeof i.mac !== 'string' || !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(i.mac)))
          problems.push(`interfaces[${n}].mac ${JSON.stringify(i.mac)} is not a MAC`);
      });
  }
  const nIfaces = Array.isArray(ifaces) ? ifaces.length : 0;
  if (r.ips !== undefined) {
    if (!Array.isArray(r.ips)) problems.push('ips is not a list');
    else
      r.ips.forEach((ip, n) => {
        if (!isObject(ip)) return problems.push(`ips[${n}] is not an object`);
        if (!validIp(ip.address, true)) problems.push(`ips[${n}].address ${JSON.stringify(ip.address)} is not a CIDR`);
        if (ip.gateway !== undefined && !validIp(ip.gateway, false)) problems.push(`ips[${n}].gateway ${JSON.stringify(ip.gateway)} is not an IP`);
        if (ip.interface !== undefined) {
          if (!Number.isInteger(ip.interface)) problems.push(`ips[${n}].interface is not an integer`);
          else if ((ip.interface as number) < 0 || (ip.interface as number) >= nIfaces)
            problems.push(`ips[${n}].interface ${String(ip.interface)} is outside interfaces (${nIfaces})`);
        }
        return undefined;
      });
  }
  if (r.routes !== undefined) {
    if (!Array.isArray(r.routes)) problems.push('routes is not a list');
    else
      r.routes.forEach((rt, n) => {
        if (!isObject(rt) || !validIp(rt.dst, true)) problems.push(`routes[${n}].dst is not a CIDR`);
        else if (rt.gw !== undefined && !validIp(rt.gw, false)) problems.push(`routes[${n}].gw is not an IP`);
      });
  }
  return problems;
}

export interface ChainOptions {
  /** CNI_PATH directories, searched in order for each plugin's `type`. */
  cniPath: string[];
  /** Extra environment for every plugin (libcni passes the runtime's whole environment). */
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Per-call options: environment for this call only (e.g. a different PATH). */
export interface CallOptions {
  env?: Record<string, string>;
}

export class LibcniChain {
  /** Every plugin execution, in order. */
  readonly invocations: PluginInvocation[] = [];

  constructor(
    readonly list: NetworkConfList,
    private readonly opts: ChainOptions,
  ) {}

  /** libcni's FindInPath: the first `dir/type` that exists, else an error. */
  findPlugin(type: string): string {
    if (type === '' || type.includes('/')) throw new Error(`invalid plugin type ${JSON.stringify(type)}`);
    for (const dir of this.opts.cniPath) {
      const candidate = path.join(dir, type);
      try {
        if (fs.statSync(candidate).isFile()) return candidate;
      } catch {
        /* not in this directory */
      }
    }
    throw new Error(`failed to find plugin "${type}" in path [${this.opts.cniPath.join(' ')}]`);
  }

  /** The config one plugin receives (libcni's buildOneConfig + injectRuntimeConfig). */
  pluginConfig(plugin: PluginConf, prevResult: CniResult | undefined, rt: RuntimeConf | undefined): Record<string, unknown> {
    const conf: Record<string, unknown> = { ...plugin, cniVersion: this.list.cniVersion, name: this.list.name };
    if (prevResult !== undefined) conf.prevResult = prevResult;
    if (rt) {
      const runtimeConfig: Record<string, unknown> = {};
      for (const [capability, supported] of Object.entries(plugin.capabilities ?? {})) {
        if (supported && rt.capabilityArgs && capability in rt.capabilityArgs) runtimeConfig[capability] = rt.capabilityArgs[capability];
      }
      if (Object.keys(runtimeConfig).length > 0) conf.runtimeConfig = runtimeConfig;
    }
    return conf;
  }

  private env(verb: Verb, rt: RuntimeConf | undefined, extra: Record<string, string> | undefined): Record<string, string> {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      ...this.opts.env,
      ...extra,
      CNI_COMMAND: verb,
      CNI_PATH: this.opts.cniPath.join(':'),
    };
    if (rt) {
      env.CNI_CONTAINERID = rt.containerId;
      env.CNI_NETNS = rt.netns;
      env.CNI_IFNAME = rt.ifname;
      env.CNI_ARGS = (rt.args ?? []).map(([k, v]) => `${k}=${v}`).join(';');
    }
    return env;
  }

  /** Executes one plugin; resolves with its stdout, throws CniPluginError on failure. */
  async exec(
    verb: Verb,
    plugin: PluginConf,
    stdin: Record<string, unknown>,
    rt: RuntimeConf | undefined,
    call: CallOptions = {},
  ): Promise<string> {
    const binary = this.findPlugin(plugin.type);
    const started = process.hrtime.bigint();
    const r = await runCommand(binary, [], {
      input: JSON.stringify(stdin),
      env: this.env(verb, rt, call.env),
      timeoutMs: this.opts.timeoutMs ?? 120_000,
    });
    const inv: PluginInvocation = {
      verb,
      type: plugin.type,
      binary,
      stdin,
      exitCode: r.code,
      stdout: r.stdout,
      stderr: r.stderr,
      elapsedMs: Number(process.hrtime.bigint() - started) / 1e6,
    };
    this.invocations.push(inv);
    if (r.code === 0) return r.stdout;
    // libcni's invoke: the error object on stdout, else stderr as the message.
    let parsed: unknown;
    try {
      parsed = JSON.parse(r.stdout);
    } catch {
      parsed = undefined;
    }
    if (isObject(parsed) && typeof parsed.msg === 'string') {
      throw new CniPluginError(
        verb,
        plugin.type,
        typeof parsed.code === 'number' ? parsed.code : undefined,
        parsed.msg,
        typeof parsed.details === 'string' ? parsed.details : undefined,
        inv,
      );
    }
    throw new CniPluginError(verb, plugin.type, undefined, (r.stderr || r.stdout).trim() || `signal ${r.signal}`, undefined, inv);
  }

  /**
   * libcni's ValidateNetworkList: every plugin is found in CNI_PATH and its VERSION answer
   * lists the list's cniVersion.
   */
  async validate(): Promise<void> {
    for (const plugin of this.list.plugins) {
      const out = await this.exec('VERSION', plugin, { cniVersion: this.list.cniVersion }, undefined);
      const info = JSON.parse(out) as { supportedVersions?: string[] };
      if (!info.supportedVersions?.includes(this.list.cniVersion)) {
        throw new Error(`plugin ${plugin.type} does not support config version ${this.list.cniVersion}: ${out.trim()}`);
      }
    }
  }

  /** ADD of the whole list; resolves with the final result (what libcni caches). */
  async add(rt: RuntimeConf, call: CallOptions = {}): Promise<CniResult> {
    let prev: CniResult | undefined;
    for (const plugin of this.list.plugins) {
      const out = await this.exec('ADD', plugin, this.pluginConfig(plugin, prev, rt), rt, call);
      let result: unknown;
      try {
        result = JSON.parse(out);
      } catch (e) {
        throw new Error(`ADD of plugin "${plugin.type}" printed no JSON result: ${(e as Error).message}: ${JSON.stringify(out)}`);
      }
      // A result without cniVersion is decoded as the config's version (libcni's fixupResultVersion).
      if (isObject(result) && result.cniVersion === undefined) result.cniVersion = this.list.cniVersion;
      const problems = resultProblems(result);
      if (problems.length > 0) throw new Error(`ADD of plugin "${plugin.type}" returned an undecodable result: ${problems.join('; ')}: ${out}`);
      prev = result as CniResult;
    }
    if (!prev) throw new Error('the list has no plugins');
    return prev;
  }

  /** CHECK of the whole list with the cached final ADD result. */
  async check(rt: RuntimeConf, cached: CniResult, call: CallOptions = {}): Promise<void> {
    if (compareVersions(this.list.cniVersion, '0.4.0') < 0) throw new Error(`configuration version "${this.list.cniVersion}" does not support the CHECK command`);
    if (this.list.disableCheck) return;
    for (const plugin of this.list.plugins) {
      await this.exec('CHECK', plugin, this.pluginConfig(plugin, cached, rt), rt, call);
    }
  }

  /** DEL of the whole list, in reverse order, with the cached final ADD result when there is one. */
  async del(rt: RuntimeConf, cached: CniResult | undefined, call: CallOptions = {}): Promise<void> {
    const prev = compareVersions(this.list.cniVersion, '0.4.0') >= 0 ? cached : undefined;
    for (const plugin of [...this.list.plugins].reverse()) {
      await this.exec('DEL', plugin, this.pluginConfig(plugin, prev, rt), rt, call);
    }
  }

  /**
   * Test clean-up, not libcni: DEL of every plugin in reverse order even when one fails, so
   * one failing plugin cannot leave the others' state (iptables rules, ifb devices) behind.
   * Resolves with the failures.
   */
  async delBestEffort(rt: RuntimeConf, cached: CniResult | undefined): Promise<string[]> {
    const prev = compareVersions(this.list.cniVersion, '0.4.0') >= 0 ? cached : undefined;
    const failures: string[] = [];
    for (const plugin of [...this.list.plugins].reverse()) {
      try {
        await this.exec('DEL', plugin, this.pluginConfig(plugin, prev, rt), rt);
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
    return failures;
  }
}

/** Where Debian's containernetworking-plugins puts the reference plugins. */
export const REFERENCE_PLUGIN_DIR = '/usr/lib/cni';

/**
 * A CNI bin directory under `root` holding `podwire` as a symlink to the built shim, so a
 * runtime (or this driver) finds the real shim by the plugin type "podwire".
 */
export function podwirePluginDir(root: string, shimBinary: string): string {
  const dir = path.join(root, 'cni-bin');
  fs.mkdirSync(dir, { recursive: true });
  const link = path.join(dir, 'podwire');
  fs.rmSync(link, { force: true });
  fs.symlinkSync(shimBinary, link);
  return dir;
}
