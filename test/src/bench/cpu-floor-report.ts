/** Pure helpers for the cpu-floor rows (cpu-floor.ts): /proc stat parsing, ratios, gone times. */
import { type Stats, summarize } from './stats';

/**
 * utime + stime (fields 14 and 15 of /proc/PID/stat, in clock ticks). The process's stat
 * already sums all of its threads. The comm field may hold spaces and parentheses, so the
 * fields are counted from the LAST ')'.
 */
export function parseProcStatCpuTicks(stat: string): { utime: number; stime: number } {
  const close = stat.lastIndexOf(')');
  if (close < 0) throw new Error('not a /proc/PID/stat line');
  const fields = stat
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // fields[0] is the state (field 3): utime (14) is [11], stime (15) is [12].
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('short /proc/PID/stat line');
  return { utime, stime };
}

export function statCpuMs(stat: string, clkTck: number): number {
  const t = parseProcStatCpuTicks(stat);
  return ((t.utime + t.stime) * 1000) / clkTck;
}

/** CPU ms per call over a phase; NaN when no call succeeded. */
export function perCall(cpuBeforeMs: number, cpuAfterMs: number, calls: number): number {
  return calls > 0 ? (cpuAfterMs - cpuBeforeMs) / calls : NaN;
}

export function safeRatio(a: number | undefined, b: number | undefined): number {
  return a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : NaN;
}

export interface VerbCpu {
  verb: string;
  podwiredMsPerCall: number;
  bareMsPerCall: number;
  ratio: number;
}

export function verbCpuRow(verb: string, podwiredMsPerCall: number, bareMsPerCall: number): VerbCpu {
  return { verb, podwiredMsPerCall, bareMsPerCall, ratio: safeRatio(podwiredMsPerCall, bareMsPerCall) };
}

/** (podwired ADD + DEL) / (bare ADD + DEL): the target is <= 2. */
export function addDelSumRatio(pwAdd: number, pwDel: number, bareAdd: number, bareDel: number): number {
  return safeRatio(pwAdd + pwDel, bareAdd + bareDel);
}

/**
 * Time from each DEL's answer to its pair being seen gone. `answeredAt[i]` / `goneAt[i]` are
 * times on one clock (undefined: the DEL failed / the pair was never seen gone within the
 * bound). A pair seen gone before its DEL answered counts 0.
 */
export function goneAfterDel(answeredAt: Array<number | undefined>, goneAt: Array<number | undefined>): { gone: Stats; neverGone: number } {
  const xs: number[] = [];
  let neverGone = 0;
  answeredAt.forEach((a, i) => {
    if (a === undefined) return;
    const g = goneAt[i];
    if (g === undefined) neverGone++;
    else xs.push(Math.max(0, g - a));
  });
  return { gone: summarize(xs), neverGone };
}

/** Latency floor for one ADD: exec of a static no-op + the kernel work alone. */
export function latencyFloor(noopP50Ms: number, kernelAddPerPodMs: number): number {
  return noopP50Ms + kernelAddPerPodMs;
}

/** ifindexes in `ip -j link` output. */
export function ifindexesOfIpJson(stdout: string): Set<number> {
  const s = stdout.trim();
  if (s === '') return new Set();
  const arr = JSON.parse(s) as Array<{ ifindex?: number }>;
  return new Set(arr.map((l) => l.ifindex).filter((x): x is number => typeof x === 'number'));
}
