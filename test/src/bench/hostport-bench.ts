/**
 * ADD latency with one hostPort mapping, as a runtime sees it (every plugin of the chain
 * executed as libcni does, timed from spawn to reap, DEL untimed between pods):
 *
 *   podwire plain            podwire alone, no mapping (the 1.2× reference)
 *   podwire native           podwire alone with "capabilities": {"portMappings": true}
 *   podwire + portmap        podwire, then the reference portmap with podwire's prevResult
 *   bridge + portmap         bridge + host-local, then portmap
 *
 *   ip netns add pw-hpb; ip -n pw-hpb link set lo up
 *   ip netns exec pw-hpb node test/dist/bench/hostport-bench.js [--pods N] [--runs R]
 *
 * Run it inside a netns of its own: bridge, portmap (iptables) and podwired's table all land
 * in the netns it runs in. podwired runs with node pod CIDRs, so its egress masquerade is on.
 * Standalone: not part of `npm run bench` yet.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestNetnsSet } from '../lib/netns';
import { SHIM_BINARY } from '../lib/paths';
import { PodwiredProcess } from '../lib/podwired-process';
import {
  type CniCallOutcome,
  CniDriver,
  NodeSpawnExecutor,
  type PodRef,
  type PluginUnderTest,
  REFERENCE_CNI_DIR,
  bridgePlugin,
  describeFailure,
  podwirePlugin,
} from './cni-driver';
import { fmt, renderTable, summarize } from './stats';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};

interface Chain {
  label: string;
  main: PluginUnderTest;
  portmap: boolean;
  /** runtimeConfig to the main plugin (podwire native) rather than to portmap. */
  native: boolean;
  mapping: boolean;
}

function portmapPlugin(name: string): PluginUnderTest {
  return {
    label: 'portmap',
    binary: path.join(REFERENCE_CNI_DIR, 'portmap'),
    cniPath: REFERENCE_CNI_DIR,
    netconf: { cniVersion: '1.0.0', name, type: 'portmap', capabilities: { portMappings: true } },
  };
}

function must(o: CniCallOutcome, what: string): CniCallOutcome {
  if (!o.ok) throw new Error(`${what}: ${describeFailure(o)}`);
  return o;
}

async function runChain(c: Chain, pods: readonly PodRef[], firstPort: number): Promise<number[]> {
  const exec = new NodeSpawnExecutor();
  const main = new CniDriver(c.main, exec);
  const pm = new CniDriver(portmapPlugin(String(c.main.netconf.name)), exec);
  const times: number[] = [];
  for (const [i, pod] of pods.entries()) {
    const rc = { portMappings: [{ hostPort: firstPort + i, containerPort: 80, protocol: 'tcp' }] };
    const add = must(await main.call('ADD', pod, undefined, c.native && c.mapping ? { runtimeConfig: rc } : {}), `${c.label} ADD`);
    let elapsed = add.elapsedMs;
    let pmAdd: CniCallOutcome | undefined;
    if (c.portmap) {
      pmAdd = must(await pm.call('ADD', pod, add.json, { runtimeConfig: rc }), `${c.label} portmap ADD`);
      elapsed += pmAdd.elapsedMs;
    }
    times.push(elapsed);
    if (c.portmap) must(await pm.call('DEL', pod, pmAdd?.json, { runtimeConfig: rc }), `${c.label} portmap DEL`);
    must(await main.call('DEL', pod, add.json, c.native && c.mapping ? { runtimeConfig: rc } : {}), `${c.label} DEL`);
  }
  return times.slice(Math.min(5, Math.floor(times.length / 10)));
}

async function main(): Promise<void> {
  const podCount = arg('--pods', 60);
  const runs = arg('--runs', 3);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-hpb-'));
  const netns = new TestNetnsSet(`pw-hpb-${process.pid}`);
  const server = PodwiredProcess.inTempDir(root, { config: { node: { name: 'bench', podCIDRs: ['10.252.0.0/16'] } } });
  try {
    await server.start();
    // Fresh pod netns for every chain and run: a netns whose podwire veth a DEL just detached
    // is busy until the pair is destroyed (within a second), which would be timed otherwise.
    const freshPods = async (tag: string): Promise<PodRef[]> => {
      const pods: PodRef[] = [];
      for (let i = 0; i < podCount; i++) {
        const ns = await netns.create(`${tag}-${i}`);
        pods.push({ containerId: `hpb-${tag}-${i}`, netnsPath: ns.path, ifname: 'eth0', podName: `hpb-${tag}-${i}` });
      }
      return pods;
    };
    const podwire = podwirePlugin(SHIM_BINARY, server.socket);
    const native = { ...podwire, netconf: { ...podwire.netconf, capabilities: { portMappings: true } } };
    const chains: Chain[] = [
      { label: 'podwire plain (no mapping)', main: podwire, portmap: false, native: true, mapping: false },
      { label: 'podwire native hostPort', main: native, portmap: false, native: true, mapping: true },
      { label: 'podwire + portmap', main: podwire, portmap: true, native: false, mapping: true },
      { label: 'bridge + host-local + portmap', main: bridgePlugin(path.join(root, 'host-local')), portmap: true, native: false, mapping: true },
    ];
    const p50s = new Map<string, number[]>();
    for (let r = 0; r < runs; r++) {
      for (const [ci, c] of chains.entries()) {
        const s = summarize(await runChain(c, await freshPods(`r${r}c${ci}`), 21000 + ci * 1000));
        p50s.set(c.label, [...(p50s.get(c.label) ?? []), s.p50]);
      }
    }
    const median = (v: number[]) => summarize(v).p50;
    const rows = chains.map((c) => {
      const v = p50s.get(c.label) ?? [];
      return [c.label, fmt(median(v)), `${fmt(Math.min(...v))}–${fmt(Math.max(...v))}`];
    });
    process.stdout.write(`ADD p50 ms with one hostPort mapping (${podCount} pods per run, ${runs} runs: median of the runs' p50, range)\n`);
    process.stdout.write(`${renderTable(['chain', 'p50', 'range'], rows)}\n`);
    const nat = median(p50s.get(chains[1]!.label) ?? []);
    process.stdout.write(
      `native / plain: ${fmt(nat / median(p50s.get(chains[0]!.label) ?? []))}x; bridge+portmap / native: ${fmt(median(p50s.get(chains[3]!.label) ?? []) / nat)}x; podwire+portmap / native: ${fmt(median(p50s.get(chains[2]!.label) ?? []) / nat)}x\n`,
    );
  } finally {
    await server.stop();
    server.deleteNftTables();
    await netns.cleanup();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
