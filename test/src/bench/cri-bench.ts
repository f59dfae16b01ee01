/**
 * The CRI rows of `npm run bench` (`--only cri`, also in the full run): bridge + host-local
 * vs podwire, each behind its own private containerd 1.6 driven through CRI as kubelet
 * drives it (test/src/lib/cri): RunPodSandbox latency (sequential), Stop + Remove latency,
 * churn@8 (8 workers each looping Run → Stop → Remove), and the CNI step of each sequential
 * RunPodSandbox read from containerd's debug log (cri-log.ts; loopback included for both).
 * Measurement only: traffic none; every sandbox, netns, bridge and containerd is removed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PodwiredProcess } from '../lib/podwired-process';
import { runCommand } from '../lib/run-command';
import { ContainerdProcess, ContainerdUnavailable } from '../lib/cri/containerd-process';
import { PAUSE_IMAGE, buildPauseImage, installPodwire, linkReferencePlugins, networkReady, sandboxConfig } from '../lib/cri/cri-node';
import { cniSetupDurations } from './cri-log';
import { type Stats, fmt, renderTable, summarize } from './stats';

export interface CriBenchOptions {
  runId: string;
  /** Sequential RunPodSandbox samples per variant. */
  samples: number;
  /** Sandboxes through Run → Stop → Remove in the churn phase. */
  churnPods: number;
  concurrency: number;
  log: (msg: string) => void;
}

export interface CriVariantResult {
  label: string;
  runPodSandboxMs: Stats;
  stopRemoveMs: Stats;
  /** begin cni setup → cni result, containerd's debug log, sequential sandboxes. */
  cniStepMs: Stats;
  churn: { pods: number; concurrency: number; seconds: number; podsPerS: number; failures: number; firstError?: string };
}

export interface CriBenchResult {
  skipped?: string;
  variants: CriVariantResult[];
  /** podwire ÷ bridge+host-local. */
  ratios?: { runPodSandboxP50: number; cniStepP50: number; churnRate: number };
}

interface Variant {
  label: string;
  network: string;
  /** Sets up the CNI dirs (and podwired); returns its own cleanup. */
  prepare: (c: ContainerdProcess) => Promise<() => Promise<void>>;
}

function variants(runId: string): Variant[] {
  const bridgeName = `pwcbr${runId}`.slice(0, 15);
  const brNet = `pwcribr${runId}`;
  const pwNet = `pwcripw${runId}`;
  return [
    {
      label: 'bridge+host-local',
      network: brNet,
      prepare: async (c) => {
        linkReferencePlugins(c, ['loopback', 'bridge', 'host-local']);
        const conf = {
          cniVersion: '1.0.0',
          name: brNet,
          plugins: [
            {
              type: 'bridge',
              bridge: bridgeName,
              isGateway: true,
              ipMasq: false,
              ipam: { type: 'host-local', ranges: [[{ subnet: '10.217.0.0/16' }]], dataDir: path.join(c.dir, 'host-local') },
            },
          ],
        };
        fs.writeFileSync(path.join(c.layout.cniConfDir, '10-bridge.conflist'), JSON.stringify(conf));
        return async () => {
          if (fs.existsSync(`/sys/class/net/${bridgeName}`)) await runCommand('ip', ['link', 'del', bridgeName]);
        };
      },
    },
    {
      label: 'podwire',
      network: pwNet,
      prepare: async (c) => {
        linkReferencePlugins(c, ['loopback']);
        const server = PodwiredProcess.inTempDir(path.join(c.dir, 'podwired'));
        await server.start();
        await installPodwire(c, {
          cniVersion: '1.0.0',
          name: pwNet,
          plugins: [{ type: 'podwire', socket: server.socket, ipam: { ranges: [[{ subnet: '10.218.0.0/16' }]] } }],
        });
        return async () => {
          await server.stop();
        };
      },
    },
  ];
}

