/**
 * ADD latency with one hostPort mapping, as a runtime sees it (every plugin of the chain
 * executed as libcni does, timed from spawn to reap with the bench's executor, DEL untimed
 * between pods):
 *
 *   podwire plain            podwire alone, no mapping (the 1.2× reference)
 *   podwire native           podwire alone with "capabilities": {"portMappings": true}
 *   podwire + portmap        podwire, then the reference portmap with podwire's prevResult
 *   bridge + portmap         bridge + host-local, then portmap
 *
 * Everything runs in a "node" netns of this run's own (pwb-<run id>-hp): bridge, portmap's
 * iptables rules and podwired's nftables table land there, never in the host's. The parent
 * (npm run bench, or this file run directly) creates the node netns and the pod netns
 * (pwb-<run id>-hpp-*, a fresh one for every chain, run and pod: a netns whose podwire veth a
 * DEL just detached is busy until the pair is destroyed, which would be timed otherwise),
 * then runs this file again inside the node netns (`--child`), which starts podwired there
 * (node pod CIDRs configured, so its egress masquerade is on, as on a real node) and prints
 * the figures as JSON.
 *
 *   node test/dist/bench/hostport-bench.js [--pods N] [--runs R] [--run-id ID]
 * (npm run bench calls runHostPortBench; `--only hostport` runs these rows alone.)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SHIM_BINARY } from '../lib/paths';
import { PodwiredProcess } from '../lib/podwired-process';
import { mustRun, runCommand } from '../lib/run-command';
import type { Target } from './bench-report';
import {
  type CniCallOutcome,
  CniDriver,
  type Executor,
  HelperPoolExecutor,
  NetnsPool,
  NodeSpawnExecutor,
  type PluginUnderTest,
  type PodRef,
  REFERENCE_CNI_DIR,
  bridgePlugin,
  compileExecHelper,
  podwirePlugin,
  requireOk,
} from './cni-driver';
import { median } from './run-summary';
import { fmt, renderTable, summarize } from './stats';

export type HostPortChainKey = 'plain' | 'native' | 'podwirePortmap' | 'bridgePortmap';

export interface HostPortChainResult {
  key: HostPortChainKey;
  label: string;
  /** Each run's ADD p50 (ms), in run order. */
  runP50s: number[];
  /** Median of the runs' p50. */
  p50: number;
  /** p99 over every run's samples. */
  p99: number;
  samples: number;
}

export interface HostPortBenchResult {
  pods: number;
  runs: number;
  executor: string;
  chains: HostPortChainResult[];
  ratios: {
    /** bridge + host-local + portmap ÷ podwire native (target ≥ 10). */
    bridgePortmapOverNative: number;
    /** podwire native ÷ podwire plain (target ≤ 1.2). */
    nativeOverPlain: number;
    /** podwire + reference portmap ÷ podwire native. */
    podwirePortmapOverNative: number;
  };
}

const CHAINS: ReadonlyArray<{ key: HostPortChainKey; label: string; bridge: boolean; portmap: boolean; native: boolean; mapping: boolean }> = [
  { key: 'plain', label: 'podwire plain ADD (no mapping)', bridge: false, portmap: false, native: false, mapping: false },
  { key: 'native', label: 'podwire native hostPort', bridge: false, portmap: false, native: true, mapping: true },
  { key: 'podwirePortmap', label: 'podwire + reference portmap', bridge: false, portmap: true, native: false, mapping: true },
  { key: 'bridgePortmap', label: 'bridge + host-local + portmap', bridge: true, portmap: true, native: false, mapping: true },
];

const div = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? a / b : NaN);

/** The ratios of the chains' p50s. */
export function hostPortRatios(chains: readonly HostPortChainResult[]): HostPortBenchResult['ratios'] {
  const p = (k: HostPortChainKey) => chains.find((c) => c.key === k)?.p50;
  return {
    bridgePortmapOverNative: div(p('bridgePortmap'), p('native')),
    nativeOverPlain: div(p('native'), p('plain')),
    podwirePortmapOverNative: div(p('podwirePortmap'), p('native')),
  };
}

