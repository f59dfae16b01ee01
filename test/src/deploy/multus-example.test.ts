/**
 * deploy/multus: the NetworkAttachmentDefinition example parses, its spec.config is a podwire
 * network config that podwire's own parser accepts (with ipam.routes, so no default route on
 * net1), the example pod asks for it as net1, and the config WORKS where it is meant to run:
 * on a node with pod CIDRs (every Kubernetes node), next to a cluster network on eth0 that
 * allocates from those CIDRs. No cluster here: a real podwired configured with node.podCIDRs
 * runs in a "node" netns of its own, and the real shim is called as Multus (through libcni)
 * calls it, with the example's spec.config verbatim and CNI_IFNAME=net1. Traffic: pod to pod
 * through that node netns only.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../lib/paths';
import { type IpRoute, ipJson } from '../lib/netns';
import { PodCidrNode } from '../lib/pod-cidr-node';
import { runCommand } from '../lib/run-command';

const netConf = require(path.join(REPO_ROOT, 'server/dist/cni/net-conf.js')) as {
  parseNetConf(bytes: Buffer): { name: string; type: string; rangeSets: unknown[]; routes?: Array<{ family: number; dst: string; dstLen: number }> };
};

type Obj = Record<string, any>;
const FILE = path.join(REPO_ROOT, 'deploy', 'multus', 'podwire-net1.yaml');

function docs(): Obj[] {
  return parseAllDocuments(fs.readFileSync(FILE, 'utf8')).map((d) => {
    assert.deepEqual(d.errors, [], 'the example parses');
    return d.toJS() as Obj;
  });
}

test('the NetworkAttachmentDefinition carries a podwire config with ipam.routes that podwire accepts', () => {
  const nad = docs().find((d) => d.kind === 'NetworkAttachmentDefinition');
  assert.ok(nad);
  assert.equal(nad.apiVersion, 'k8s.cni.cncf.io/v1');
  const raw = nad.spec?.config;
  assert.equal(typeof raw, 'string', 'spec.config is a JSON string, as Multus expects');
  const conf = netConf.parseNetConf(Buffer.from(raw as string));
  assert.equal(conf.type, 'podwire');
  assert.equal(conf.name, nad.metadata?.name, 'the network is named as the attachment definition');
  assert.equal(conf.rangeSets.length, 2, 'dual-stack');
  assert.ok(conf.routes && conf.routes.length > 0, 'routes given: net1 gets no default route');
  assert.ok(
    conf.routes.every((r) => r.dstLen > 0),
    'no default route among them (eth0 keeps it)',
  );
});

test('the example pod asks for the attachment as net1', () => {
  const pod = docs().find((d) => d.kind === 'Pod');
  const nad = docs().find((d) => d.kind === 'NetworkAttachmentDefinition');
  assert.ok(pod && nad);
  const wanted = JSON.parse(pod.metadata?.annotations?.['k8s.v1.cni.cncf.io/networks'] as string) as Array<{ name: string; interface?: string }>;
  assert.deepEqual(wanted, [{ name: nad.metadata?.name, interface: 'net1' }]);
  assert.equal(pod.metadata?.namespace, nad.metadata?.namespace);
});

/** A Kubernetes node's pod CIDRs, as the kubelet's Node object would give them. */
const NODE_POD_CIDRS = ['10.244.1.0/24', 'fd00:10:244:1::/64'];
/** The cluster network on eth0: podwire's own conflist shape, no ranges (so the node's pod CIDRs). */
const CLUSTER = { cniVersion: '1.0.0', name: `multus-cluster-${process.pid}`, type: 'podwire', ipam: { type: 'podwire' } };

interface Result {
  interfaces: Array<{ name: string; sandbox?: string }>;
  ips: Array<{ address: string }>;
  routes?: Array<{ dst: string; gw?: string }>;
}

let node: PodCidrNode | undefined;
const attached: Array<{ config: unknown; containerId: string; netns: string; ifname: string }> = [];

function theNode(): PodCidrNode {
  assert.ok(node, 'the node started');
  return node;
}

before(async () => {
  node = await PodCidrNode.start('multus', NODE_POD_CIDRS);
});

after(async () => {
  try {
    for (const a of attached.reverse()) await node?.shim({ command: 'DEL', containerId: a.containerId, netns: a.netns, ifname: a.ifname, config: a.config });
  } finally {
    await node?.cleanup();
  }
});

