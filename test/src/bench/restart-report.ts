/**
 * Pure helpers of the restart benchmark (restart-bench.ts): option parsing, the CHECK sample,
 * podwired's start-up summary line, the target per pod count and the row's verdict. No I/O,
 * so restart-report.test.ts covers them without root.
 */
import * as ipaddr from 'ipaddr.js';

/** The most pods one row may wire: the row's /16 holds 65,534 addresses. */
export const MAX_RESTART_PODS = 60_000;

/** "1000,5000" -> [1000, 5000]. Throws on anything but positive integers up to MAX_RESTART_PODS. */
export function parsePodCounts(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) throw new Error(`pod counts must be a comma-separated list, got "${text}"`);
  return parts.map((p) => {
    const n = Number(p);
    if (!/^[0-9]+$/.test(p) || !Number.isInteger(n) || n < 1 || n > MAX_RESTART_PODS) {
      throw new Error(`pod count "${p}" must be an integer from 1 to ${MAX_RESTART_PODS}`);
    }
    return n;
  });
}

/**
 * `k` distinct indices spread evenly over [0, n), the first and the last included (all of
 * them when k >= n), ascending.
 */
export function spreadIndices(n: number, k: number): number[] {
  if (n <= 0 || k <= 0) return [];
  if (k >= n) return Array.from({ length: n }, (_, i) => i);
  if (k === 1) return [0];
  const out = new Set<number>();
  for (let j = 0; j < k; j++) out.add(Math.round((j * (n - 1)) / (k - 1)));
  return [...out].sort((a, b) => a - b);
}

/** True when dotted-quad `addr` (an optional /len is ignored) lies in IPv4 `cidr`. */
export function inIpv4Subnet(addr: string, cidr: string): boolean {
  const a = addr.split('/')[0] ?? '';
  if (!ipaddr.IPv4.isValidFourPartDecimal(a) || !ipaddr.IPv4.isValidCIDR(cidr)) return false;
  return ipaddr.IPv4.parse(a).match(ipaddr.IPv4.parseCIDR(cidr));
}

/** pino's own fields and podwired's base fields: not part of what a summary line reports. */
const LOG_BASE_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'service', 'msg', 'reqId', 'v']);

export interface StartupLogs {
  /** The first line whose msg starts with "podwired serving", as logged (all fields). */
  serving?: Record<string, unknown>;
  /** The first later line whose msg starts with "podwired" and mentions verification, if any. */
  verification?: Record<string, unknown>;
}

/** Picks podwired's start-up summary (and a later verification summary) out of its pino records. */
export function findStartupLogs(records: Array<Record<string, unknown>>): StartupLogs {
  const msg = (r: Record<string, unknown>) => (typeof r.msg === 'string' ? r.msg : '');
  const at = records.findIndex((r) => msg(r).startsWith('podwired serving'));
  if (at < 0) return {};
  const out: StartupLogs = { serving: records[at] };
  const v = records.slice(at + 1).find((r) => /^podwired\b/.test(msg(r)) && /verif/i.test(msg(r)));
  if (v) out.verification = v;
  return out;
}

/**
 * The numeric and boolean fields of a log record, flattened ("reconcile.hostOk=1000
 * phases.snapshotMs=12.3"), pino's base fields left out. For a table note.
 */
export function flattenFields(record: Record<string, unknown>, maxFields = 24): string {
  const out: string[] = [];
  const walk = (v: unknown, key: string, depth: number) => {
    if (out.length >= maxFields) return;
    if (typeof v === 'number') out.push(`${key}=${Number.isInteger(v) ? String(v) : v.toFixed(1)}`);
    else if (typeof v === 'boolean') out.push(`${key}=${String(v)}`);
    else if (typeof v === 'string' && v.length <= 24 && depth > 0) out.push(`${key}=${v}`);
    else if (Array.isArray(v)) out.push(`${key}=[${v.length}]`);
    else if (v !== null && typeof v === 'object' && depth < 3) {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(x, key ? `${key}.${k}` : k, depth + 1);
    }
  };
  for (const [k, v] of Object.entries(record)) {
    if (LOG_BASE_FIELDS.has(k)) continue;
    walk(v, k, 0);
  }
  return out.join(' ');
}

/** The goal for a row of `pods` pods: <= 1 s at 1,000 pods, <= 3 s at 5,000 pods. */
export interface RestartTarget {
  targetPods: number;
  limitMs: number;
}

export function restartTarget(pods: number): RestartTarget {
  return pods <= 1000 ? { targetPods: 1000, limitMs: 1000 } : { targetPods: 5000, limitMs: 3000 };
}

export type RestartVerdict = 'MET' | 'MISSED' | 'FAILED';

export interface VerdictInput {
  pods: number;
  /** spawn -> first successful ADD of a new pod; undefined when none succeeded in the bound. */
  spawnToAddMs: number | undefined;
  /** The bound waited for that ADD. */
  timeoutMs: number;
  /** Correctness problems (fill, CHECK, DEL, leftovers...): any makes the row FAILED. */
  failures: string[];
}

/**
 * FAILED when anything was incorrect; otherwise MET when the first ADD came within the limit
 * at (at least) the target's pod count, MISSED when it did not (a timeout included) or the row
 * ran with fewer pods than the target is stated for.
 */
export function restartVerdict(v: VerdictInput): { verdict: RestartVerdict; met: boolean; margin: string } {
  const t = restartTarget(v.pods);
  const s = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  if (v.failures.length > 0)
    return { verdict: 'FAILED', met: false, margin: `FAILED: ${v.failures[0]}${v.failures.length > 1 ? ` (+${v.failures.length - 1} more)` : ''}` };
  if (v.spawnToAddMs === undefined) return { verdict: 'MISSED', met: false, margin: `no ADD within the ${s(v.timeoutMs)} bound` };
  const within = v.spawnToAddMs <= t.limitMs;
  const diff = within
    ? `${s(t.limitMs - v.spawnToAddMs)} under`
    : `${s(v.spawnToAddMs - t.limitMs)} over (${(v.spawnToAddMs / t.limitMs).toFixed(1)}x the limit)`;
  if (v.pods < t.targetPods) return { verdict: 'MISSED', met: false, margin: `${diff}, but at ${v.pods} pods, not ${t.targetPods.toLocaleString('en-US')}` };
  return { verdict: within ? 'MET' : 'MISSED', met: within, margin: diff };
}
