/**
 * The Kubernetes policy source, driven by the real client (@kubernetes/client-node) against a
 * local API server (test-support/fake-api-server.ts): the first snapshot after the three
 * lists, watch events as changes, a re-watch from a bookmark's resourceVersion after the
 * server ends a watch, a re-list after 410 Gone, a restart after a failed watch, and the
 * bounded GET of one Pod.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FakeApiServer } from '../test-support/fake-api-server';
import { namespaceObject, podObject, policyObject } from '../test-support/netpol-fixtures';
import { KubernetesPolicySource } from './kubernetes-policy-source';
import type { PolicyChange, PolicySnapshot } from './policy-source';

const PODS = '/api/v1/pods';
const NSS = '/api/v1/namespaces';
const NPS = '/apis/networking.k8s.io/v1/networkpolicies';
const api = new FakeApiServer([
  { path: PODS, listKind: 'PodList', apiVersion: 'v1', itemPath: (ns, name) => `/api/v1/namespaces/${ns}/pods/${name}` },
  { path: NSS, listKind: 'NamespaceList', apiVersion: 'v1' },
  { path: NPS, listKind: 'NetworkPolicyList', apiVersion: 'networking.k8s.io/v1' },
]);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pwt-polk8s-'));
after(() => {
  api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The server's kubeconfig (it listens once, for every test). */
let kc: Promise<string> | undefined;
const kubeconfigOnce = () => (kc ??= api.kubeconfig(dir));
const put = (c: string, o: Record<string, unknown>) => api.put(c, o as never);
function describe(c: PolicyChange): string {
  if (c.op === 'delete') return `${c.kind} delete ${'key' in c ? c.key : c.name}`;
  const v = c.value as { namespace?: string; name: string; labels?: unknown };
  return `${c.kind} set ${v.namespace ? `${v.namespace}/` : ''}${v.name}${v.labels ? ` ${JSON.stringify(v.labels)}` : ''}`;
}

