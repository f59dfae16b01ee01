/**
 * What podwired did when it started: the reconcile from one host snapshot (before serving)
 * and the verification of ready pods inside their own netns (after serving has started).
 * Logged once at the end of start-up, shown by Debug.ServerInfo, counted in metrics.
 */

/** Counts of the reconcile that runs before ADD/DEL/CHECK are served. */
export interface ReconcileCounts {
  /** `pending` attachments (an ADD cut short by a crash) rolled back: veth, routes, lease. */
  rolledBack: number;
  /** Host veths carrying this server's owner tag that no attachment accounts for, removed. */
  orphanLinks: number;
  /** Proto-199 host routes to addresses no ready attachment holds on that veth, removed. */
  orphanRoutes: number;
  /** Ready attachments whose host side matched the snapshot (veth up, gateway address, routes). */
  hostOk: number;
  /** Ready attachments whose host side did not match (kept: CHECK reports, DEL/GC clears). */
  hostDegraded: number;
  /** Items reconcile could not fix (each logged with its reason). */
  failed: number;
}

/** Time spent per start-up phase, in milliseconds. */
export interface StartupPhases {
  /** Opening the lease store (SQLite). */
  storeMs: number;
  /** The one dump per table of the host netns. */
  snapshotMs: number;
  /** Rolling back, pruning and matching from the snapshot. */
  reconcileMs: number;
  /** From the process start (Node's own clock origin) to serving. */
  toServingMs: number;
}

export type VerificationState = 'pending' | 'running' | 'done';

/** One ready pod that did not verify inside its netns. */
export interface VerificationProblem {
  network: string;
  containerId: string;
  ifname: string;
  /** What is wrong, as CHECK would say it (or "netns ... is gone"). */
  problem: string;
}

/** The verification of ready pods inside their own netns, after serving has started. */
export interface VerificationReport {
  state: VerificationState;
  /** Ready attachments to verify. */
  total: number;
  /** Verified as ADD left them. */
  verified: number;
  /** Not as ADD left them (see problems). */
  failed: number;
  /** Their netns no longer exists (the runtime's DEL or GC will clear them). */
  netnsGone: number;
  /** At most the first 100 problems. */
  problems: VerificationProblem[];
  /** Milliseconds the verification took (0 until done). */
  durationMs: number;
}

export interface StartupReport {
  reconcile: ReconcileCounts;
  phases: StartupPhases;
  verification: VerificationReport;
}
