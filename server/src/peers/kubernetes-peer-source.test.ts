/**
 * The Kubernetes peer source against a local HTTP server that answers like kube-apiserver:
 * a NodeList, then a chunked watch stream of events, then (on a second watch) 410 Gone and a
 * fresh list. The responses are hand-written in the API's wire shape (kind, apiVersion,
 * resourceVersion, watch event lines), not captured from a live cluster.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { KubernetesPeerSource } from './kubernetes-peer-source';
import type { PeerSnapshot } from './peer';

function node(name: string, rv: string, podCIDRs: string[], ips: string[], extra: Record<string, unknown> = {}) {
  return {
    kind: 'Node',
    apiVersion: 'v1',
    metadata: { name, uid: `uid-${name}`, resourceVersion: rv, labels: { 'kubernetes.io/hostname': name } },
    spec: { podCIDR: podCIDRs[0], podCIDRs },
    status: {
      addresses: [...ips.map((address) => ({ type: 'InternalIP', address })), { type: 'Hostname', address: name }],
      conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: `2024-05-01T10:00:${rv.slice(-2)}Z` }],
      ...extra,
    },
  };
}
const nodeList = (rv: string, items: unknown[]) => ({ kind: 'NodeList', apiVersion: 'v1', metadata: { resourceVersion: rv }, items });

const requests: string[] = [];
let listReplies: unknown[] = [];
const watchReplies: Array<(res: http.ServerResponse) => void> = [];
let openWatch: http.ServerResponse | undefined;

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  requests.push(`${req.method} ${url.pathname}?${url.searchParams.toString()}`);
  if (url.pathname !== '/api/v1/nodes') {
    res.writeHead(404).end();
    return;
  }
  if (url.searchParams.get('watch') === 'true') {
    const reply = watchReplies.shift();
    if (reply) return reply(res);
    res.writeHead(500).end();
    return;
  }
  const list = listReplies.shift();
  res.writeHead(list ? 200 : 500, { 'content-type': 'application/json' }).end(JSON.stringify(list ?? {}));
});
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-k8s-'));
after(() => {
  server.closeAllConnections();
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function kubeconfig(): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const file = path.join(dir, 'kubeconfig');
  // JSON is YAML: the client reads it as any kubeconfig.
  fs.writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'podwire', user: { token: 'test-token' } }],
      contexts: [{ name: 'local', context: { cluster: 'local', user: 'podwire' } }],
      'current-context': 'local',
    }),
  );
  return file;
}

/** Resolves with the next snapshot the source delivers. */
function nextSnapshot(queue: PeerSnapshot[], waiters: Array<(s: PeerSnapshot) => void>): Promise<PeerSnapshot> {
  const s = queue.shift();
  if (s) return Promise.resolve(s);
  return new Promise((resolve) => waiters.push(resolve));
}
const view = (s: PeerSnapshot) => ({ self: s.selfPodCIDRs, peers: s.peers.map((p) => `${p.name} ${p.nodeIPs.join(',')} ${p.podCIDRs.join(',')}`) });
const event = (res: http.ServerResponse, type: string, object: unknown) => res.write(`${JSON.stringify({ type, object })}\n`);

