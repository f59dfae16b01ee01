import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cniCallFacts } from './cni-call-facts';

test('network and pod come from the config name and CNI_ARGS', () => {
  const facts = cniCallFacts({
    config: Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name: 'net-a', type: 'podwire' })),
    args: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=kube-system;K8S_POD_NAME=coredns-1;FOO=a=b',
  });
  assert.deepEqual(facts, { network: 'net-a', podNamespace: 'kube-system', podName: 'coredns-1' });
});

test('unreadable input gives empty fields instead of failing', () => {
  assert.deepEqual(cniCallFacts({ config: Buffer.from('{not json'), args: ';;=x;K8S_POD_NAME' }), { network: '', podNamespace: '', podName: '' });
  assert.deepEqual(cniCallFacts({ config: Buffer.from('{"name": 7}'), args: '' }), { network: '', podNamespace: '', podName: '' });
  assert.deepEqual(cniCallFacts({ config: Buffer.from('[]'), args: 'K8S_POD_NAME=' }), { network: '', podNamespace: '', podName: '' });
});
