/** The full bench's main tables and its targets (issue 13's), from the configurations' results. */
import type { Options } from './bench-options';
import type { ConfigResult, PhaseResult } from './cni-workloads';
import type { KernelFloorResult } from './kernel-floor';
import { type RestartRowResult, renderRestart, restartTargets } from './restart-bench';
import type { ShimResult } from './shim-bench';
import { type Stats, fmt, renderTable } from './stats';

export interface Target {
  target: string;
  measured: string;
  met: boolean;
  margin: string;
}

export function ratio(a: number | undefined, b: number | undefined): number {
  return a !== undefined && b !== undefined && b > 0 ? a / b : NaN;
}

export function buildReport(
  configs: ConfigResult[],
  shim: ShimResult | undefined,
  floor: KernelFloorResult | undefined,
  o: Options,
  restart: RestartRowResult[] = [],
) {
  const [br, ptp, pw] = configs;
  const lines: string[] = [];
  if (!br || !ptp || !pw) return { text: '(missing configurations)', ratios: {}, targets: [] as Target[] };

  const ms = (s: Stats | undefined) => (s ? `${fmt(s.p50)} / ${fmt(s.p99)}` : '-');
  const c8 = (c: ConfigResult) => c.churn.find((x) => x.concurrency === 8);
  const c32 = (c: ConfigResult) => c.churn.find((x) => x.concurrency === 32);
  type Row = { name: string; get: (c: ConfigResult) => number | undefined; show?: (c: ConfigResult) => string; better: 'lower' | 'higher' };
  const rowsDef: Row[] = [
    { name: `seq ADD p50 / p99 ms (${o.pods} pods)`, get: (c) => c.sequential.add.latency.p50, show: (c) => ms(c.sequential.add.latency), better: 'lower' },
    { name: 'seq ADD pods/s', get: (c) => c.sequential.add.perSecond, better: 'higher' },
    { name: 'seq CHECK p50 / p99 ms', get: (c) => c.sequential.check.latency.p50, show: (c) => ms(c.sequential.check.latency), better: 'lower' },
    { name: 'seq DEL p50 / p99 ms', get: (c) => c.sequential.del.latency.p50, show: (c) => ms(c.sequential.del.latency), better: 'lower' },
    { name: 'seq DEL pods/s', get: (c) => c.sequential.del.perSecond, better: 'higher' },
    { name: `churn@8 ADD p50 / p99 ms (${o.churnPods} pods)`, get: (c) => c8(c)?.add.latency.p50, show: (c) => ms(c8(c)?.add.latency), better: 'lower' },
    { name: 'churn@8 DEL p50 / p99 ms', get: (c) => c8(c)?.del.latency.p50, show: (c) => ms(c8(c)?.del.latency), better: 'lower' },
    { name: 'churn@8 ADD pods/s', get: (c) => c8(c)?.addPerSecond, better: 'higher' },
    { name: 'churn@8 DEL pods/s', get: (c) => c8(c)?.delPerSecond, better: 'higher' },
    { name: 'churn@8 ADD+DEL cycles/s (wall)', get: (c) => c8(c)?.cyclesPerSecond, better: 'higher' },
    { name: 'churn@32 ADD p50 / p99 ms', get: (c) => c32(c)?.add.latency.p50, show: (c) => ms(c32(c)?.add.latency), better: 'lower' },
    { name: 'churn@32 DEL p50 / p99 ms', get: (c) => c32(c)?.del.latency.p50, show: (c) => ms(c32(c)?.del.latency), better: 'lower' },
    { name: 'churn@32 ADD pods/s', get: (c) => c32(c)?.addPerSecond, better: 'higher' },
    { name: 'churn@32 DEL pods/s', get: (c) => c32(c)?.delPerSecond, better: 'higher' },
    { name: 'churn@32 ADD+DEL cycles/s (wall)', get: (c) => c32(c)?.cyclesPerSecond, better: 'higher' },
    { name: 'ADD p50 / p99 ms, 0 pods present', get: (c) => c.latency.addAt0.latency.p50, show: (c) => ms(c.latency.addAt0.latency), better: 'lower' },
    {
      name: 'ADD p50 / p99 ms, N pods present',
      get: (c) => c.latency.addAtFill.latency.p50,
      show: (c) => `${ms(c.latency.addAtFill.latency)} (N=${c.latency.filled})`,
      better: 'lower',
    },
    { name: 'ADD p50 ratio N / 0 pods', get: (c) => ratio(c.latency.addAtFill.latency.p50, c.latency.addAt0.latency.p50), better: 'lower' },
    { name: 'fill pods/s (ADD @8)', get: (c) => c.latency.fill.perSecond, better: 'higher' },
    { name: 'drain pods/s (DEL @8, N present)', get: (c) => c.latency.drain.perSecond, better: 'higher' },
    { name: 'plugin process CPU ms per ADD (seq p50)', get: (c) => c.sequential.add.pluginCpu?.p50, better: 'lower' },
  ];
  const speedup = (r: Row, ref: ConfigResult) => {
    const a = r.get(pw);
    const b = r.get(ref);
    if (r.name.startsWith('ADD p50 ratio')) return '';
    const x = r.better === 'lower' ? ratio(b, a) : ratio(a, b);
    return Number.isFinite(x) ? `${fmt(x)}x` : '-';
  };
  lines.push(
    renderTable(
      ['workload', br.label, ptp.label, pw.label, 'podwire vs bridge', 'podwire vs ptp'],
      rowsDef.map((r) => [r.name, ...[br, ptp, pw].map((c) => (r.show ? r.show(c) : fmt(r.get(c)))), speedup(r, br), speedup(r, ptp)]),
    ),
  );
  lines.push('');
  lines.push('Ratios: latency rows = reference / podwire; throughput rows = podwire / reference (>1x means podwire is better).');
  lines.push('Per-verb churn pods/s = ok calls / (sum of their latencies / concurrency) (what the workers would sustain doing only that verb).');

  // podwire server side
  const pwRows: string[][] = [];
  const srv = (name: string, p: PhaseResult) =>
    pwRows.push([
      name,
      ms(p.latency),
      ms(p.serverDuration),
      p.serverDuration ? fmt(p.latency.p50 - p.serverDuration.p50) : '-',
      fmt(p.pluginCpu?.p50),
      fmt(p.serverCpuMsPerCall),
    ]);
  srv('seq ADD', pw.sequential.add);
  srv('seq CHECK', pw.sequential.check);
  srv('seq DEL', pw.sequential.del);
  for (const c of pw.churn) {
    pwRows.push([
      `churn@${c.concurrency} ADD`,
      ms(c.add.latency),
      ms(c.add.serverDuration),
      c.add.serverDuration ? fmt(c.add.latency.p50 - c.add.serverDuration.p50) : '-',
      fmt(c.add.pluginCpu?.p50),
      '',
    ]);
    pwRows.push([
      `churn@${c.concurrency} DEL`,
      ms(c.del.latency),
      ms(c.del.serverDuration),
      c.del.serverDuration ? fmt(c.del.latency.p50 - c.del.serverDuration.p50) : '-',
      fmt(c.del.pluginCpu?.p50),
      `${fmt(c.serverCpuMsPerPod)} per ADD+DEL`,
    ]);
  }
  srv('ADD, 0 pods present', pw.latency.addAt0);
  srv(`ADD, ${pw.latency.filled} pods present`, pw.latency.addAtFill);
  srv(`fill ADD @8`, pw.latency.fill);
  srv(`drain DEL @8`, pw.latency.drain);
  lines.push('');
  lines.push('podwire: caller-side latency vs podwired durationMs (from its log), shim CPU, server CPU');
  lines.push(renderTable(['phase', 'caller p50 / p99 ms', 'server p50 / p99 ms', 'outside server p50 ms', 'shim CPU ms p50', 'server CPU ms/call'], pwRows));
  lines.push(
    `podwired RSS: ${fmt(pw.sequential.serverRssMbAfterAdd)} MB after ${o.pods} sequential ADDs; ${fmt(pw.latency.serverRssMbAtFill)} MB with ${pw.latency.filled} pods; peak (VmHWM) ${fmt(pw.latency.serverHwmMb)} MB`,
  );

  if (shim) {
    lines.push('');
    lines.push(`shim alone (${shim.runs} runs, timed by ${shim.executor}; p50 / p99 ms)`);
    lines.push(
      renderTable(
        ['what', 'p50 / p99 ms'],
        [
          ['static no-op binary (exec floor)', ms(shim.staticNoop)],
          ['static no-op CPU (user+sys)', ms(shim.staticNoopCpu)],
          ['shim VERSION (no server)', ms(shim.version)],
          ['shim VERSION CPU (user+sys)', ms(shim.versionCpu)],
          ['bridge VERSION (Go binary)', ms(shim.bridgeVersion)],
          ['shim STATUS round trip', ms(shim.status)],
          ['  of which podwired STATUS durationMs', ms(shim.statusServer)],
          ['shim VERSION via Node spawn', ms(shim.versionNodeSpawn)],
          ['static no-op via Node spawn', ms(shim.nodeSpawnStaticNoop)],
        ],
      ),
    );
    if (shim.failures.length) lines.push(`shim failures: ${shim.failures.join('; ')}`);
  }

  if (floor) {
    lines.push('');
    lines.push(`kernel floor: podwire's ADD netlink operations for ${floor.pods} pods via iproute2`);
    lines.push('(one `ip -batch` for all host-side lines; `ip -batch` has no per-line -n, so one `ip -n NS -batch` per pod for pod-side lines)');
    lines.push(
      renderTable(
        ['what', 'ms'],
        [
          [`host batch, all ${floor.pods} pods (link add up in a group + alias + gateway address + route)`, fmt(floor.hostBatchMs)],
          ['pod batch per pod p50 / p99 (addr, up, neigh, default route onlink)', ms(floor.podBatch)],
          ['empty `ip -n NS -batch` per pod p50 / p99 (exec + setns)', ms(floor.emptyPodBatch)],
          ['ADD per pod, all processes included', fmt(floor.addPerPodMs)],
          ['ADD per pod, kernel work only (estimate)', fmt(floor.addKernelPerPodMs)],
          [`DEL: one batch of ${floor.pods} link del`, fmt(floor.delBatchMs)],
          ['DEL per pod', fmt(floor.delPerPodMs)],
        ],
      ),
    );
    if (floor.failures.length) lines.push(`floor failures: ${floor.failures.slice(0, 3).join('; ')}`);
  }

  // Failures in any phase
  const failures: string[] = [];
  for (const c of configs) {
    const phases: PhaseResult[] = [
      c.sequential.add,
      c.sequential.check,
      c.sequential.del,
      ...c.churn.flatMap((x) => [x.add, x.del]),
      c.latency.addAt0,
      c.latency.fill,
      c.latency.addAtFill,
      c.latency.drain,
    ];
    for (const p of phases) if (p.failed > 0) failures.push(`${c.label} ${p.tag} ${p.verb}: ${p.failed}/${p.attempted} failed, first: ${p.firstError ?? '?'}`);
  }
  lines.push('');
  lines.push(failures.length ? `FAILED CALLS:\n  ${failures.join('\n  ')}` : 'failed calls: none');

  // Targets
  const targets: Target[] = [];
  // Issue 13's targets (ratios to the references measured in this same run).
  for (const ref of [br, ptp]) {
    const add = ratio(ref.sequential.add.latency.p50, pw.sequential.add.latency.p50);
    targets.push({
      target: `sequential ADD p50 >= 4x faster than ${ref.label}`,
      measured: `${fmt(add)}x (${fmt(ref.sequential.add.latency.p50)} / ${fmt(pw.sequential.add.latency.p50)} ms)`,
      met: add >= 4,
      margin: `${fmt((add / 4) * 100, 0)}% of target`,
    });
    const del = ratio(ref.sequential.del.latency.p50, pw.sequential.del.latency.p50);
    targets.push({
      target: `sequential DEL p50 >= 10x faster than ${ref.label}`,
      measured: `${fmt(del)}x (${fmt(ref.sequential.del.latency.p50)} / ${fmt(pw.sequential.del.latency.p50)} ms)`,
      met: del >= 10,
      margin: `${fmt((del / 10) * 100, 0)}% of target`,
    });
    const a = ratio(c8(pw)?.addPerSecond, c8(ref)?.addPerSecond);
    targets.push({
      target: `churn@8 ADD pods/s >= 2x ${ref.label}`,
      measured: `${fmt(a)}x (${fmt(c8(pw)?.addPerSecond)} vs ${fmt(c8(ref)?.addPerSecond)} pods/s)`,
      met: a >= 2,
      margin: `${fmt((a / 2) * 100, 0)}% of target`,
    });
    const dl = ratio(c8(pw)?.delPerSecond, c8(ref)?.delPerSecond);
    targets.push({
      target: `churn@8 DEL pods/s >= 4x ${ref.label}`,
      measured: `${fmt(dl)}x (${fmt(c8(pw)?.delPerSecond)} vs ${fmt(c8(ref)?.delPerSecond)} pods/s)`,
      met: dl >= 4,
      margin: `${fmt((dl / 4) * 100, 0)}% of target`,
    });
  }
  const scale = ratio(pw.latency.addAtFill.latency.p50, pw.latency.addAt0.latency.p50);
  targets.push({
    target: `podwire ADD p50 with 1,000 pods within 1.5x of with 0${pw.latency.filled < 1000 ? ` (measured with ${pw.latency.filled} pods)` : ''}`,
    measured: `${fmt(scale)}x (${fmt(pw.latency.addAtFill.latency.p50)} vs ${fmt(pw.latency.addAt0.latency.p50)} ms)`,
    met: scale <= 1.5 && pw.latency.filled >= 1000,
    margin: pw.latency.filled >= 1000 ? `limit 1.5x` : `not at 1,000 pods`,
  });
  if (shim) {
    targets.push({
      target: 'shim VERSION < 1 ms (p50, posix_spawn to reap)',
      measured: `${fmt(shim.version.p50)} ms (p99 ${fmt(shim.version.p99)}; static no-op floor here ${fmt(shim.staticNoop.p50)} ms)`,
      met: shim.version.p50 < 1,
      margin: shim.version.p50 < 1 ? `${fmt(1 - shim.version.p50)} ms under` : `${fmt(shim.version.p50 - 1)} ms over`,
    });
  }
  const rss = pw.latency.serverRssMbAtFill;
  targets.push({
    target: `podwired RSS < 150 MB with 1,000 pods${pw.latency.filled < 1000 ? ` (measured with ${pw.latency.filled})` : ''}`,
    measured: `${fmt(rss)} MB (peak ${fmt(pw.latency.serverHwmMb)} MB)`,
    met: rss !== undefined && rss < 150 && pw.latency.filled >= 1000,
    margin: rss !== undefined ? `${fmt(150 - rss)} MB headroom` : '-',
  });
  if (restart.length) {
    lines.push('');
    lines.push(renderRestart(restart));
    targets.push(...restartTargets(restart));
  }
  lines.push('');
  lines.push('targets');
  lines.push(
    renderTable(
      ['target', 'measured', 'result', 'margin'],
      targets.map((t) => [t.target, t.measured, t.met ? 'MET' : 'MISSED', t.margin]),
    ),
  );

  const ratios = {
    seqAddP50VsBridge: ratio(br.sequential.add.latency.p50, pw.sequential.add.latency.p50),
    seqAddP50VsPtp: ratio(ptp.sequential.add.latency.p50, pw.sequential.add.latency.p50),
    churn8AddPerSecondVsBridge: ratio(c8(pw)?.addPerSecond, c8(br)?.addPerSecond),
    churn8AddPerSecondVsPtp: ratio(c8(pw)?.addPerSecond, c8(ptp)?.addPerSecond),
    churn8DelPerSecondVsBridge: ratio(c8(pw)?.delPerSecond, c8(br)?.delPerSecond),
    churn8DelPerSecondVsPtp: ratio(c8(pw)?.delPerSecond, c8(ptp)?.delPerSecond),
    churn32AddPerSecondVsBridge: ratio(c32(pw)?.addPerSecond, c32(br)?.addPerSecond),
    churn32DelPerSecondVsBridge: ratio(c32(pw)?.delPerSecond, c32(br)?.delPerSecond),
    seqDelP50VsBridge: ratio(br.sequential.del.latency.p50, pw.sequential.del.latency.p50),
    podwireAddP50FillOverZero: scale,
  };
  return { text: lines.join('\n'), ratios, targets };
}
