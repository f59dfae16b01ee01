import * as fs from 'node:fs';
import type { Executor, NetnsPool } from './cni-driver';
import { type Stats, summarize } from './stats';

/**
 * The "kernel floor": the same netlink operations as one podwire ADD (veth pair with the peer
 * created in the pod netns, pod address, pod link up, host link up, permanent neighbour for
 * the gateway, on-link route to the gateway, default route, host /32 route) for N pods, with
 * as few processes as iproute2 allows.
 *
 * `ip -batch` has no per-line `-n NS` (a line starting with `-n` is rejected: 'Object "-n" is
 * unknown'), so the host-side lines of all pods go through ONE `ip -batch -` process, and the
 * pod-side lines through one `ip -n NS -batch -` process per pod. The exec + setns cost of
 * those per-pod processes is measured separately (an empty `ip -n NS -batch -`) so it can be
 * subtracted to estimate the kernel work alone. DEL is one `ip -batch -` of `link del` lines.
 */
export interface KernelFloorResult {
  pods: number;
  hostBatchMs: number;
  podBatch: Stats;
  podBatchTotalMs: number;
  emptyPodBatch: Stats;
  /** (host batch + all pod batches) / pods: what N pods cost with iproute2 doing the work. */
  addPerPodMs: number;
  /** host batch / pods + (pod batch p50 - empty pod batch p50): the netlink work alone. */
  addKernelPerPodMs: number;
  delBatchMs: number;
  delPerPodMs: number;
  /**
   * The same estimate from the `ip` processes' CPU time (user + system, from wait4) instead of
   * their wall time: host batch CPU / pods + (pod batch CPU p50 - empty pod batch CPU p50).
   * Undefined when the executor cannot see a child's CPU (Node's spawn).
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

function mac(i: number): string {
  const h = (n: number) => n.toString(16).padStart(2, '0');
  return `02:62:66:${h((i >> 16) & 255)}:${h((i >> 8) & 255)}:${h(i & 255)}`;
}

/** 10.252.128.0/17, inside podwire's bench subnet, used only after podwire's pods are gone. */
function podIp(i: number): string {
  const n = 128 * 256 + 1 + i;
  return `10.252.${(n >> 8) & 255}.${n & 255}`;
}

export async function runKernelFloor(exec: Executor, pool: NetnsPool, pods: number, runId: string): Promise<KernelFloorResult> {
  const ip = findIp();
  const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
  const prefix = floorLinkPrefix(runId);
  const failures: string[] = [];
  const host = (i: number) => `${prefix}${i}`;

  const hostLines: string[] = [];
  for (let i = 0; i < pods; i++) {
    hostLines.push(`link add ${host(i)} address ${mac(i)} type veth peer name eth0 netns ${pool.name(i)}`);
    hostLines.push(`link set ${host(i)} up`);
    hostLines.push(`route add ${podIp(i)}/32 dev ${host(i)} scope link proto 199`);
  }
  const hostRun = await exec.exec({ file: ip, args: ['-batch', '-'], env, stdin: `${hostLines.join('\n')}\n` });
  if (hostRun.status !== 0) failures.push(`host batch exited ${hostRun.status}: ${hostRun.stderr.trim().slice(0, 300)}`);

  const podTimes: number[] = [];
  const podCpu: number[] = [];
  for (let i = 0; i < pods; i++) {
    const lines = [
      `addr add ${podIp(i)}/32 dev eth0`,
      'link set eth0 up',
      `neigh add 169.254.1.1 lladdr ${mac(i)} dev eth0 nud permanent`,
      'route add 169.254.1.1/32 dev eth0 scope link',
      'route add default via 169.254.1.1 dev eth0',
    ];
    const r = await exec.exec({ file: ip, args: ['-n', pool.name(i), '-batch', '-'], env, stdin: `${lines.join('\n')}\n` });
    if (r.status !== 0) failures.push(`pod batch ${pool.name(i)} exited ${r.status}: ${r.stderr.trim().slice(0, 300)}`);
    podTimes.push(r.elapsedMs);
    if (r.cpuMs !== undefined) podCpu.push(r.cpuMs);
  }

  // The cost of the per-pod process alone: exec + `-n` (setns, mount namespace for sysfs).
  const emptyTimes: number[] = [];
  const emptyCpu: number[] = [];
  for (let i = 0; i < Math.min(pods, 100); i++) {
    const r = await exec.exec({ file: ip, args: ['-n', pool.name(i), '-batch', '-'], env, stdin: '' });
    emptyTimes.push(r.elapsedMs);
    if (r.cpuMs !== undefined) emptyCpu.push(r.cpuMs);
  }

  const delLines: string[] = [];
  for (let i = 0; i < pods; i++) delLines.push(`link del ${host(i)}`);
  const delRun = await exec.exec({ file: ip, args: ['-batch', '-'], env, stdin: `${delLines.join('\n')}\n` });
  if (delRun.status !== 0) failures.push(`del batch exited ${delRun.status}: ${delRun.stderr.trim().slice(0, 300)}`);

  const podBatch = summarize(podTimes);
  const emptyPodBatch = summarize(emptyTimes);
  const podBatchTotalMs = podTimes.reduce((a, b) => a + b, 0);
  const cpu =
    hostRun.cpuMs !== undefined && podCpu.length === pods && emptyCpu.length > 0
      ? (() => {
          const podBatchCpu = summarize(podCpu);
          const emptyPodBatchCpu = summarize(emptyCpu);
          return {
            hostBatchCpuMs: hostRun.cpuMs,
            podBatchCpu,
            emptyPodBatchCpu,
            addKernelCpuPerPodMs: hostRun.cpuMs / pods + Math.max(0, podBatchCpu.p50 - emptyPodBatchCpu.p50),
          };
        })()
      : {};
  return {
    pods,
    hostBatchMs: hostRun.elapsedMs,
    podBatch,
    podBatchTotalMs,
    emptyPodBatch,
    addPerPodMs: (hostRun.elapsedMs + podBatchTotalMs) / pods,
    addKernelPerPodMs: hostRun.elapsedMs / pods + Math.max(0, podBatch.p50 - emptyPodBatch.p50),
    delBatchMs: delRun.elapsedMs,
    delPerPodMs: delRun.elapsedMs / pods,
    ...cpu,
    failures,
  };
}