function exampleConfig(): Record<string, unknown> {
  const nad = docs().find((d) => d.kind === 'NetworkAttachmentDefinition');
  assert.ok(nad);
  return JSON.parse(nad.spec?.config as string) as Record<string, unknown>;
}

async function add(config: Record<string, unknown>, containerId: string, ns: { path: string }, ifname: string): Promise<Result> {
  const call = { containerId, netns: ns.path, ifname };
  const out = await theNode().shim({ command: 'ADD', ...call, config });
  assert.equal(out.exitCode, 0, `ADD ${String(config.name)} ${ifname}: ${out.stdout}`);
  attached.push({ config, ...call });
  const check = await theNode().shim({ command: 'CHECK', ...call, config: { ...config, prevResult: out.json } });
  assert.equal(check.exitCode, 0, `CHECK ${String(config.name)} ${ifname}: ${check.stdout}`);
  return out.json as unknown as Result;
}

const v4 = (r: Result) => r.ips.find((i) => !i.address.includes(':'))?.address.split('/')[0] ?? '';
const v6 = (r: Result) => r.ips.find((i) => i.address.includes(':'))?.address.split('/')[0] ?? '';

/** Routes through one device in a pod (main table), as "dst via gw". */
async function podRoutes(ns: string, dev: string): Promise<string[]> {
  const routes = [...(await ipJson<IpRoute>(['-4', 'route', 'show', 'dev', dev], ns)), ...(await ipJson<IpRoute>(['-6', 'route', 'show', 'dev', dev], ns))];
  return routes.filter((r) => r.gateway !== undefined).map((r) => `${r.dst} via ${r.gateway}`);
}

test("the example's network works on a node with pod CIDRs, next to a cluster network allocating from them", async () => {
  const net1 = exampleConfig();
  const pods: Array<{ ns: { name: string; path: string }; eth0: Result; net1: Result }> = [];
  for (const name of ['p1', 'p2']) {
    const ns = await theNode().pod(name);
    const containerId = `multus-${name}-${process.pid}`;
    // The cluster network first (Multus' default delegate), then podwire for net1 (CNI_IFNAME=net1).
    const eth0 = await add(CLUSTER, containerId, ns, 'eth0');
    const second = await add(net1, containerId, ns, 'net1');
    pods.push({ ns, eth0, net1: second });
  }
  for (const { ns, eth0, net1: r } of pods) {
    assert.match(v4(eth0), /^10\.244\.1\./, 'eth0 from the node pod CIDR');
    assert.match(v4(r), /^10\.245\.0\./, "net1 from the example's own subnet");
    assert.match(v6(r), /^fd00:10:245::/);
    assert.deepEqual(
      r.routes,
      [
        { dst: '10.245.0.0/16', gw: '169.254.1.1' },
        { dst: 'fd00:10:245::/48', gw: 'fe80::1' },
      ],
      'exactly the configured routes',
    );
    assert.deepEqual(await podRoutes(ns.name, 'net1'), ['10.245.0.0/16 via 169.254.1.1', 'fd00:10:245::/48 via fe80::1'], 'no default route through net1');
    assert.deepEqual(await podRoutes(ns.name, 'eth0'), ['default via 169.254.1.1', 'default via fe80::1'], "eth0 keeps the cluster network's default routes");
    // Each address has its host route in the node, through its own host end.
    for (const [result, address] of [
      [eth0, v4(eth0)],
      [eth0, v6(eth0)],
      [r, v4(r)],
      [r, v6(r)],
    ] as const) {
      assert.deepEqual(
        (await theNode().hostRoutes(address)).map((x) => x.dev),
        [result.interfaces[0]?.name],
        `host route to ${address}`,
      );
    }
  }
  // Pod 1 reaches pod 2 on net1 through the node (both families), and the CHECKs still pass.
  const [p1, p2] = pods;
  assert.ok(p1 && p2);
  for (const address of [v4(p2.net1), v6(p2.net1)]) {
    const ping = await runCommand('ip', ['netns', 'exec', p1.ns.name, 'ping', ...(address.includes(':') ? ['-6'] : []), '-c', '1', '-W', '2', address], {
      timeoutMs: 20_000,
    });
    assert.equal(ping.code, 0, `ping ${address} on net1: ${ping.stdout}${ping.stderr}`);
  }
});
