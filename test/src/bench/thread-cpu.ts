/**
 * Per-thread CPU of a process from /proc: `schedstat` (nanoseconds on a CPU, exact) and `stat`
 * (utime/stime in clock ticks, for the user/system split). Used to tell podwired's datapath
 * thread from its event loop, V8's helper threads and the link-delete worker.
 */
import * as fs from 'node:fs';
import { parseProcStatCpuTicks } from './cpu-floor-report';

export interface ThreadCpu {
  tid: number;
  comm: string;
  /** Time on a CPU (schedstat field 1), ns. */
  cpuNs: number;
  utimeTicks: number;
  stimeTicks: number;
}

/** The first field of /proc/PID/task/TID/schedstat: time spent on a CPU, ns. */
export function parseSchedstatNs(text: string): number {
  const v = Number(text.trim().split(/\s+/)[0]);
  if (!Number.isFinite(v)) throw new Error('not a schedstat line');
  return v;
}

/** Every thread of `pid` now (threads that exit while being read are left out). */
export function readThreads(pid: number): ThreadCpu[] {
  const out: ThreadCpu[] = [];
  for (const name of fs.readdirSync(`/proc/${pid}/task`)) {
    const dir = `/proc/${pid}/task/${name}`;
    try {
      const t = parseProcStatCpuTicks(fs.readFileSync(`${dir}/stat`, 'utf8'));
      out.push({
        tid: Number(name),
        comm: fs.readFileSync(`${dir}/comm`, 'utf8').trim(),
        cpuNs: parseSchedstatNs(fs.readFileSync(`${dir}/schedstat`, 'utf8')),
        utimeTicks: t.utime,
        stimeTicks: t.stime,
      });
    } catch {
      // gone meanwhile
    }
  }
  return out.sort((a, b) => a.tid - b.tid);
}

export interface ThreadDelta {
  tid: number;
  comm: string;
  cpuMs: number;
  userMs: number;
  sysMs: number;
}

/** CPU each thread used between two readings (threads new in `after` count from 0). */
export function threadDeltas(before: readonly ThreadCpu[], after: readonly ThreadCpu[], clkTck: number): ThreadDelta[] {
  const prev = new Map(before.map((t) => [t.tid, t]));
  return after.map((t) => {
    const p = prev.get(t.tid);
    return {
      tid: t.tid,
      comm: t.comm,
      cpuMs: (t.cpuNs - (p?.cpuNs ?? 0)) / 1e6,
      userMs: ((t.utimeTicks - (p?.utimeTicks ?? 0)) * 1000) / clkTck,
      sysMs: ((t.stimeTicks - (p?.stimeTicks ?? 0)) * 1000) / clkTck,
    };
  });
}

/**
 * podwired's datapath thread: the first thread it starts after setting its title (main.ts sets
 * process.title before anything else, and the datapath Worker is the first thread podwired
 * itself starts; V8's and Node's own threads start before and keep the name "node"). So: the
 * lowest thread id other than the main thread with the main thread's name.
 */
export function datapathThreadId(pid: number, threads: readonly ThreadCpu[]): number | undefined {
  const main = threads.find((t) => t.tid === pid);
  if (!main) return undefined;
  return threads.find((t) => t.tid !== pid && t.comm === main.comm)?.tid;
}

/** A split of a process's CPU over a phase: main thread, datapath thread, everything else. */
export interface ThreadSplit {
  mainMs: number;
  datapathMs: number;
  datapathUserMs: number;
  datapathSysMs: number;
  otherMs: number;
  /** The thread taken as the datapath thread, and whether it was also the busiest non-main one. */
  datapathTid: number | undefined;
  datapathIsBusiest: boolean;
}

/** Several readings' deltas added up per thread (a thread seen in one reading only counts there). */
export function sumDeltas(parts: ReadonlyArray<readonly ThreadDelta[]>): ThreadDelta[] {
  const byTid = new Map<number, ThreadDelta>();
  for (const part of parts)
    for (const d of part) {
      const s = byTid.get(d.tid);
      if (s) byTid.set(d.tid, { ...s, cpuMs: s.cpuMs + d.cpuMs, userMs: s.userMs + d.userMs, sysMs: s.sysMs + d.sysMs });
      else byTid.set(d.tid, { ...d });
    }
  return [...byTid.values()].sort((a, b) => a.tid - b.tid);
}

export function splitThreads(pid: number, deltas: readonly ThreadDelta[], datapathTid: number | undefined): ThreadSplit {
  const main = deltas.find((d) => d.tid === pid);
  const dp = deltas.find((d) => d.tid === datapathTid);
  const others = deltas.filter((d) => d.tid !== pid && d.tid !== datapathTid);
  const busiest = [...deltas.filter((d) => d.tid !== pid)].sort((a, b) => b.cpuMs - a.cpuMs)[0];
  return {
    mainMs: main?.cpuMs ?? NaN,
    datapathMs: dp?.cpuMs ?? NaN,
    datapathUserMs: dp?.userMs ?? NaN,
    datapathSysMs: dp?.sysMs ?? NaN,
    otherMs: others.reduce((s, d) => s + d.cpuMs, 0),
    datapathTid,
    datapathIsBusiest: busiest !== undefined && busiest.tid === datapathTid,
  };
}