/** Issue 20's two hostPort targets. */
export function hostPortTargets(r: HostPortBenchResult): Target[] {
  const { bridgePortmapOverNative: b, nativeOverPlain: n } = r.ratios;
  return [
    {
      target: 'hostPort ADD p50: podwire native ≥ 10× faster than bridge+host-local+portmap',
      measured: `${fmt(b)}×`,
      met: b >= 10,
      margin: Number.isFinite(b) ? `${fmt(((b - 10) / 10) * 100, 0)}%` : '-',
    },
    {
      target: 'hostPort ADD p50: podwire native ≤ 1.2× podwire plain ADD',
      measured: `${fmt(n)}×`,
      met: n <= 1.2,
      margin: Number.isFinite(n) ? `${fmt(((1.2 - n) / 1.2) * 100, 0)}%` : '-',
    },
  ];
}

export function renderHostPorts(r: HostPortBenchResult): string {
  const rows = r.chains.map((c) => [
    c.label,
    fmt(c.p50),
    c.runP50s.length > 1 ? `${fmt(Math.min(...c.runP50s))}–${fmt(Math.max(...c.runP50s))}` : '-',
    fmt(c.p99),
    String(c.samples),
  ]);
  const x = r.ratios;
  return (
    `hostPort: ADD with one port mapping (${r.pods} pods per chain and run, ${r.runs} run(s) interleaved, in a private node netns, timed by ${r.executor})\n` +
    `${renderTable(['chain', 'ADD p50 ms (median of runs)', 'runs’ p50 range', 'p99 ms', 'samples'], rows)}\n` +
    `bridge+portmap ÷ podwire native: ${fmt(x.bridgePortmapOverNative)}× (target ≥ 10×); ` +
    `podwire native ÷ plain: ${fmt(x.nativeOverPlain)}× (target ≤ 1.2×); ` +
    `podwire+portmap ÷ native: ${fmt(x.podwirePortmapOverNative)}×`
  );
}

function portmapPlugin(name: string): PluginUnderTest {
  return {
    label: 'portmap',
    binary: path.join(REFERENCE_CNI_DIR, 'portmap'),
    cniPath: REFERENCE_CNI_DIR,
    netconf: { cniVersion: '1.0.0', name, type: 'portmap', capabilities: { portMappings: true } },
  };
}

async function runChain(exec: Executor, c: (typeof CHAINS)[number], main: PluginUnderTest, pods: readonly PodRef[], firstPort: number): Promise<number[]> {
  const d = new CniDriver(main, exec);
  const pm = new CniDriver(portmapPlugin(String(main.netconf.name)), exec);
  const times: number[] = [];
  for (const [i, pod] of pods.entries()) {
    const rc = { portMappings: [{ hostPort: firstPort + i, containerPort: 80, protocol: 'tcp' }] };
    const mainRc = c.native && c.mapping ? { runtimeConfig: rc } : {};
    const add = requireOk(await d.call('ADD', pod, undefined, mainRc), `${c.label} ADD`);
    let elapsed = add.elapsedMs;
    let pmAdd: CniCallOutcome | undefined;
    if (c.portmap) {
      pmAdd = requireOk(await pm.call('ADD', pod, add.json, { runtimeConfig: rc }), `${c.label} portmap ADD`);
      elapsed += pmAdd.elapsedMs;
    }
    times.push(elapsed);
    if (c.portmap) requireOk(await pm.call('DEL', pod, pmAdd?.json, { runtimeConfig: rc }), `${c.label} portmap DEL`);
    requireOk(await d.call('DEL', pod, add.json, mainRc), `${c.label} DEL`);
  }
  // The first calls of a chain warm caches (page cache, podwired's JIT): left out.
  return times.slice(Math.min(5, Math.floor(times.length / 10)));
}

interface ChildArgs {
  pods: number;
  runs: number;
  helper: string | undefined;
  root: string;
  podPrefix: string;
  pidFile: string | undefined;
}

