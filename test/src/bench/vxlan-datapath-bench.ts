/**
 * Pod-to-pod across two nodes, direct (host-gw, `peers.encapsulation: none`) vs VXLAN
 * (`peers.encapsulation: vxlan`), in the same run (issue 21). Two pairs of "node" netns of this
 * run's own, each pair joined by one veth (the underlay, 10.226.0.1/24 and .2/24, MTU 1500):
 * pwb-<run id>-xd1/xd2 direct, pwb-<run id>-xv1/xv2 VXLAN. Each node runs its own podwired
 * (static peers: the other node; pod CIDRs 10.227.N.0/24; no `mtu`, so VXLAN pods get the
 * underlay's minus 50) and holds one pod (pwb-<run id>-xdp1...) wired through the shim.
 *
 * Measured from node 1's pod to node 2's, per round and mode (the modes interleaved):
 * - request latency: tcp-rr.c (compiled with cc into the work dir), one TCP connection, N
 *   64-byte requests each answered with 64 bytes, every round trip timed: p50 and p99;
 * - TCP throughput: iperf3 (scripts/bench.sh installs it), one stream for T seconds, the
 *   receiver's rate.
 * Ratios, not absolute figures, are the point: everything shares this machine's CPUs. Traffic
 * goes only between netns this file created; all of them are deleted at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, SHIM_BINARY } from '../lib/paths';
import { PodwiredProcess } from '../lib/podwired-process';
import { mustRun, runCommand } from '../lib/run-command';
import { CniDriver, NodeSpawnExecutor, describeFailure } from './cni-driver';
import { median } from './run-summary';
import { fmt, renderTable } from './stats';

export type CrossNodeMode = 'direct' | 'vxlan';

export interface RrRun {
  n: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
}

export interface CrossNodeModeResult {
  mode: CrossNodeMode;
  /** The pods' eth0 MTU as podwire set it. */
  podMtu: number;
  rr: RrRun[];
  /** Median of the rounds' p50 / p99 (µs). */
  rrP50Us: number;
  rrP99Us: number;
  /** Receiver's rate per round (Gbit/s) and their median. */
  throughputGbps: number[];
  gbps: number;
  /** Packets through node 1's VXLAN device while measuring (0 for direct: it has none). */
  vxlanPackets: number;
}

export interface VxlanDatapathResult {
  rounds: number;
  rrRequests: number;
  rrBytes: number;
  iperfSeconds: number;
  direct: CrossNodeModeResult;
  vxlan: CrossNodeModeResult;
  /** VXLAN ÷ direct: latency above 1 is slower, throughput below 1 is slower. */
  ratios: { rrP50: number; rrP99: number; throughput: number };
}

/** Parses tcp-rr's client line "n p50 p99 mean min". */
export function parseRrLine(line: string): RrRun {
  const [n, p50, p99, mean] = line.trim().split(/\s+/).map(Number);
  if (n === undefined || p50 === undefined || p99 === undefined || mean === undefined || [n, p50, p99, mean].some((v) => !Number.isFinite(v))) {
    throw new Error(`tcp-rr printed ${JSON.stringify(line)}`);
  }
  return { n, p50Us: p50, p99Us: p99, meanUs: mean };
}

/** The receiver's rate (Gbit/s) from `iperf3 -J` output. */
export function parseIperfGbps(json: string): number {
  const j = JSON.parse(json) as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
  if (j.error) throw new Error(`iperf3: ${j.error}`);
  const bps = j.end?.sum_received?.bits_per_second;
  if (bps === undefined) throw new Error('iperf3 printed no sum_received');
  return bps / 1e9;
}

export function crossNodeMode(mode: CrossNodeMode, podMtu: number, rr: RrRun[], throughputGbps: number[], vxlanPackets: number): CrossNodeModeResult {
  return {
    mode,
    podMtu,
    rr,
    rrP50Us: median(rr.map((r) => r.p50Us)) ?? NaN,
    rrP99Us: median(rr.map((r) => r.p99Us)) ?? NaN,
    throughputGbps,
    gbps: median(throughputGbps) ?? NaN,
    vxlanPackets,
  };
}

