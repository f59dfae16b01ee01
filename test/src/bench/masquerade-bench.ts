/**
 * podwire's plain ADD and churn with egress masquerade on and off (issue 20: the rows must not
 * regress with masquerade on). Two podwired, each in a "node" netns of this run's own
 * (pwb-<run id>-mq0: `masquerade.enabled: false`, -mq1: on), both with the same node pod CIDR;
 * the shim is executed from here with the bench's executor, pods in fresh netns
 * (pwb-<run id>-mqp-*). Per round: sequential ADD of N pods then DEL of them, pod by pod on
 * each server in turn (so both see the same moment's load), then churn @8 (each worker ADDs
 * then DELs its pod) in four chunks, the configurations alternating chunk by chunk. Measurement only: no packet is sent.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SHIM_BINARY } from '../lib/paths';
import { PodwiredProcess } from '../lib/podwired-process';
import { mustRun, runCommand } from '../lib/run-command';
import { type CniCallOutcome, CniDriver, NetnsPool, type PodRef, type TwoServerGroupOptions, churnAt8, podwirePlugin, requireOk } from './cni-driver';
import { median } from './run-summary';
import { fmt, renderTable, summarize } from './stats';

export interface MasqueradeSide {
  masquerade: boolean;
  /** The node netns's ruleset held the egress masquerade rule (checked after start). */
  masqueradeRuleSeen: boolean;
  /** Median over rounds of each round's sequential ADD / DEL p50 (ms). */
  seqAddP50: number;
  seqDelP50: number;
  /** Median over rounds of churn @8 per-verb rates (ok calls / (sum of latencies / 8)) and full cycles per second of wall time. */
  churnAddPerSecond: number;
  churnDelPerSecond: number;
  churnCyclesPerSecond: number;
  rounds: Array<{ seqAddP50: number; seqDelP50: number; churnAddPerSecond: number; churnDelPerSecond: number; churnCyclesPerSecond: number }>;
}

export interface MasqueradeBenchResult {
  seqPods: number;
  churnPods: number;
  rounds: number;
  off: MasqueradeSide;
  on: MasqueradeSide;
  /** on ÷ off, paired by round, median over rounds: > 1 for the latency means slower with masquerade, < 1 for the rates means slower. */
  ratios: { seqAddP50: number; seqDelP50: number; churnAddPerSecond: number; churnDelPerSecond: number };
}

const div = (a: number, b: number) => (Number.isFinite(a) && b > 0 ? a / b : NaN);

/**
 * on ÷ off per round (a round runs both configurations back to back, so a load change on the
 * shared machine between rounds cancels out), then the median over the rounds.
 */
export function masqueradeRatios(off: MasqueradeSide, on: MasqueradeSide): MasqueradeBenchResult['ratios'] {
  const paired = (k: keyof MasqueradeSide['rounds'][number]) => {
    const n = Math.min(off.rounds.length, on.rounds.length);
    const per = Array.from({ length: n }, (_, i) => div(on.rounds[i]?.[k] ?? NaN, off.rounds[i]?.[k] ?? NaN)).filter((x) => Number.isFinite(x));
    return median(per) ?? NaN;
  };
  return {
    seqAddP50: paired('seqAddP50'),
    seqDelP50: paired('seqDelP50'),
    churnAddPerSecond: paired('churnAddPerSecond'),
    churnDelPerSecond: paired('churnDelPerSecond'),
  };
}

/** Folds the rounds of one configuration into its medians. */
export function masqueradeSide(masquerade: boolean, masqueradeRuleSeen: boolean, rounds: MasqueradeSide['rounds']): MasqueradeSide {
  const m = (k: keyof MasqueradeSide['rounds'][number]) => median(rounds.map((r) => r[k])) ?? NaN;
  return {
    masquerade,
    masqueradeRuleSeen,
    seqAddP50: m('seqAddP50'),
    seqDelP50: m('seqDelP50'),
    churnAddPerSecond: m('churnAddPerSecond'),
    churnDelPerSecond: m('churnDelPerSecond'),
    churnCyclesPerSecond: m('churnCyclesPerSecond'),
    rounds,
  };
}

