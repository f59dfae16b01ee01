import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applySnapshot } from './apply-snapshot';
import { PolicyCompiler } from './compile/policy-compiler';
import { FilePolicySource, parsePolicyFile } from './file-policy-source';
import type { PolicySnapshot } from './policy-source';

const YAML = `
apiVersion: v1
kind: Namespace
metadata: {name: x, labels: {ns: x}}
---
apiVersion: v1
kind: List
items:
- kind: Pod
  apiVersion: v1
  metadata: {namespace: x, name: a, labels: {pod: a}}
  spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
  status: {podIPs: [{ip: 10.42.1.1}]}
- kind: Pod
  apiVersion: v1
  metadata: {namespace: x, name: b, labels: {pod: b}}
  status: {podIP: 10.42.1.2}
---
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {namespace: x, name: web}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from: [{podSelector: {matchLabels: {pod: b}}}]
    ports: [{port: http}]
---
kind: ConfigMap
metadata: {name: ignored}
`;

test('a YAML file: documents and Lists flattened, other kinds ignored, objects parsed', () => {
  const s = parsePolicyFile(YAML, '/p.yaml');
  assert.deepEqual(
    s.namespaces.map((n) => n.name),
    ['x'],
  );
  assert.deepEqual(
    s.pods.map((p) => `${p.namespace}/${p.name} ${p.podIPs}`),
    ['x/a 10.42.1.1', 'x/b 10.42.1.2'],
  );
  assert.deepEqual(s.policies[0]!.ingress[0]!.ports, [{ protocol: 'TCP', port: 'http' }]);
  // JSON is YAML too: an array of objects.
  assert.equal(parsePolicyFile(JSON.stringify([{ kind: 'Namespace', metadata: { name: 'q' } }]), '/p.json').namespaces[0]!.name, 'q');
  assert.throws(() => parsePolicyFile(`${YAML}\n---\nkind: Namespace\nmetadata: {name: x}\n`, '/p.yaml'), /\/p\.yaml document 5: Namespace x appears twice/);
  assert.throws(
    () => parsePolicyFile('kind: Pod\nmetadata: {name: a}\nstatus: {podIP: nope}\n', '/p.yaml'),
    /\/p\.yaml document 1: Pod default\/a: status\.podIP must be an IP address/,
  );
  assert.throws(() => parsePolicyFile('a: [b\n', '/p.yaml'), /\/p\.yaml: not YAML or JSON/);
});

test('reload: a good file is delivered and applied as a delta; a bad file keeps the previous snapshot', async () => {
  let text = YAML;
  const src = new FilePolicySource({ file: '/p.yaml', readFile: () => text });
  const snaps: PolicySnapshot[] = [];
  const problems: string[] = [];
  await src.start({ onSnapshot: (s) => snaps.push(s), onChange: () => assert.fail('a file has no single changes'), onProblem: (m) => problems.push(m) });
  const compiler = new PolicyCompiler({ table: 't' });
  applySnapshot(compiler, snaps[0]!);
  compiler.build();
  compiler.setLocal('x/a', [{ ifname: 'pwa', ips: ['10.42.1.1'] }]);
  assert.deepEqual(applySnapshot(compiler, snaps[0]!), [], 'nothing changed, nothing to do');

  text = YAML.replace('labels: {pod: b}', 'labels: {pod: c}');
  assert.equal(src.reload(), undefined);
  const delta = applySnapshot(compiler, snaps[1]!);
  assert.deepEqual(
    delta,
    [{ delete: { element: { family: 'inet', table: 't', name: 'peer-1-v4', elem: ['10.42.1.2'] } } }],
    'x/b relabelled: its address leaves the peer set',
  );
  assert.equal((await src.fetchPod('x', 'b'))?.labels.pod, 'c');

  text = YAML.replace('port: http', 'port: Not_A_Name');
  assert.match(src.reload()!, /not reloaded, the previous one stays in force: .*Not_A_Name/);
  assert.equal(snaps.length, 2);
  assert.equal(problems.length, 1);
});
