import * as fs from 'node:fs';
import type { Executor, NetnsPool } from './cni-driver';
import { type Stats, summarize } from './stats';

/**
 * The "kernel floor": the kernel objects of one podwire ADD (routed-veth.ts), replayed with
 * iproute2 for N pods, with as few processes as iproute2 allows. Host side: the veth pair
 * created up, in an interface group, with the peer (its MAC set) created in the pod netns;
 * the host end's alias; its gateway address 169.254.1.1/32 scope host; the host /32 route to
 * the pod. Pod side: the pod address, the pod link up, the permanent neighbour for the
 * gateway, the default route via it, onlink.
 *
 * `ip -batch` has no per-line `-n NS` (a line starting with `-n` is rejected: 'Object "-n" is
 * unknown'), so the host-side lines of all pods go through ONE `ip -batch -` process, and the
 * pod-side lines through one `ip -n NS -batch -` process per pod. The cost of those processes
 * themselves (exec, and for `-n` setns and its mount namespace) is measured with empty ones
 * and subtracted to estimate the kernel work alone: per pod, an empty `ip -n NS -batch -`
 * right next to its full one (before it for even pods, after it for odd ones), the pod side
 * being the median of those pairs' differences (the host's load changes during a run; a
 * difference of two separate medians of ~7 ms processes swung by a whole ms between runs);
 * for the host batch, the median of a few empty `ip -batch -`. DEL is one `ip -batch -` of
 * `link del` lines.
 */
export interface KernelFloorResult {
  pods: number;
  hostBatchMs: number;
  podBatch: Stats;
  podBatchTotalMs: number;
  emptyPodBatch: Stats;
  /** (host batch + all pod batches) / pods: what N pods cost with iproute2 doing the work. */
  addPerPodMs: number;
  /** (host batch - empty host batch p50) / pods + median over pods of (pod batch - its empty pod batch): the netlink work alone. */
  addKernelPerPodMs: number;
  delBatchMs: number;
  delPerPodMs: number;
  /**
   * The same estimate from the `ip` processes' CPU time (user + system, from wait4) instead of
   * their wall time: (host batch CPU - empty host batch CPU p50) / pods + median over pods of
   * (pod batch CPU - its empty pod batch CPU). Undefined when the executor cannot see a
   * child's CPU (Node's spawn).
   */
  addKernelCpuPerPodMs?: number;
  hostBatchCpuMs?: number;
  podBatchCpu?: Stats;
  emptyPodBatchCpu?: Stats;
  failures: string[];
}

