import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { type PolicyMetricsSource, registerPolicyMetrics } from './policy-metrics';

test('policy metrics: the model in force at scrape time, transactions counted by result and timed', async () => {
  const registry = new Registry();
  const source: PolicyMetricsSource = { stats: () => ({ policies: 200, pods: 1000, localPods: 40 }), onTransaction: undefined };
  registerPolicyMetrics(registry, source);
  source.onTransaction?.('policy ADD x/a', true, 0.4);
  source.onTransaction?.('policy ADD x/b', true, 30);
  source.onTransaction?.('policy DEL x/a', false, 2);
  const text = await registry.metrics();
  assert.match(text, /podwire_policy_objects\{kind="policies"\} 200/);
  assert.match(text, /podwire_policy_objects\{kind="pods"\} 1000/);
  assert.match(text, /podwire_policy_objects\{kind="local_pods"\} 40/);
  assert.match(text, /podwire_policy_transactions_total\{result="ok"\} 2/);
  assert.match(text, /podwire_policy_transactions_total\{result="failed"\} 1/);
  assert.match(text, /podwire_policy_transaction_seconds_bucket\{le="0.0005"\} 1/);
  assert.match(text, /podwire_policy_transaction_seconds_count 2/);
});