export function renderMasquerade(r: MasqueradeBenchResult): string {
  const row = (label: string, off: number, on: number, ratio: number, better: 'lower' | 'higher') => [
    label,
    fmt(off),
    fmt(on),
    `${fmt(ratio)}×`,
    better === 'lower' ? (ratio <= 1.1 ? 'no regression' : 'slower with masquerade') : ratio >= 1 / 1.1 ? 'no regression' : 'slower with masquerade',
  ];
  const rows = [
    row(`sequential ADD p50 ms (${r.seqPods} pods)`, r.off.seqAddP50, r.on.seqAddP50, r.ratios.seqAddP50, 'lower'),
    row('sequential DEL p50 ms', r.off.seqDelP50, r.on.seqDelP50, r.ratios.seqDelP50, 'lower'),
    row(`churn@8 ADD pods/s (${r.churnPods} pods)`, r.off.churnAddPerSecond, r.on.churnAddPerSecond, r.ratios.churnAddPerSecond, 'higher'),
    row('churn@8 DEL pods/s', r.off.churnDelPerSecond, r.on.churnDelPerSecond, r.ratios.churnDelPerSecond, 'higher'),
  ];
  const seen = `masquerade rule in the ruleset: off ${r.off.masqueradeRuleSeen ? 'yes (unexpected)' : 'no'}, on ${r.on.masqueradeRuleSeen ? 'yes' : 'NO (unexpected)'}`;
  return `podwire with egress masquerade off vs on (two podwired in private node netns, ${r.rounds} round(s) interleaved: figures are medians of rounds, on ÷ off the median of each round's ratio; within 10% counts as no regression)\n${renderTable(
    ['row', 'masquerade off', 'masquerade on', 'on ÷ off', 'verdict'],
    rows,
  )}\n${seen}`;
}

export function masqueradeNetnsPrefix(runId: string): string {
  return `pwb-${runId}-mq`;
}

