/** The shim alone: exec floor (static no-op), shim VERSION and STATUS round trips, the same through Node's spawn. */
import type { PodwiredProcess } from '../lib/podwired-process';
import { type CniCallOutcome, CniDriver, type Executor, NodeSpawnExecutor, type PluginUnderTest, bridgePlugin, describeFailure } from './cni-driver';
import { type Stats, summarize } from './stats';

export interface ShimResult {
  runs: number;
  executor: string;
  staticNoop: Stats;
  staticNoopCpu: Stats | undefined;
  version: Stats;
  versionCpu: Stats | undefined;
  versionNodeSpawn: Stats;
  nodeSpawnStaticNoop: Stats;
  bridgeVersion: Stats;
  status: Stats;
  statusServer: Stats | undefined;
  failures: string[];
}

export async function runShimBench(
  exec: Executor,
  helperPath: string | undefined,
  podwire: PluginUnderTest,
  runs: number,
  server: PodwiredProcess,
): Promise<ShimResult> {
  const failures: string[] = [];
  const times = async (n: number, fn: () => Promise<CniCallOutcome>, label: string) => {
    const out: CniCallOutcome[] = [];
    for (let i = 0; i < n; i++) {
      const r = await fn();
      if (!r.ok && failures.length < 5) failures.push(`${label}: ${describeFailure(r)}`);
      out.push(r);
    }
    return out;
  };
  const shim = new CniDriver(podwire, exec);
  const noopPlugin: PluginUnderTest = {
    label: 'noop',
    binary: helperPath ?? '/bin/true',
    cniPath: '/',
    netconf: podwire.netconf,
    env: { EXEC_HELPER_NOOP: '1' },
  };
  const noop = await times(runs, () => new CniDriver(noopPlugin, exec).version(), 'static noop');
  const version = await times(runs, () => shim.version(), 'shim VERSION');
  const node = new NodeSpawnExecutor();
  const nRuns = Math.min(runs, 200);
  const versionNode = await times(nRuns, () => new CniDriver(podwire, node).version(), 'shim VERSION (node spawn)');
  const noopNode = await times(nRuns, () => new CniDriver(noopPlugin, node).version(), 'static noop (node spawn)');
  const bridge = await times(nRuns, () => new CniDriver(bridgePlugin('/nonexistent'), exec).version(), 'bridge VERSION');
  const status = await times(runs, () => shim.status(), 'shim STATUS');
  await new Promise((r) => setTimeout(r, 200));
  const statusServer = server
    .logRecords()
    .filter((r) => r.verb === 'STATUS' && r.outcome === 'ok')
    .map((r) => Number(r.durationMs));
  const ok = (xs: CniCallOutcome[]) => summarize(xs.filter((x) => x.ok).map((x) => x.elapsedMs));
  const cpus = version.map((x) => x.cpuMs).filter((v): v is number => v !== undefined);
  const noopCpus = noop.map((x) => x.cpuMs).filter((v): v is number => v !== undefined);
  return {
    runs,
    executor: exec.kind,
    staticNoop: ok(noop),
    staticNoopCpu: noopCpus.length ? summarize(noopCpus) : undefined,
    version: ok(version),
    versionCpu: cpus.length ? summarize(cpus) : undefined,
    versionNodeSpawn: ok(versionNode),
    nodeSpawnStaticNoop: ok(noopNode),
    bridgeVersion: ok(bridge),
    status: ok(status),
    statusServer: statusServer.length ? summarize(statusServer) : undefined,
    failures,
  };
}
