import * as fs from 'node:fs';
import type { Logger } from 'pino';
import type { IpamStore } from '@podwire/ipam-store';
import type { Datapath } from '../datapath/datapath';
import type { KeyedMutex } from '../keyed-mutex';
import { lockName } from '../handlers/handler-deps';
import { podAddresses } from '../handlers/add';
import type { ReadyAttachment } from './reconcile';
import type { VerificationReport } from './startup-report';

/** Pods verified at once: enough to overlap their netns entries, few enough not to crowd out CNI calls. */
export const VERIFY_CONCURRENCY = 4;
const MAX_PROBLEMS = 100;

export function pendingVerification(total: number): VerificationReport {
  return { state: 'pending', total, verified: 0, failed: 0, netnsGone: 0, problems: [], durationMs: 0 };
}

/**
 * Verifies ready pods inside their own netns after podwired has started serving (the
 * start-up reconcile only matched their host side): each under its attachment's lock, so it
 * never races an ADD or DEL of the same key, and skipped when a DEL removed it meanwhile (or a
 * DEL and a new ADD replaced it)
 * (then total exceeds verified + failed + netnsGone; so it does when shutdown aborts the
 * verification). Findings go to the log and to `report`, which Debug.ServerInfo and the
 * metrics read; nothing is changed: CHECK reports a broken
 * pod to its runtime, DEL or GC clears it.
 */
/** What verifyPods() works with and where it reports. */
export interface VerifyPodsOptions {
  store: IpamStore;
  datapath: Datapath;
  locks: KeyedMutex;
  log: Logger;
  /** Filled in as pods are verified (Debug.ServerInfo and the metrics read it meanwhile). */
  report: VerificationReport;
  /** Pods verified at once (default VERIFY_CONCURRENCY). */
  concurrency?: number;
  /** Aborted at shutdown: no pod is started after it (the ones in progress finish). */
  signal?: AbortSignal;
}

export async function verifyPods(ready: readonly ReadyAttachment[], opts: VerifyPodsOptions): Promise<VerificationReport> {
  const { store, datapath, locks, log, report, concurrency = VERIFY_CONCURRENCY, signal } = opts;
  const started = performance.now();
  report.state = 'running';
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      if (signal?.aborted) return;
      const item = ready[next++];
      if (!item) return;
      const { attachment: att } = item;
      const key = { network: att.network, containerId: att.containerId, ifname: att.ifname };
      await locks.run(lockName(key), async () => {
        const now = store.get(key);
        // Gone, or replaced by a later ADD of the same key (a DEL and an ADD in between): not
        // the attachment reconcile saw; that ADD verified its own wiring.
        if (now?.attachment.state !== 'ready' || now.attachment.createdAt !== att.createdAt || now.attachment.netns !== att.netns) return;
        const spec = { ...item.spec, netnsPath: now.attachment.netns, addresses: podAddresses(now.leases) };
        if (!fs.existsSync(spec.netnsPath)) {
          report.netnsGone++;
          log.warn({ ...key, netns: spec.netnsPath }, 'verify: pod netns is gone; the lease is kept until DEL or GC');
          return;
        }
        let problems: string[];
        try {
          problems = await datapath.podProblems(spec);
        } catch (err) {
          problems = [`cannot read the pod netns: ${err instanceof Error ? err.message : String(err)}`];
        }
        if (problems.length === 0) {
          report.verified++;
          return;
        }
        report.failed++;
        if (report.problems.length < MAX_PROBLEMS) report.problems.push({ ...key, problem: problems.join('; ') });
        log.warn({ ...key, problems }, 'verify: pod is not as ADD left it; CHECK will report it');
      });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, () => worker()));
  report.durationMs = performance.now() - started;
  report.state = 'done';
  return report;
}
