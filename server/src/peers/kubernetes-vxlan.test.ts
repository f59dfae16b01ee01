/**
 * PeerRouting as podwired builds it, with the Kubernetes source and `vxlan-cross-subnet`,
 * against a local HTTP server answering like kube-apiserver (a NodeList, then a watch stream)
 * and the real kernel of a network namespace of the test's own: this node's VXLAN local
 * address is learnt from its Node object (no node.nodeIPs), a routed peer gets route,
 * neighbour and FDB entry, and a Node DELETED event withdraws all three.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { RtnlSockets } from '../rtnl/rtnl-sockets';
import type { RtnlSocket } from '../rtnl/rtnl-socket';
import { rtnlRouteSender } from '../datapath/host-programmer';
import { NftContext } from '../nft/nft-context';
import { TestNetns } from '../test-support/test-netns';
import { KubernetesPeerSource } from './kubernetes-peer-source';
import { SnapshotPeerRouteTable } from './peer-route-table';
import { PeerRouting } from './peer-routing';

let NS: TestNetns;
const sockets = new RtnlSockets();
let sock: RtnlSocket;
const log = pino({ level: process.env.K8S_TEST_LOG ?? 'silent' });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-k8svx-'));
let watch: http.ServerResponse | undefined;

function node(name: string, rv: string, podCIDR: string, ip: string) {
  return {
    kind: 'Node',
    apiVersion: 'v1',
    metadata: { name, uid: `uid-${name}`, resourceVersion: rv },
    spec: { podCIDR, podCIDRs: [podCIDR] },
    status: { addresses: [{ type: 'InternalIP', address: ip }] },
  };
}
const NODES = [
  node('node-a', '1', '10.232.1.0/24', '10.231.0.1'),
  node('node-b', '2', '10.232.2.0/24', '10.231.0.2'),
  node('node-c', '3', '10.232.3.0/24', '10.233.0.3'),
];

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname !== '/api/v1/nodes') return void res.writeHead(404).end();
  if (url.searchParams.get('watch') === 'true') {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    watch = res;
    return;
  }
  res
    .writeHead(200, { 'content-type': 'application/json' })
    .end(JSON.stringify({ kind: 'NodeList', apiVersion: 'v1', metadata: { resourceVersion: '10' }, items: NODES }));
});

before(() => {
  NS = new TestNetns('k8svx');
  sock = sockets.openIn(NS.fd, `netns ${NS.name}`);
  NS.ip('link', 'add', 'under0', 'type', 'veth', 'peer', 'name', 'under0p');
  NS.ip('addr', 'add', '10.231.0.1/24', 'dev', 'under0');
  NS.ip('link', 'set', 'under0', 'up');
  NS.ip('link', 'set', 'under0p', 'up');
  NS.ip('route', 'add', '10.233.0.0/24', 'via', '10.231.0.254');
});
after(() => {
  watch?.end();
  server.closeAllConnections();
  server.close();
  sockets.closeAll();
  NS?.remove();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function kubeconfig(): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const file = path.join(dir, 'kubeconfig');
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

const state = () => ({
  routes: NS.json<Array<{ dst: string; gateway?: string; dev: string }>>('route', 'show', 'proto', '198')
    .map((r) => `${r.dst} via ${r.gateway ?? '-'} dev ${r.dev}`)
    .sort(),
  neighbours: NS.json<Array<{ dst: string; lladdr?: string }>>('-4', 'neigh', 'show', 'dev', 'pwvx1', 'nud', 'permanent').map(
    (n) => `${n.dst} ${n.lladdr ?? ''}`,
  ),
  fdb: (JSON.parse(execFileSync('bridge', ['-n', NS.name, '-j', 'fdb', 'show', 'dev', 'pwvx1'], { encoding: 'utf8' })) as Array<{ mac: string; dst?: string }>)
    .filter((f) => f.dst)
    .map((f) => `${f.mac} ${f.dst ?? ''}`),
  local: NS.json<Array<{ linkinfo: { info_data: { local?: string } } }>>('-d', 'link', 'show', 'pwvx1')[0]?.linkinfo.info_data.local,
});

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(state())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('Kubernetes peers over VXLAN: the local address learnt from the Node object; a deleted Node withdraws route, neighbour and FDB entry', {
  timeout: 30_000,
}, async () => {
  const file = await kubeconfig();
  const send = rtnlRouteSender(sock);
  const routing = await PeerRouting.create(
    {
      node: { name: 'node-a', podCIDRs: [], nodeIPs: [] },
      peers: { source: 'kubernetes', kubeconfig: file },
      overlay: { encapsulation: 'vxlan-cross-subnet', vxlan: { vni: 1, port: 4789 } },
    },
    { applyRouteChanges: (c) => send(c) },
    new SnapshotPeerRouteTable(sock),
    log,
    {
      resyncMs: 0,
      kubernetes: (kubeconfigFile, nodeName) =>
        KubernetesPeerSource.create({ ...(kubeconfigFile ? { kubeconfig: kubeconfigFile } : {}), nodeName, log, retryMs: 50 }),
      vxlan: { sock, ownerTag: 'k8svx', nft: () => NftContext.open({ enter: (fn) => sockets.enter(NS.fd, fn) }) },
    },
  );
  try {
    assert.equal(await routing.ready(10_000), true);
    assert.deepEqual(state(), {
      routes: ['10.232.2.0/24 via 10.231.0.2 dev under0', '10.232.3.0/24 via 10.232.3.0 dev pwvx1'],
      neighbours: ['10.232.3.0 0e:77:0a:e9:00:03'],
      fdb: ['0e:77:0a:e9:00:03 10.233.0.3'],
      local: '10.231.0.1',
    });
    assert.deepEqual(routing.node.podCidrs(), ['10.232.1.0/24']);
    assert.equal(routing.maxPodMtu(), 1450);
    while (!watch) await new Promise((r) => setTimeout(r, 10));
    watch.write(`${JSON.stringify({ type: 'DELETED', object: { ...NODES[2], metadata: { ...NODES[2]?.metadata, resourceVersion: '11' } } })}\n`);
    await until('node-c withdrawn', () => state().fdb.length === 0 && state().routes.length === 1);
    assert.deepEqual(state(), { routes: ['10.232.2.0/24 via 10.231.0.2 dev under0'], neighbours: [], fdb: [], local: '10.231.0.1' });
  } finally {
    routing.close();
  }
});
