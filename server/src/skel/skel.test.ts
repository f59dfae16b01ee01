import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CniError } from '../cni/cni-error';
import { readCall } from './skel';

const raw = (config: unknown, args = '') => ({
  containerId: 'c1',
  netns: '/var/run/netns/x',
  ifname: 'eth0',
  args,
  path: '/opt/cni/bin',
  config: Buffer.from(typeof config === 'string' ? config : JSON.stringify(config)),
});
const conf = { cniVersion: '1.0.0', name: 'net-a', type: 'podwire' };

test('a valid call: config and CNI_ARGS read once into the call and its facts', () => {
  const read = readCall('ADD', raw(conf, 'K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;IP=10.0.0.5'));
  assert.ok(read.call);
  assert.equal(read.call.conf.name, 'net-a');
  assert.deepEqual(read.call.args.ips, ['10.0.0.5']);
  assert.deepEqual(read.facts, { network: 'net-a', podNamespace: 'ns', podName: 'p', replyVersion: '1.0.0' });
});

test('an invalid call still has facts: the network and pod from what could be read, the reply in the config version', () => {
  const read = readCall('ADD', raw({ ...conf, cniVersion: '0.4.0', type: '' }, 'K8S_POD_NAME=p'));
  assert.ok(read.error instanceof CniError);
  assert.equal(read.error.code, 7);
  assert.deepEqual(read.facts, { network: 'net-a', podNamespace: '', podName: 'p', replyVersion: '0.4.0' });
  const unreadable = readCall('DEL', raw('{not json'));
  assert.equal(unreadable.error?.code, 6);
  assert.equal(unreadable.facts.replyVersion, '1.1.0', 'the newest version when the config has none');
});

test('CNI_ARGS: strict for ADD (unknown keys are code 2, malformed pairs code 4); DEL and the others ignore what they do not know', () => {
  assert.equal(readCall('ADD', raw(conf, 'FOO=1')).error?.code, 2);
  assert.equal(readCall('ADD', raw(conf, 'K8S_POD_NAME')).error?.code, 4);
  const del = readCall('DEL', raw(conf, 'FOO=1;K8S_POD_NAME;K8S_POD_NAMESPACE=ns'));
  assert.ok(del.call);
  assert.equal(del.call.args.podNamespace, 'ns');
  assert.equal(del.facts.podNamespace, 'ns');
});

test('missing environment is reported before the config', () => {
  const read = readCall('ADD', { ...raw('{not json'), containerId: '', netns: '' });
  assert.equal(read.error?.code, 4);
  assert.match(read.error?.message ?? '', /CNI_CONTAINERID, CNI_NETNS/);
});
