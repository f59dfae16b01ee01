import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CniError } from './cni-error';
import { parseRuntimeConfig } from './runtime-config';

test('ips, mac and portMappings are taken; other capabilities are ignored', () => {
  assert.deepEqual(
    parseRuntimeConfig({
      ips: ['10.1.0.5/24', 'fd00::5/64', '10.1.0.6'],
      mac: '0A:58:0A:F4:00:05',
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    }),
    {
      ips: ['10.1.0.5', 'fd00::5', '10.1.0.6'],
      mac: '0a:58:0a:f4:00:05',
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    },
  );
  assert.deepEqual(parseRuntimeConfig(undefined), { ips: [], portMappings: [] });
  assert.deepEqual(parseRuntimeConfig({ bandwidth: { ingressRate: 1 } }), { ips: [], portMappings: [] });
});

test('malformed values are code 7', () => {
  for (const bad of [
    [],
    'x',
    { ips: 'x' },
    { ips: ['10.1.0.300'] },
    { ips: ['10.1.0.5/40'] },
    { ips: [5] },
    { mac: 'zz' },
    { mac: '01:00:5e:00:00:01' },
    { portMappings: {} },
    { portMappings: [{ hostPort: 70000, containerPort: 1 }] },
  ]) {
    assert.throws(
      () => parseRuntimeConfig(bad),
      (e: unknown) => e instanceof CniError && e.code === 7,
      JSON.stringify(bad),
    );
  }
});