async function until(what: string | (() => string), cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('list, watch, bookmark, watch timeout, 410 Gone, a failed watch, GET of one pod', { timeout: 60_000 }, async () => {
  put(NSS, namespaceObject('x'));
  put(NSS, namespaceObject('y'));
  put(PODS, podObject('x/a'));
  put(PODS, podObject('y/b'));
  put(NPS, policyObject('x', 'p', { podSelector: {}, policyTypes: ['Ingress'] }));
  const kubeconfig = await kubeconfigOnce();
  const source = await KubernetesPolicySource.create({ kubeconfig, retryMs: 50 });
  const snaps: PolicySnapshot[] = [];
  const changes: string[] = [];
  const problems: string[] = [];
  try {
    const started = source.start({ onSnapshot: (s) => snaps.push(s), onChange: (c) => changes.push(describe(c)), onProblem: (m) => problems.push(m) });
    await Promise.race([
      started,
      new Promise((_, rej) => setTimeout(() => rej(new Error(`no first sync: ${problems.join('; ')}\n${api.requests.join('\n')}`)), 5000)),
    ]);
    assert.equal(snaps.length, 1);
    assert.deepEqual(snaps[0]!.namespaces.map((n) => n.name).sort(), ['x', 'y']);
    assert.deepEqual(snaps[0]!.pods.map((p) => `${p.namespace}/${p.name} ${p.podIPs}`).sort(), ['x/a 10.42.1.1', 'y/b 10.42.2.2']);
    assert.deepEqual(
      snaps[0]!.policies.map((p) => `${p.namespace}/${p.name} ${p.ingressIsolation}`),
      ['x/p true'],
    );
    await until('three watches', () => api.openWatches(PODS) + api.openWatches(NSS) + api.openWatches(NPS) === 3);
    assert.ok(
      api.requests.some((r) => r.startsWith(`GET ${PODS}?`) && r.includes('watch=true') && r.includes(`resourceVersion=`)),
      api.requests.join('\n'),
    );

    // Watch events, one change each.
    put(PODS, podObject('x/c'));
    put(NSS, namespaceObject('y', { ns: 'y', team: 'blue' }));
    api.remove(PODS, 'y', 'b');
    await until('three changes', () => changes.length === 3);
    // (Two streams: their relative order is not defined.)
    assert.deepEqual([...changes].sort(), [
      'Namespace set y {"ns":"y","team":"blue","kubernetes.io/metadata.name":"y"}',
      'Pod delete y/b',
      'Pod set x/c {"pod":"c"}',
    ]);

    // A bookmark moves the resourceVersion on; the server ends the watch (its timeout): the
    // client watches again from the bookmark's version, without listing.
    const lists = () => api.requests.filter((r) => r.startsWith(`GET ${PODS}?`) && !r.includes('watch=true')).length;
    const listsBefore = lists();
    const bm = api.bookmark(PODS);
    await new Promise((r) => setTimeout(r, 100));
    api.endWatches(PODS);
    await until('re-watch from the bookmark', () =>
      api.requests.some((r) => r.startsWith(`GET ${PODS}?`) && r.includes(`resourceVersion=${bm}`) && r.includes('watch=true')),
    );
    await until('pods watch open', () => api.openWatches(PODS) === 1);
    assert.equal(lists(), listsBefore, 'no re-list after a plain watch end');

    // History compacted while a namespace was added: the re-watch gets 410, the client lists
    // again and the new namespace arrives as a change.
    api.putUnseen(NSS, namespaceObject('z') as never);
    api.endWatches(NSS);
    await until('namespace z after 410', () => changes.includes('Namespace set z {"ns":"z","kubernetes.io/metadata.name":"z"}'));
    assert.ok(api.requests.filter((r) => r.startsWith(`GET ${NSS}?`) && !r.includes('watch=true')).length >= 2, 're-listed');

    // A failed watch (HTTP 500) stops the client's informer; the source restarts it.
    api.failWatches.set(NPS, 1);
    api.endWatches(NPS);
    await until(
      () => `restart reported (${problems.join('; ')})`,
      () => problems.some((p) => /networkpolicies list\/watch failed \(Internal Server Error\); retrying in 50 ms/.test(p)),
    );
    await until('netpol watch open again', () => api.openWatches(NPS) === 1);
    put(NPS, policyObject('x', 'q', { podSelector: {}, ingress: [{}] }));
    await until('policy q', () => changes.some((c) => c.startsWith('NetworkPolicy set x/q')));

    // One GET of a pod: found, missing (404), too slow (the deadline).
    assert.equal((await source.fetchPod('x', 'a', 2000))?.podIPs[0], '10.42.1.1');
    assert.equal(await source.fetchPod('x', 'nope', 2000), undefined);
    api.getDelayMs = 500;
    await assert.rejects(source.fetchPod('x', 'a', 100), /did not answer for Pod x\/a within 100 ms/);
  } finally {
    source.stop();
  }
});

test('ingress "from" survives the typed client: a listed policy and a watched one give the same peers (no fail-open)', { timeout: 30_000 }, async () => {
  const spec = {
    podSelector: { matchLabels: { app: 'web' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }], ports: [{ port: 80 }] }],
    egress: [{ to: [{ ipBlock: { cidr: '10.9.0.0/16' } }] }],
  };
  put(NPS, policyObject('q', 'listed', spec));
  const kubeconfig = await kubeconfigOnce();
  const source = await KubernetesPolicySource.create({ kubeconfig, retryMs: 50 });
  const snaps: PolicySnapshot[] = [];
  const changes: PolicyChange[] = [];
  try {
    await source.start({ onSnapshot: (s) => snaps.push(s), onChange: (c) => changes.push(c) });
    const listed = snaps[0]!.policies.find((p) => p.name === 'listed')!;
    assert.equal(listed.ingress[0]!.peers?.length, 1, 'the listed policy keeps its "from" peer');
    assert.equal(listed.egress[0]!.peers?.length, 1, 'and its "to" peer');
    await until('the three watches', () => api.openWatches(NPS) >= 1);
    put(NPS, policyObject('q', 'watched', spec));
    await until('the watch event', () => changes.some((c) => c.kind === 'NetworkPolicy' && c.op === 'set' && c.value.name === 'watched'));
    const watched = changes.find((c) => c.kind === 'NetworkPolicy' && c.op === 'set' && c.value.name === 'watched') as Extract<
      PolicyChange,
      { kind: 'NetworkPolicy'; op: 'set' }
    >;
    assert.deepEqual(watched.value.ingress, listed.ingress, 'watched and listed agree');
    assert.deepEqual(watched.value.egress, listed.egress);
  } finally {
    source.stop();
  }
});