export function findIp(): string {
  for (const p of ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip']) if (fs.existsSync(p)) return p;
  throw new Error('iproute2 `ip` not found');
}

/** Host-side veth names for the floor: `bf<runId>x<i>` (never podwire's `pw` prefix). */
export function floorLinkPrefix(runId: string): string {
  return `bf${runId.slice(-7)}x`;
}

function macOf(i: number, kind = 0x66): string {
  const h = (n: number) => n.toString(16).padStart(2, '0');
  return `02:62:${h(kind)}:${h((i >> 16) & 255)}:${h((i >> 8) & 255)}:${h(i & 255)}`;
}

/** The floor's interface group (podwire's host ends are in their server's own group; this is no server's). */
const FLOOR_GROUP = 0x62660001;

/** The median of `xs` (NaN when empty). */
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** 10.252.128.0/17, inside podwire's bench subnet, used only after podwire's pods are gone. */
function podIpOf(i: number): string {
  const n = 128 * 256 + 1 + i;
  return `10.252.${(n >> 8) & 255}.${n & 255}`;
}

/**
 * `offset`: the first pod's number for the host link names, MACs and pod addresses (the pod
 * netns are the pool's first `pods` either way), so a floor run between others of one bench
 * run names nothing alike.
 */
export async function runKernelFloor(exec: Executor, pool: NetnsPool, pods: number, runId: string, offset = 0): Promise<KernelFloorResult> {
  const ip = findIp();
  const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
  const prefix = floorLinkPrefix(runId);
  const failures: string[] = [];
  const host = (i: number) => `${prefix}${offset + i}`;
  const mac = (i: number, kind?: number) => macOf(offset + i, kind);
  const podIp = (i: number) => podIpOf(offset + i);

  const hostLines: string[] = [];
  for (let i = 0; i < pods; i++) {
    hostLines.push(`link add ${host(i)} address ${mac(i)} group ${FLOOR_GROUP} up type veth peer name eth0 address ${mac(i, 0x70)} netns ${pool.name(i)}`);
    hostLines.push(`link set ${host(i)} alias pwbench:${runId.slice(-7)}`);
    hostLines.push(`addr add 169.254.1.1/32 dev ${host(i)} scope host`);
    hostLines.push(`route add ${podIp(i)}/32 dev ${host(i)} scope link proto 199`);
  }
  // The cost of the host batch's process itself (exec, iproute2's start-up).
  const emptyHost: number[] = [];
  const emptyHostCpu: number[] = [];
  for (let k = 0; k < 5; k++) {
    const r = await exec.exec({ file: ip, args: ['-batch', '-'], env, stdin: '' });
    emptyHost.push(r.elapsedMs);
    if (r.cpuMs !== undefined) emptyHostCpu.push(r.cpuMs);
  }
  const hostRun = await exec.exec({ file: ip, args: ['-batch', '-'], env, stdin: `${hostLines.join('\n')}\n` });
  if (hostRun.status !== 0) failures.push(`host batch exited ${hostRun.status}: ${hostRun.stderr.trim().slice(0, 300)}`);

  const podTimes: number[] = [];
  const podCpu: number[] = [];
  // Per pod, the process alone (exec + `-n`: setns, mount namespace for sysfs) next to it.
  const emptyTimes: number[] = [];
  const emptyCpu: number[] = [];
  const empty = async (i: number): Promise<void> => {
    const r = await exec.exec({ file: ip, args: ['-n', pool.name(i), '-batch', '-'], env, stdin: '' });
    emptyTimes.push(r.elapsedMs);
    if (r.cpuMs !== undefined) emptyCpu.push(r.cpuMs);
  };
  for (let i = 0; i < pods; i++) {
    const lines = [
      `addr add ${podIp(i)}/32 dev eth0`,
      'link set eth0 up',
      `neigh add 169.254.1.1 lladdr ${mac(i)} dev eth0 nud permanent`,
      'route add default via 169.254.1.1 dev eth0 onlink',
    ];
    if (i % 2 === 0) await empty(i);
    const r = await exec.exec({ file: ip, args: ['-n', pool.name(i), '-batch', '-'], env, stdin: `${lines.join('\n')}\n` });
    if (r.status !== 0) failures.push(`pod batch ${pool.name(i)} exited ${r.status}: ${r.stderr.trim().slice(0, 300)}`);
    podTimes.push(r.elapsedMs);
    if (r.cpuMs !== undefined) podCpu.push(r.cpuMs);
    if (i % 2 === 1) await empty(i);
  }

  const delLines: string[] = [];
  for (let i = 0; i < pods; i++) delLines.push(`link del ${host(i)}`);
  const delRun = await exec.exec({ file: ip, args: ['-batch', '-'], env, stdin: `${delLines.join('\n')}\n` });
  if (delRun.status !== 0) failures.push(`del batch exited ${delRun.status}: ${delRun.stderr.trim().slice(0, 300)}`);

  const podBatch = summarize(podTimes);
  const emptyPodBatch = summarize(emptyTimes);
  const podBatchTotalMs = podTimes.reduce((a, b) => a + b, 0);
  const pairs = (full: readonly number[], alone: readonly number[]): number => Math.max(0, median(full.map((x, i) => x - (alone[i] ?? NaN))));
  const hostMs = (total: number, alone: readonly number[]): number => Math.max(0, total - median(alone)) / pods;
  const cpu =
    hostRun.cpuMs !== undefined && podCpu.length === pods && emptyCpu.length === pods && emptyHostCpu.length > 0
      ? {
          hostBatchCpuMs: hostRun.cpuMs,
          podBatchCpu: summarize(podCpu),
          emptyPodBatchCpu: summarize(emptyCpu),
          addKernelCpuPerPodMs: hostMs(hostRun.cpuMs, emptyHostCpu) + pairs(podCpu, emptyCpu),
        }
      : {};
  return {
    pods,
    hostBatchMs: hostRun.elapsedMs,
    podBatch,
    podBatchTotalMs,
    emptyPodBatch,
    addPerPodMs: (hostRun.elapsedMs + podBatchTotalMs) / pods,
    addKernelPerPodMs: hostMs(hostRun.elapsedMs, emptyHost) + pairs(podTimes, emptyTimes),
    delBatchMs: delRun.elapsedMs,
    delPerPodMs: delRun.elapsedMs / pods,
    ...cpu,
    failures,
  };
}
