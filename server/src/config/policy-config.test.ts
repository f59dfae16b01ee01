import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from './config-errors';
import { parsePolicyConfig } from './policy-config';

test('policy config: none by default, file with an absolute path, kubernetes with an optional kubeconfig', () => {
  assert.deepEqual(parsePolicyConfig(undefined), { source: 'none' });
  assert.deepEqual(parsePolicyConfig({ source: 'none' }), { source: 'none' });
  assert.deepEqual(parsePolicyConfig({ source: 'file', file: '/etc/podwire/policy.yaml' }), { source: 'file', file: '/etc/podwire/policy.yaml' });
  assert.deepEqual(parsePolicyConfig({ source: 'kubernetes' }), { source: 'kubernetes' });
  assert.deepEqual(parsePolicyConfig({ source: 'kubernetes', kubeconfig: '/k' }), { source: 'kubernetes', kubeconfig: '/k' });
  const bad: Array<[unknown, RegExp]> = [
    [{ source: 'file' }, /"policy\.file" must be a non-empty string/],
    [{ source: 'file', file: 'rel.yaml' }, /absolute path/],
    [{ source: 'calico' }, /"policy\.source" must be "none", "file" or "kubernetes"/],
    [{ source: 'none', file: '/x' }, /unknown key "file"/],
    [[], /"policy" must be an object/],
  ];
  for (const [v, re] of bad)
    assert.throws(
      () => parsePolicyConfig(v),
      (e: unknown) => e instanceof ConfigError && re.test(e.message),
      JSON.stringify(v),
    );
});