export function vxlanRatios(direct: CrossNodeModeResult, vxlan: CrossNodeModeResult): VxlanDatapathResult['ratios'] {
  const div = (a: number, b: number) => (b > 0 ? a / b : NaN);
  return { rrP50: div(vxlan.rrP50Us, direct.rrP50Us), rrP99: div(vxlan.rrP99Us, direct.rrP99Us), throughput: div(vxlan.gbps, direct.gbps) };
}

export function renderVxlanDatapath(r: VxlanDatapathResult): string {
  const range = (xs: number[]) => (xs.length > 1 ? ` (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})` : '');
  const rows = [
    [
      `TCP request/response p50 µs (${r.rrRequests} × ${r.rrBytes} B)`,
      `${fmt(r.direct.rrP50Us)}${range(r.direct.rr.map((x) => x.p50Us))}`,
      `${fmt(r.vxlan.rrP50Us)}${range(r.vxlan.rr.map((x) => x.p50Us))}`,
      `${fmt(r.ratios.rrP50)}×`,
    ],
    ['TCP request/response p99 µs', fmt(r.direct.rrP99Us), fmt(r.vxlan.rrP99Us), `${fmt(r.ratios.rrP99)}×`],
    [
      `TCP throughput Gbit/s (iperf3, 1 stream, ${r.iperfSeconds} s)`,
      `${fmt(r.direct.gbps)}${range(r.direct.throughputGbps)}`,
      `${fmt(r.vxlan.gbps)}${range(r.vxlan.throughputGbps)}`,
      `${fmt(r.ratios.throughput)}×`,
    ],
    ['pod MTU', String(r.direct.podMtu), String(r.vxlan.podMtu), ''],
  ];
  return `cross-node pod to pod, direct (host-gw) vs VXLAN (two netns nodes per mode, one veth underlay, ${r.rounds} round(s) interleaved, median (range))\n${renderTable(
    ['row', 'direct', 'VXLAN', 'VXLAN ÷ direct'],
    rows,
  )}\npackets through node 1's VXLAN device while measuring: VXLAN ${r.vxlan.vxlanPackets}${r.vxlan.vxlanPackets > 0 ? '' : ' (NONE: the VXLAN figures did not cross it)'}, direct: no device`;
}

export interface VxlanDatapathOptions {
  runId: string;
  workDir: string;
  rounds: number;
  rrRequests: number;
  iperfSeconds: number;
  log: (msg: string) => void;
}

const RR_BYTES = 64;
const UNDERLAY = (n: number) => `10.226.0.${n}`;
const POD_CIDR = (n: number) => `10.227.${n}.0/24`;
export const TCP_RR_SOURCE = path.join(REPO_ROOT, 'test', 'src', 'bench', 'tcp-rr.c');

export function vxlanDatapathNetnsPrefix(runId: string): string {
  return `pwb-${runId}-x`;
}

interface Pair {
  mode: CrossNodeMode;
  nodes: [string, string];
  pods: [string, string];
  servers: PodwiredProcess[];
  podIPs: string[];
  podMtu: number;
}

/** Starts a server process; resolves once a stdout line matches `ready`. */
function startServer(args: string[], ready: RegExp, what: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not start: ${out} ${err}`));
    }, 10_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr?.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited ${code} before it was ready: ${out} ${err}`));
    });
  });
}

async function stopServer(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
  child.kill('SIGTERM');
  await done;
  clearTimeout(t);
}

async function vxlanPacketCount(ns: string): Promise<number> {
  const r = await runCommand('ip', ['-n', ns, '-j', '-s', 'link', 'show', 'pwvx1']);
  if (r.code !== 0) return 0;
  const [l] = JSON.parse(r.stdout) as Array<{ stats64?: { rx: { packets: number }; tx: { packets: number } } }>;
  return (l?.stats64?.rx.packets ?? 0) + (l?.stats64?.tx.packets ?? 0);
}

