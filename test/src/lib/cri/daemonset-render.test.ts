import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { linuxResources, parseQuantity, renderDaemonSet } from './daemonset-render';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-render-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const hostPaths = {
  '/opt/cni/bin': path.join(dir, 'bin'),
  '/etc/cni/net.d': path.join(dir, 'net.d'),
  '/run/podwire': path.join(dir, 'run'),
  '/var/lib/podwire': path.join(dir, 'state'),
  '/var/run/netns': path.join(dir, 'netns'),
};

function render(extra: Partial<Parameters<typeof renderDaemonSet>[0]> = {}) {
  return renderDaemonSet({
    nodeName: 'node-a',
    hostPaths,
    configDir: path.join(dir, 'config'),
    editConfig: (_k, v) => v,
    cgroupParent: '/pw-test',
    logDirectory: path.join(dir, 'logs'),
    ...extra,
  });
}

test("the DaemonSet renders to kubelet's CRI settings: host network and PID, privileged, no hostname", () => {
  const pod = render();
  assert.deepEqual(pod.sandbox.linux?.security_context, { namespace_options: { network: 'NODE', pid: 'NODE', ipc: 'POD' }, privileged: true });
  assert.equal(pod.sandbox.hostname, undefined);
  assert.equal(pod.sandbox.metadata.namespace, 'podwire-system');
  assert.deepEqual(
    pod.initContainers.map((c) => c.name),
    ['install-cni'],
  );
  assert.deepEqual(
    pod.containers.map((c) => c.name),
    ['podwired'],
  );
  for (const c of [...pod.initContainers, ...pod.containers]) {
    assert.deepEqual(c.config.linux?.security_context?.namespace_options, { network: 'NODE', pid: 'NODE', ipc: 'POD' });
  }
});

test('args get $(NODE_NAME) from the downward API, mounts their hostPaths and propagation', () => {
  const pd = render().containers[0];
  assert.ok(pd);
  assert.deepEqual(pd.config.args, ['--config', '/etc/podwire/podwired.json', '--node-name', 'node-a']);
  assert.deepEqual(pd.config.envs, [{ key: 'NODE_NAME', value: 'node-a' }]);
  const netns = pd.config.mounts?.find((m) => m.container_path === '/var/run/netns');
  assert.deepEqual(netns, {
    container_path: '/var/run/netns',
    host_path: hostPaths['/var/run/netns'],
    readonly: false,
    propagation: 'PROPAGATION_HOST_TO_CONTAINER',
  });
  const config = pd.config.mounts?.find((m) => m.container_path === '/etc/podwire');
  assert.equal(config?.readonly, true);
  assert.equal(config?.host_path, path.join(dir, 'config'));
  assert.ok(fs.existsSync(path.join(dir, 'config', 'podwired.json')), 'the ConfigMap data is written');
  assert.deepEqual(pd.probes.startupProbe, ['podwirectl', 'health', '--timeout', '3']);
  assert.deepEqual(pd.config.linux?.resources, { cpu_shares: 102, memory_limit_in_bytes: 384 * 1024 * 1024 });
});

test('an unmapped hostPath is an error naming it', () => {
  const { '/var/lib/podwire': _state, ...rest } = hostPaths;
  assert.throws(() => render({ hostPaths: rest }), /hostPath \/var\/lib\/podwire \(volume state\) is not mapped/);
});

test('quantities and the cgroup settings kubelet derives from them', () => {
  assert.equal(parseQuantity('64Mi', 'bytes'), 64 * 1024 * 1024);
  assert.equal(parseQuantity('1G', 'bytes'), 1e9);
  assert.equal(parseQuantity('100m', 'millicores'), 100);
  assert.equal(parseQuantity('2', 'millicores'), 2000);
  assert.throws(() => parseQuantity('1Zi', 'bytes'), /not understood/);
  assert.deepEqual(linuxResources({ requests: { cpu: '1m' } }), { cpu_shares: 2 });
  assert.deepEqual(linuxResources({ limits: { cpu: '500m', memory: '1Gi' } }), {
    cpu_shares: 512,
    cpu_period: 100_000,
    cpu_quota: 50_000,
    memory_limit_in_bytes: 1024 ** 3,
  });
  assert.deepEqual(linuxResources(undefined), {});
});