/** Runs inside the node netns: starts podwired there, times every chain, returns the figures. */
async function measureInThisNetns(a: ChildArgs): Promise<HostPortBenchResult> {
  const exec: Executor = a.helper ? new HelperPoolExecutor(a.helper) : new NodeSpawnExecutor();
  const server = PodwiredProcess.inTempDir(a.root, { config: { node: { name: 'bench-hp', podCIDRs: ['10.252.0.0/16'] } } });
  try {
    await server.start();
    if (a.pidFile && server.pid !== undefined) fs.writeFileSync(a.pidFile, String(server.pid));
    const podwire = podwirePlugin(SHIM_BINARY, server.socket);
    const native = { ...podwire, netconf: { ...podwire.netconf, capabilities: { portMappings: true } } };
    const bridge = bridgePlugin(path.join(a.root, 'host-local'));
    const perRun = new Map<HostPortChainKey, number[][]>();
    let nsIndex = 0;
    for (let r = 0; r < a.runs; r++) {
      for (const [ci, c] of CHAINS.entries()) {
        const pods: PodRef[] = Array.from({ length: a.pods }, (_, i) => {
          const n = nsIndex++;
          return { containerId: `hp-r${r}-${c.key}-${i}`, netnsPath: `/var/run/netns/${a.podPrefix}-${n}`, ifname: 'eth0', podName: `hp-r${r}-${c.key}-${i}` };
        });
        const main = c.bridge ? bridge : c.native ? native : podwire;
        const times = await runChain(exec, c, main, pods, 21000 + ci * 1000);
        perRun.set(c.key, [...(perRun.get(c.key) ?? []), times]);
        process.stderr.write(`  [hostport] run ${r + 1}/${a.runs} ${c.label}: ADD p50 ${fmt(summarize(times).p50)} ms\n`);
      }
    }
    const chains: HostPortChainResult[] = CHAINS.map((c) => {
      const runs = perRun.get(c.key) ?? [];
      const runP50s = runs.map((t) => summarize(t).p50);
      const all = runs.flat();
      return { key: c.key, label: c.label, runP50s, p50: median(runP50s) ?? NaN, p99: summarize(all).p99, samples: all.length };
    });
    return { pods: a.pods, runs: a.runs, executor: exec.kind, chains, ratios: hostPortRatios(chains) };
  } finally {
    await exec.close();
    await server.stop();
  }
}

export interface HostPortBenchOptions {
  runId: string;
  workDir: string;
  pods: number;
  runs: number;
  /** The bench's compiled exec helper (posix_spawn timing); absent: Node's spawn. */
  helperPath: string | undefined;
}

/** Node netns `pwb-<runId>-hp` and its pod netns; prefix of everything this group creates. */
export function hostPortNetnsPrefix(runId: string): string {
  return `pwb-${runId}-hp`;
}

/** Creates the node netns and the pod netns, measures inside, removes them; prints the table. */
export async function runHostPortBench(o: HostPortBenchOptions): Promise<HostPortBenchResult> {
  const node = hostPortNetnsPrefix(o.runId);
  const pods = new NetnsPool(`${node}p`);
  const root = fs.mkdtempSync(path.join(o.workDir, 'hostport-'));
  try {
    await mustRun('ip', ['netns', 'add', node]);
    await mustRun('ip', ['-n', node, 'link', 'set', 'lo', 'up']);
    await pods.ensure(o.pods * o.runs * CHAINS.length);
    const args = [
      __filename,
      '--child',
      '--pods',
      String(o.pods),
      '--runs',
      String(o.runs),
      '--root',
      root,
      '--pod-prefix',
      pods.prefix,
      '--pid-file',
      path.join(o.workDir, 'podwired-hostport.pid'),
      ...(o.helperPath ? ['--helper', o.helperPath] : []),
    ];
    const out = await runCommand('ip', ['netns', 'exec', node, process.execPath, ...args], { timeoutMs: 900_000 });
    process.stderr.write(out.stderr);
    if (out.code !== 0) throw new Error(`hostport bench failed (${out.code})`);
    const result = JSON.parse(out.stdout) as HostPortBenchResult;
    process.stdout.write(`\n${renderHostPorts(result)}\n`);
    return result;
  } finally {
    await pods.cleanup();
    await runCommand('ip', ['netns', 'del', node]);
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const int = (name: string, dflt: number) => {
    const v = Number(arg(name) ?? dflt);
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} needs a positive integer`);
    return v;
  };
  const main = async () => {
    if (argv.includes('--child')) {
      const r = await measureInThisNetns({
        pods: int('--pods', 40),
        runs: int('--runs', 3),
        helper: arg('--helper'),
        root: arg('--root') ?? fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-hpb-')),
        podPrefix: arg('--pod-prefix') ?? '',
        pidFile: arg('--pid-file'),
      });
      process.stdout.write(`${JSON.stringify(r)}\n`);
      return;
    }
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-hpb-'));
    try {
      const helperPath = await compileExecHelper(workDir).catch(() => undefined);
      const r = await runHostPortBench({ runId: arg('--run-id') ?? String(process.pid), workDir, pods: int('--pods', 40), runs: int('--runs', 3), helperPath });
      process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    } finally {
      fs.rmSync(workDir, { recursive: true, force: true });
    }
  };
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`hostport bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
