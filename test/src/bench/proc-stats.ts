/** A process's CPU and memory from /proc, for the server columns of the bench. */
import * as fs from 'node:fs';
import { statCpuMs } from './cpu-floor-report';

/** user + system CPU of the whole process (all threads), ms. */
export function procCpuMs(pid: number, clkTck: number): number {
  return statCpuMs(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'), clkTck);
}

export function procStatusKb(pid: number, key: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}
