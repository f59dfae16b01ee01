import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What the policy metrics read (policy/node-policy.ts NodePolicy). */
export interface PolicyMetricsSource {
  stats(): { policies: number; pods: number; localPods: number };
  onTransaction: ((operation: string, ok: boolean, ms: number) => void) | undefined;
}

/**
 * NetworkPolicy: the model in force (read at scrape time), and every policy transaction
 * (ADD, DEL, a source's change or snapshot) counted and timed from its delivery to the
 * kernel's commit, which is when it is in force.
 */
export function registerPolicyMetrics(registry: Registry, source: PolicyMetricsSource): void {
  new Gauge({
    name: 'podwire_policy_objects',
    help: 'NetworkPolicy model in force: kind="policies" (NetworkPolicies), "pods" (Pods known to the source), "local_pods" (pods wired here and registered).',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      const s = source.stats();
      this.set({ kind: 'policies' }, s.policies);
      this.set({ kind: 'pods' }, s.pods);
      this.set({ kind: 'local_pods' }, s.localPods);
    },
  });
  const transactions = new Counter({
    name: 'podwire_policy_transactions_total',
    help: 'NetworkPolicy nftables transactions, by result ("ok", or "failed": refused even after writing the table whole).',
    labelNames: ['result'],
    registers: [registry],
  });
  transactions.inc({ result: 'ok' }, 0);
  transactions.inc({ result: 'failed' }, 0);
  const seconds = new Histogram({
    name: 'podwire_policy_transaction_seconds',
    help: 'Time from a policy change (ADD, DEL, a source event or re-read) reaching podwired to its transaction committed: the time to "in force".',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  source.onTransaction = (_operation, ok, ms) => {
    transactions.inc({ result: ok ? 'ok' : 'failed' });
    if (ok) seconds.observe(ms / 1000);
  };
}