async function runVariant(v: Variant, o: CriBenchOptions): Promise<CriVariantResult> {
  const c = ContainerdProcess.create(`pwcrib${o.runId}`, { sandboxImage: PAUSE_IMAGE, networks: [v.network] });
  let undo: (() => Promise<void>) | undefined;
  try {
    await c.start();
    await c.importImage(await buildPauseImage(c.dir));
    undo = await v.prepare(c);
    await networkReady(c);
    // one warm-up sandbox (first shim start, first plugin exec), not counted
    const warm = await c.client.runPodSandbox(sandboxConfig(c, 'warm'));
    await c.client.stopPodSandbox(warm);
    await c.client.removePodSandbox(warm);

    const logStart = c.logs.length;
    const runMs: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < o.samples; i++) {
      const t = performance.now();
      ids.push(await c.client.runPodSandbox(sandboxConfig(c, `seq-${i}`)));
      runMs.push(performance.now() - t);
    }
    const cni = cniSetupDurations(c.logs.slice(logStart));
    const cniMs = ids.map((id) => cni.get(id)).filter((d): d is number => d !== undefined);
    if (cniMs.length !== ids.length) o.log(`${v.label}: CNI step found in containerd's log for ${cniMs.length} of ${ids.length} sandboxes`);
    const stopRemoveMs: number[] = [];
    for (const id of ids) {
      const t = performance.now();
      await c.client.stopPodSandbox(id);
      await c.client.removePodSandbox(id);
      stopRemoveMs.push(performance.now() - t);
    }

    let next = 0;
    let failures = 0;
    let firstError: string | undefined;
    const t0 = performance.now();
    const worker = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        if (i >= o.churnPods) return;
        try {
          const id = await c.client.runPodSandbox(sandboxConfig(c, `churn-${i}`));
          await c.client.stopPodSandbox(id);
          await c.client.removePodSandbox(id);
        } catch (e) {
          failures++;
          firstError ??= (e as Error).message;
        }
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    const seconds = (performance.now() - t0) / 1000;
    o.log(`${v.label}: ${o.samples} sequential, churn ${o.churnPods} @${o.concurrency} in ${fmt(seconds)} s`);
    return {
      label: v.label,
      runPodSandboxMs: summarize(runMs),
      stopRemoveMs: summarize(stopRemoveMs),
      cniStepMs: summarize(cniMs),
      churn: {
        pods: o.churnPods,
        concurrency: o.concurrency,
        seconds,
        podsPerS: (o.churnPods - failures) / seconds,
        failures,
        ...(firstError ? { firstError } : {}),
      },
    };
  } finally {
    const problems = await c.cleanup();
    await undo?.();
    if (problems.length > 0) o.log(`${v.label}: containerd cleanup: ${problems.join('; ')}`);
  }
}

export async function runCriBench(o: CriBenchOptions): Promise<CriBenchResult> {
  const results: CriVariantResult[] = [];
  for (const v of variants(o.runId)) {
    o.log(`CRI: ${v.label} behind containerd`);
    try {
      results.push(await runVariant(v, o));
    } catch (e) {
      if (e instanceof ContainerdUnavailable) return { skipped: e.message, variants: results };
      throw e;
    }
  }
  const [br, pw] = results;
  if (!br || !pw) return { variants: results };
  return {
    variants: results,
    ratios: {
      runPodSandboxP50: pw.runPodSandboxMs.p50 / br.runPodSandboxMs.p50,
      cniStepP50: pw.cniStepMs.p50 / br.cniStepMs.p50,
      churnRate: pw.churn.podsPerS / br.churn.podsPerS,
    },
  };
}

export function renderCri(r: CriBenchResult): string {
  if (r.skipped) return `CRI (containerd 1.6): skipped: ${r.skipped}`;
  const rows = r.variants.map((v) => [
    v.label,
    `${fmt(v.runPodSandboxMs.p50)} / ${fmt(v.runPodSandboxMs.p99)}`,
    `${fmt(v.cniStepMs.p50)} / ${fmt(v.cniStepMs.p99)}`,
    `${fmt(v.stopRemoveMs.p50)}`,
    `${fmt(v.churn.podsPerS)}${v.churn.failures ? ` (${v.churn.failures} failed)` : ''}`,
  ]);
  const lines = [
    `CRI: containerd 1.6 RunPodSandbox (pause image, runc), ${r.variants[0]?.runPodSandboxMs.n ?? 0} sequential sandboxes and churn ${r.variants[0]?.churn.pods ?? 0} @${r.variants[0]?.churn.concurrency ?? 0} per plugin`,
    renderTable(['plugin (through CRI)', 'RunPodSandbox p50 / p99 ms', 'CNI step p50 / p99 ms', 'Stop+Remove p50 ms', 'churn@8 sandboxes/s'], rows),
    'CNI step: containerd debug log, "begin cni setup" → "cni result" (loopback + the conflist).',
  ];
  if (r.ratios) {
    lines.push(
      `podwire ÷ bridge+host-local: RunPodSandbox p50 ${fmt(r.ratios.runPodSandboxP50)}, CNI step p50 ${fmt(r.ratios.cniStepP50)}, churn@8 rate ${fmt(r.ratios.churnRate)}`,
    );
  }
  return lines.join('\n');
}
