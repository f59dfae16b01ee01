import { Gauge, type Registry } from 'prom-client';
import type { StartupReport } from '../startup/startup-report';

/**
 * What podwired's last start did, read from the start-up report at scrape time: the
 * reconcile's counts per action, the time of each start-up phase, and the verification of
 * ready pods inside their netns (per outcome, and whether it is still running).
 */
export function registerStartupGauges(registry: Registry, startup: () => StartupReport): void {
  new Gauge({
    name: 'podwire_startup_reconcile_items',
    help: 'What the start-up reconcile found and did, per action (rolled_back, orphan_links, orphan_routes, host_ok, host_degraded, failed).',
    labelNames: ['action'],
    registers: [registry],
    collect() {
      const r = startup().reconcile;
      const rows: Array<[string, number]> = [
        ['rolled_back', r.rolledBack],
        ['orphan_links', r.orphanLinks],
        ['orphan_routes', r.orphanRoutes],
        ['host_ok', r.hostOk],
        ['host_degraded', r.hostDegraded],
        ['failed', r.failed],
      ];
      for (const [action, n] of rows) this.set({ action }, n);
    },
  });
  new Gauge({
    name: 'podwire_startup_phase_seconds',
    help: 'Duration of each start-up phase (store, snapshot, reconcile) and the time from process start to serving (to_serving).',
    labelNames: ['phase'],
    registers: [registry],
    collect() {
      const p = startup().phases;
      const rows: Array<[string, number]> = [
        ['store', p.storeMs],
        ['snapshot', p.snapshotMs],
        ['reconcile', p.reconcileMs],
        ['to_serving', p.toServingMs],
      ];
      for (const [phase, ms] of rows) this.set({ phase }, ms / 1000);
    },
  });
  new Gauge({
    name: 'podwire_startup_verification_pods',
    help: 'Ready pods checked inside their netns after serving started, per outcome (verified, failed, netns_gone, unchecked: not checked yet, or removed meanwhile).',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      const v = startup().verification;
      const unchecked = Math.max(0, v.total - v.verified - v.failed - v.netnsGone);
      const rows: Array<[string, number]> = [
        ['verified', v.verified],
        ['failed', v.failed],
        ['netns_gone', v.netnsGone],
        ['unchecked', unchecked],
      ];
      for (const [outcome, n] of rows) this.set({ outcome }, n);
    },
  });
  new Gauge({
    name: 'podwire_startup_verification_done',
    help: '1 once the verification of ready pods after start-up has finished, else 0.',
    registers: [registry],
    collect() {
      this.set(startup().verification.state === 'done' ? 1 : 0);
    },
  });
}
