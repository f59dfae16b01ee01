import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CniError } from './cni-error';
import { parseCniArgs } from './cni-args';

test('parses the Kubernetes keys and IP', () => {
  assert.deepEqual(parseCniArgs('K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;K8S_POD_UID=u;K8S_POD_INFRA_CONTAINER_ID=i;IP=10.0.0.5'), {
    podNamespace: 'ns',
    podName: 'p',
    podUid: 'u',
    infraContainerId: 'i',
    ips: ['10.0.0.5'],
  });
  assert.deepEqual(parseCniArgs(''), { ips: [] });
  assert.deepEqual(parseCniArgs('IP=10.0.0.5,fd00::5'), { ips: ['10.0.0.5', 'fd00::5'] });
});

test('unknown keys fail unless IgnoreUnknown is set', () => {
  assert.throws(
    () => parseCniArgs('FOO=1'),
    (e: unknown) => e instanceof CniError && e.code === 2 && /FOO/.test(e.message),
  );
  assert.deepEqual(parseCniArgs('IgnoreUnknown=1;FOO=1;K8S_POD_NAME=p'), { ips: [], podName: 'p' });
  assert.deepEqual(parseCniArgs('FOO=1;IgnoreUnknown=true'), { ips: [] });
  assert.throws(() => parseCniArgs('IgnoreUnknown=0;FOO=1'), CniError);
});

test('a pair without "=" or an IP that is not an address is an invalid environment (code 4)', () => {
  assert.throws(
    () => parseCniArgs('IP=10.0.0.300'),
    (e: unknown) => e instanceof CniError && e.code === 4,
  );
  assert.throws(
    () => parseCniArgs('K8S_POD_NAME'),
    (e: unknown) => e instanceof CniError && e.code === 4,
  );
  assert.throws(
    () => parseCniArgs('=x'),
    (e: unknown) => e instanceof CniError && e.code === 4,
  );
});