/** The egress masquerade rule (fully random ports; the hostPort hairpin rules masquerade without). */
async function rulesetHasMasquerade(ns: string): Promise<boolean> {
  const r = await runCommand('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'ruleset']);
  return r.code === 0 && /"masquerade":\s*\{[^}]*fully-random/.test(r.stdout);
}

function must(o: CniCallOutcome, what: string): CniCallOutcome {
  return requireOk(o, `masquerade bench ${what}`);
}

type RoundFigures = MasqueradeSide['rounds'][number];

/** The churn pods of a round run in this many chunks, alternating between the configurations. */
const CHURN_CHUNKS = 4;

/**
 * One round for both configurations. Sequential: pod by pod, an ADD on each server in turn
 * (which goes first alternates), then the DELs the same way, so both see the same moment's
 * load. Churn @8: in chunks, the configurations alternating chunk by chunk.
 */
async function oneRound(
  drivers: readonly CniDriver[],
  pods: readonly PodRef[][],
  seqPods: number,
  churnPods: number,
  order: readonly number[],
): Promise<RoundFigures[]> {
  const adds: CniCallOutcome[][] = drivers.map(() => []);
  const dels: CniCallOutcome[][] = drivers.map(() => []);
  for (let k = 0; k < seqPods; k++) {
    for (const i of k % 2 === 0 ? order : [...order].reverse()) {
      const p = pods[i]?.[k] as PodRef;
      adds[i]?.push(must(await (drivers[i] as CniDriver).add(p), 'sequential ADD'));
    }
  }
  for (let k = 0; k < seqPods; k++) {
    for (const i of k % 2 === 0 ? order : [...order].reverse()) {
      const p = pods[i]?.[k] as PodRef;
      dels[i]?.push(must(await (drivers[i] as CniDriver).del(p, adds[i]?.[k]?.json), 'sequential DEL'));
    }
  }
  // Churn in chunks, the configurations alternating chunk by chunk (the first one alternating too).
  const churn: Array<{ add: number[]; del: number[]; wall: number }> = drivers.map(() => ({ add: [], del: [], wall: 0 }));
  const chunk = Math.max(8, Math.ceil(churnPods / CHURN_CHUNKS));
  for (let from = 0, j = 0; from < churnPods; from += chunk, j++) {
    for (const i of j % 2 === 0 ? order : [...order].reverse()) {
      const d = drivers[i] as CniDriver;
      const list = (pods[i] ?? []).slice(seqPods + from, seqPods + Math.min(churnPods, from + chunk));
      const c = churn[i] as { add: number[]; del: number[]; wall: number };
      const t0 = performance.now();
      await churnAt8(d, list, c, 'masquerade bench');
      c.wall += performance.now() - t0;
    }
  }
  const rate = (xs: number[]) => (xs.length * 1000 * 8) / xs.reduce((sum, x) => sum + x, 0);
  // Leave out the first calls (page cache, JIT) as the hostPort rows do.
  const warm = Math.min(5, Math.floor(seqPods / 10));
  return drivers.map((_, i) => ({
    seqAddP50: summarize((adds[i] ?? []).slice(warm).map((o) => o.elapsedMs)).p50,
    seqDelP50: summarize((dels[i] ?? []).slice(warm).map((o) => o.elapsedMs)).p50,
    churnAddPerSecond: rate(churn[i]?.add ?? []),
    churnDelPerSecond: rate(churn[i]?.del ?? []),
    churnCyclesPerSecond: (churnPods * 1000) / (churn[i]?.wall ?? NaN),
  }));
}

export async function runMasqueradeBench(o: TwoServerGroupOptions): Promise<MasqueradeBenchResult> {
  const prefix = masqueradeNetnsPrefix(o.runId);
  const podPool = new NetnsPool(`${prefix}p`);
  const root = fs.mkdtempSync(path.join(o.workDir, 'masquerade-'));
  const servers: PodwiredProcess[] = [];
  try {
    const perPass = o.seqPods + o.churnPods;
    await podPool.ensure(perPass * 2 * o.rounds);
    const seen: boolean[] = [];
    for (const [i, on] of [false, true].entries()) {
      const ns = `${prefix}${i}`;
      await mustRun('ip', ['netns', 'add', ns]);
      await mustRun('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      const s = PodwiredProcess.inTempDir(path.join(root, `node${i}`), {
        netns: ns,
        config: { node: { name: `bench-mq${i}`, podCIDRs: ['10.252.0.0/16'] }, masquerade: { enabled: on } },
      });
      fs.mkdirSync(path.join(root, `node${i}`), { recursive: true });
      await s.start();
      if (s.pid !== undefined) fs.writeFileSync(path.join(o.workDir, `podwired-masquerade${i}.pid`), String(s.pid));
      servers.push(s);
      seen.push(await rulesetHasMasquerade(ns));
    }
    const rounds: RoundFigures[][] = [[], []];
    const drivers = servers.map((server) => new CniDriver(podwirePlugin(SHIM_BINARY, server.socket), o.exec));
    let base = 0;
    for (let r = 0; r < o.rounds; r++) {
      const pods = [0, 1].map((i) =>
        Array.from({ length: perPass }, (_, k): PodRef => {
          const name = `mq${i}-r${r}-${k}`;
          return { containerId: name, netnsPath: podPool.path(base + i * perPass + k), ifname: 'eth0', podName: name };
        }),
      );
      base += 2 * perPass;
      const got = await oneRound(drivers, pods, o.seqPods, o.churnPods, r % 2 === 0 ? [0, 1] : [1, 0]);
      for (const [i, g] of got.entries()) {
        rounds[i]?.push(g);
        o.log(
          `round ${r + 1}/${o.rounds} masquerade ${i === 1 ? 'on' : 'off'}: seq ADD p50 ${fmt(g.seqAddP50)} ms, churn@8 ADD ${fmt(g.churnAddPerSecond)}/s DEL ${fmt(g.churnDelPerSecond)}/s`,
        );
      }
    }
    const off = masqueradeSide(false, seen[0] ?? false, rounds[0] ?? []);
    const on = masqueradeSide(true, seen[1] ?? false, rounds[1] ?? []);
    const result: MasqueradeBenchResult = { seqPods: o.seqPods, churnPods: o.churnPods, rounds: o.rounds, off, on, ratios: masqueradeRatios(off, on) };
    process.stdout.write(`\n${renderMasquerade(result)}\n`);
    return result;
  } finally {
    for (const s of servers) await s.stop();
    await podPool.cleanup();
    for (const i of [0, 1]) await runCommand('ip', ['netns', 'del', `${prefix}${i}`]);
    fs.rmSync(root, { recursive: true, force: true });
  }
}