test('list, then watch events: peers appear, change and disappear; a 410 Gone re-lists', { timeout: 30_000 }, async () => {
  const file = await kubeconfig();
  listReplies = [
    nodeList('1000', [
      node('node-a', '990', ['10.244.1.0/24', 'fd00:10:244:1::/64'], ['192.168.50.1', 'fd00:50::1']),
      node('node-b', '991', ['10.244.2.0/24', 'fd00:10:244:2::/64'], ['192.168.50.2', 'fd00:50::2']),
      node('node-c', '992', ['10.244.3.0/24'], ['192.168.50.3']),
    ]),
  ];
  watchReplies.push((res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    openWatch = res;
  });
  const queue: PeerSnapshot[] = [];
  const waiters: Array<(s: PeerSnapshot) => void> = [];
  const source = await KubernetesPeerSource.create({
    kubeconfig: file,
    nodeName: 'node-a',
    log: pino({ level: process.env.K8S_TEST_LOG ?? 'silent' }),
    retryMs: 50,
  });
  source.start((s) => {
    const w = waiters.shift();
    if (w) w(s);
    else queue.push(s);
  });
  try {
    assert.deepEqual(view(await nextSnapshot(queue, waiters)), {
      self: ['10.244.1.0/24', 'fd00:10:244:1::/64'],
      peers: ['node-b 192.168.50.2,fd00:50::2 10.244.2.0/24,fd00:10:244:2::/64', 'node-c 192.168.50.3 10.244.3.0/24'],
    });
    // The watch starts from the list's resourceVersion.
    while (!openWatch) await new Promise((r) => setTimeout(r, 10));
    assert.ok(
      requests.some((r) => r.includes('watch=true') && r.includes('resourceVersion=1000')),
      requests.join('\n'),
    );

    event(openWatch, 'ADDED', node('node-d', '1001', ['10.244.4.0/24'], ['192.168.50.4']));
    assert.deepEqual(view(await nextSnapshot(queue, waiters)).peers.at(-1), 'node-d 192.168.50.4 10.244.4.0/24');
    // A heartbeat (status only) changes no peer: no snapshot. Then node-b moves to a new address.
    event(openWatch, 'MODIFIED', node('node-c', '1002', ['10.244.3.0/24'], ['192.168.50.3'], { nodeInfo: { kubeletVersion: 'v1.30.1' } }));
    event(openWatch, 'MODIFIED', node('node-b', '1003', ['10.244.2.0/24', 'fd00:10:244:2::/64'], ['192.168.50.12', 'fd00:50::2']));
    assert.deepEqual(view(await nextSnapshot(queue, waiters)).peers[0], 'node-b 192.168.50.12,fd00:50::2 10.244.2.0/24,fd00:10:244:2::/64');
    event(openWatch, 'DELETED', node('node-c', '1004', ['10.244.3.0/24'], ['192.168.50.3']));
    assert.deepEqual(view(await nextSnapshot(queue, waiters)).peers, [
      'node-b 192.168.50.12,fd00:50::2 10.244.2.0/24,fd00:10:244:2::/64',
      'node-d 192.168.50.4 10.244.4.0/24',
    ]);
    assert.equal(queue.length, 0, 'the heartbeat produced no snapshot');

    // The watch ends; the next watch is told 410 Gone (its resourceVersion is too old), so the
    // source lists again and delivers what changed meanwhile: node-d gone, node-e new.
    watchReplies.push((res) =>
      res
        .writeHead(410, { 'content-type': 'application/json' })
        .end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410 })),
    );
    listReplies.push(
      nodeList('2000', [
        node('node-a', '1990', ['10.244.1.0/24', 'fd00:10:244:1::/64'], ['192.168.50.1', 'fd00:50::1']),
        node('node-b', '1991', ['10.244.2.0/24', 'fd00:10:244:2::/64'], ['192.168.50.12', 'fd00:50::2']),
        node('node-e', '1995', ['10.244.5.0/24'], ['192.168.50.5']),
      ]),
    );
    watchReplies.push((res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      openWatch = res;
    });
    openWatch.end();
    assert.deepEqual(view(await nextSnapshot(queue, waiters)).peers, [
      'node-b 192.168.50.12,fd00:50::2 10.244.2.0/24,fd00:10:244:2::/64',
      'node-e 192.168.50.5 10.244.5.0/24',
    ]);
    assert.equal(requests.filter((r) => !r.includes('watch=true')).length, 2, 'listed twice');
    // ... and watches again from the new list's resourceVersion.
    while (!requests.some((r) => r.includes('watch=true') && r.includes('resourceVersion=2000'))) await new Promise((r) => setTimeout(r, 10));
  } finally {
    source.stop();
    openWatch?.end();
  }
});
