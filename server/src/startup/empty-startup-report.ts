import type { StartupReport } from './startup-report';

/**
 * A start-up report with nothing counted yet and the verification still pending: what
 * podwired shows until the real report of its start-up is wired in.
 */
export function emptyStartupReport(): StartupReport {
  return {
    reconcile: { rolledBack: 0, orphanLinks: 0, orphanRoutes: 0, hostOk: 0, hostDegraded: 0, failed: 0 },
    phases: { storeMs: 0, snapshotMs: 0, reconcileMs: 0, toServingMs: 0 },
    verification: { state: 'pending', total: 0, verified: 0, failed: 0, netnsGone: 0, problems: [], durationMs: 0 },
  };
}