/** Builds one pair; it is in `pairs` from the start, so a failure half-way is still cleaned up. */
async function buildPair(o: VxlanDatapathOptions, mode: CrossNodeMode, root: string, pairs: Pair[]): Promise<Pair> {
  const p = `${vxlanDatapathNetnsPrefix(o.runId)}${mode === 'direct' ? 'd' : 'v'}`;
  const pair: Pair = { mode, nodes: [`${p}1`, `${p}2`], pods: [`${p}p1`, `${p}p2`], servers: [], podIPs: [], podMtu: 0 };
  pairs.push(pair);
  for (const ns of [...pair.nodes, ...pair.pods]) {
    await mustRun('ip', ['netns', 'add', ns]);
    await mustRun('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  const [n1, n2] = pair.nodes;
  await mustRun('ip', ['-n', n1, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n2]);
  for (const [i, ns] of pair.nodes.entries()) {
    await mustRun('ip', ['-n', ns, 'addr', 'add', `${UNDERLAY(i + 1)}/24`, 'dev', 'eth0']);
    await mustRun('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  }
  for (const [i, ns] of pair.nodes.entries()) {
    const n = i + 1;
    const other = 3 - n;
    const dir = path.join(root, `${mode}-node${n}`);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const server = PodwiredProcess.inTempDir(dir, {
      netns: ns,
      config: {
        node: { name: `node-${n}`, podCIDRs: [POD_CIDR(n)], nodeIPs: [UNDERLAY(n)] },
        peers: {
          source: 'static',
          encapsulation: mode === 'direct' ? 'none' : 'vxlan',
          static: [{ name: `node-${other}`, nodeIPs: [UNDERLAY(other)], podCIDRs: [POD_CIDR(other)] }],
        },
      },
    });
    pair.servers.push(server);
    await server.start();
    if (server.pid !== undefined) fs.writeFileSync(path.join(o.workDir, `podwired-x${mode[0]}${n}.pid`), String(server.pid));
  }
  // One pod per node, wired through the shim.
  const exec = new NodeSpawnExecutor();
  for (const [i, server] of pair.servers.entries()) {
    const d = new CniDriver(
      {
        label: 'podwire',
        binary: SHIM_BINARY,
        cniPath: path.dirname(SHIM_BINARY),
        netconf: { cniVersion: '1.0.0', name: 'xnode', type: 'podwire', ipam: { type: 'podwire' } },
        env: { PODWIRE_SOCKET: server.socket },
      },
      exec,
    );
    const pod = pair.pods[i] as string;
    const add = await d.add({ containerId: `x-${mode}-${i}`, netnsPath: `/var/run/netns/${pod}`, ifname: 'eth0', podName: `x-${mode}-${i}` });
    if (!add.ok) throw new Error(`cross-node bench: ADD on ${pair.nodes[i]}: ${describeFailure(add)}`);
    const ip = (add.json?.ips as Array<{ address: string }> | undefined)?.[0]?.address.split('/')[0];
    if (!ip) throw new Error(`cross-node bench: ADD on ${pair.nodes[i]} returned no address`);
    pair.podIPs.push(ip);
  }
  const [link] = JSON.parse(await mustRun('ip', ['-n', pair.pods[0], '-j', 'link', 'show', 'eth0'])) as Array<{ mtu: number }>;
  pair.podMtu = link?.mtu ?? 0;
  // Peer routes in place on both nodes, then one ping through (ARP / neighbours resolved).
  const deadline = Date.now() + 30_000;
  for (;;) {
    const routes = await Promise.all(pair.nodes.map((ns) => mustRun('ip', ['-n', ns, '-j', 'route', 'show', 'proto', '198'])));
    if (routes.every((r) => (JSON.parse(r) as unknown[]).length >= 1)) break;
    if (Date.now() > deadline) throw new Error(`cross-node bench (${mode}): no peer routes after 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const ping = await runCommand('ip', ['netns', 'exec', pair.pods[0], 'ping', '-c', '3', '-i', '0.2', '-W', '2', pair.podIPs[1] as string], {
    timeoutMs: 20_000,
  });
  if (ping.code !== 0) throw new Error(`cross-node bench (${mode}): pod 1 cannot ping pod 2: ${ping.stdout} ${ping.stderr}`);
  o.log(`${mode}: pods ${pair.podIPs.join(' -> ')} (MTU ${pair.podMtu}) reach each other`);
  return pair;
}

async function measureRr(tool: string, pair: Pair, n: number): Promise<RrRun> {
  const server = await startServer(['netns', 'exec', pair.pods[1], tool, 'serve', '7100'], /listening/, 'tcp-rr server');
  try {
    const r = await runCommand('ip', ['netns', 'exec', pair.pods[0], tool, 'client', pair.podIPs[1] as string, '7100', String(n), String(RR_BYTES)], {
      timeoutMs: 120_000,
    });
    if (r.code !== 0) throw new Error(`tcp-rr client (${pair.mode}) exited ${r.code}: ${r.stderr}`);
    return parseRrLine(r.stdout);
  } finally {
    await stopServer(server);
  }
}

async function measureIperf(pair: Pair, seconds: number): Promise<number> {
  const server = await startServer(['netns', 'exec', pair.pods[1], 'iperf3', '-s', '-1', '--forceflush', '-p', '7101'], /Server listening/, 'iperf3 server');
  try {
    const r = await runCommand('ip', ['netns', 'exec', pair.pods[0], 'iperf3', '-c', pair.podIPs[1] as string, '-p', '7101', '-t', String(seconds), '-J'], {
      timeoutMs: (seconds + 30) * 1000,
    });
    if (r.code !== 0) throw new Error(`iperf3 client (${pair.mode}) exited ${r.code}: ${r.stdout.slice(0, 500)} ${r.stderr}`);
    return parseIperfGbps(r.stdout);
  } finally {
    await stopServer(server);
  }
}

export async function runVxlanDatapathBench(o: VxlanDatapathOptions): Promise<VxlanDatapathResult> {
  const prefix = vxlanDatapathNetnsPrefix(o.runId);
  const root = fs.mkdtempSync(path.join(o.workDir, 'xnode-'));
  const pairs: Pair[] = [];
  try {
    const tool = path.join(root, 'tcp-rr');
    const cc = await runCommand('cc', ['-O2', '-Wall', '-o', tool, TCP_RR_SOURCE], { timeoutMs: 60_000 });
    if (cc.code !== 0) throw new Error(`cc tcp-rr.c exited ${cc.code}: ${cc.stderr.trim()}`);
    if ((await runCommand('iperf3', ['--version'])).code !== 0) throw new Error('iperf3 is missing (scripts/bench.sh installs it)');
    for (const mode of ['direct', 'vxlan'] as const) await buildPair(o, mode, root, pairs);
    const rr = new Map<CrossNodeMode, RrRun[]>();
    const gbps = new Map<CrossNodeMode, number[]>();
    const vxPackets = new Map<CrossNodeMode, number>();
    for (let r = 0; r < o.rounds; r++) {
      const order = r % 2 === 0 ? pairs : [...pairs].reverse();
      for (const pair of order) {
        const before = await vxlanPacketCount(pair.nodes[0]);
        const x = await measureRr(tool, pair, o.rrRequests);
        const g = await measureIperf(pair, o.iperfSeconds);
        vxPackets.set(pair.mode, (vxPackets.get(pair.mode) ?? 0) + (await vxlanPacketCount(pair.nodes[0])) - before);
        rr.set(pair.mode, [...(rr.get(pair.mode) ?? []), x]);
        gbps.set(pair.mode, [...(gbps.get(pair.mode) ?? []), g]);
        o.log(`round ${r + 1}/${o.rounds} ${pair.mode}: request/response p50 ${fmt(x.p50Us)} µs p99 ${fmt(x.p99Us)} µs, throughput ${fmt(g)} Gbit/s`);
      }
    }
    const side = (p: Pair) => crossNodeMode(p.mode, p.podMtu, rr.get(p.mode) ?? [], gbps.get(p.mode) ?? [], vxPackets.get(p.mode) ?? 0);
    const direct = side(pairs[0] as Pair);
    const vxlan = side(pairs[1] as Pair);
    const result: VxlanDatapathResult = {
      rounds: o.rounds,
      rrRequests: o.rrRequests,
      rrBytes: RR_BYTES,
      iperfSeconds: o.iperfSeconds,
      direct,
      vxlan,
      ratios: vxlanRatios(direct, vxlan),
    };
    process.stdout.write(`\n${renderVxlanDatapath(result)}\n`);
    return result;
  } finally {
    for (const p of pairs) for (const s of p.servers) await s.stop();
    const listed = (await runCommand('ip', ['netns', 'list'])).stdout
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n.startsWith(prefix) && /^[dv]p?[12]$/.test(n.slice(prefix.length)));
    for (const n of listed) await runCommand('ip', ['netns', 'del', n]);
    fs.rmSync(root, { recursive: true, force: true });
  }
}
