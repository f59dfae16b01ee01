/**
 * NetworkPolicy on a pod with two podwire interfaces (Multus-style: eth0 on one podwire
 * network, net1 on another, one sandbox), with a real podwired (file source) in a "node"
 * netns, pods wired through the real shim and real TCP between the pods' netns:
 *
 *   node netns: podwired, node address 10.205.0.1; network A 10.205.1.0/24 (default route),
 *   network B 10.205.2.0/24 (ipam.routes: B only); no other test uses them
 *   namespace x: m (app=web: eth0 on A, net1 on B, serves 7200), ca (app=other, on A),
 *   cb (app=other, on B), ok (app=client, on A)
 *   policy x/web-ingress: pods app=web admit TCP 7200 from app=client only
 *
 * The moment m's second ADD returns, probes to BOTH of its addresses are refused (before the
 * fix only the interface ADDed last was policed); a DEL of either attachment leaves the other
 * policed. Traffic only among the test's own netns.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTcpEchoPeer, tcpProbeAnswers } from '../lib/echo-peer-process';
import { TestNetnsSet } from '../lib/netns';
import { PodwiredProcess } from '../lib/podwired-process';
import { mustRun } from '../lib/run-command';
import { netConf, runShim } from '../lib/shim';

const PORT = 7200;
const NODE_IP = '10.205.0.1';
const SUBNET_A = '10.205.1.0/24';
const SUBNET_B = '10.205.2.0/24';
const CONF = {
  A: netConf('polmi-a', SUBNET_A),
  B: netConf('polmi-b', SUBNET_B, { ipam: { ranges: [[{ subnet: SUBNET_B }]], routes: [{ dst: SUBNET_B }] } }),
} as const;
const netns = new TestNetnsSet(`polmi-${process.pid}`);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-polmi-'));
const policyFile = path.join(root, 'policy.yaml');
const peers: ChildProcess[] = [];
let nodeNs = '';
let server: PodwiredProcess;
const pods: Record<string, { ns: string; path: string }> = {};
/** pod/ifname -> its address. */
const ips: Record<string, string> = {};

const POLICY = `
apiVersion: v1
kind: Namespace
metadata: { name: x }
---
apiVersion: v1
kind: Pod
metadata: { name: m, namespace: x, labels: { app: web } }
---
apiVersion: v1
kind: Pod
metadata: { name: ca, namespace: x, labels: { app: other } }
---
apiVersion: v1
kind: Pod
metadata: { name: cb, namespace: x, labels: { app: other } }
---
apiVersion: v1
kind: Pod
metadata: { name: ok, namespace: x, labels: { app: client } }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: web-ingress, namespace: x }
spec:
  podSelector: { matchLabels: { app: web } }
  ingress:
    - from: [{ podSelector: { matchLabels: { app: client } } }]
      ports: [{ protocol: TCP, port: ${PORT} }]
`;

const listen = (where: string, name: string): Promise<void> => startTcpEchoPeer(peers, where, PORT, name);

/** One TCP probe from pod `from` (3 s without an answer: refused). */
const probe = (from: string, host: string): Promise<boolean> => tcpProbeAnswers(pods[from]!.ns, host, PORT);

async function pod(name: string): Promise<void> {
  const p = await netns.create(name);
  pods[name] = { ns: p.name, path: p.path };
}

async function cni(command: 'ADD' | 'DEL', name: string, net: 'A' | 'B', ifname: string): Promise<void> {
  const r = await runShim({
    command,
    containerId: `ctr-polmi-${name}`,
    netns: pods[name]!.path,
    ifname,
    config: CONF[net],
    args: `K8S_POD_NAMESPACE=x;K8S_POD_NAME=${name}`,
    env: { PODWIRE_SOCKET: server.socket },
  });
  assert.equal(r.exitCode, 0, `${command} ${name}/${ifname}: ${r.stdout}${r.stderr}`);
  if (command === 'ADD') ips[`${name}/${ifname}`] = (((r.json?.ips ?? []) as Array<{ address: string }>)[0]?.address ?? '').split('/')[0] ?? '';
}

async function isolated(): Promise<string[]> {
  const [table] = server.nftTables();
  assert.ok(table);
  const out = await mustRun('ip', ['netns', 'exec', nodeNs, 'nft', '-j', 'list', 'set', ...table.split(' '), 'ingress-isolated']);
  const set = (JSON.parse(out) as { nftables: Array<{ set?: { elem?: string[] } }> }).nftables.find((o) => o.set)?.set;
  return [...(set?.elem ?? [])].sort();
}

before(async () => {
  nodeNs = (await netns.create('node')).name;
  await mustRun('ip', ['-n', nodeNs, 'link', 'set', 'lo', 'up']);
  await mustRun('ip', ['-n', nodeNs, 'addr', 'add', `${NODE_IP}/32`, 'dev', 'lo']);
  fs.writeFileSync(policyFile, POLICY);
  fs.mkdirSync(path.join(root, 'node'), { recursive: true, mode: 0o700 });
  server = PodwiredProcess.inTempDir(path.join(root, 'node'), { netns: nodeNs, config: { policy: { source: 'file', file: policyFile } } });
  await server.start();
});

after(async () => {
  for (const p of peers) p.kill('SIGKILL');
  await server?.stop();
  server?.deleteNftTables();
  await netns.cleanup();
  fs.rmSync(root, { recursive: true, force: true });
});

test('two podwire interfaces on one pod: both policed the moment the second ADD returns; DEL of either leaves the other policed', {
  timeout: 60_000,
}, async () => {
  for (const name of ['m', 'ca', 'cb', 'ok']) await pod(name);
  await cni('ADD', 'ca', 'A', 'eth0');
  await cni('ADD', 'cb', 'B', 'eth0');
  await cni('ADD', 'ok', 'A', 'eth0');
  await listen(pods.m!.ns, 'm');
  await cni('ADD', 'm', 'A', 'eth0');
  await cni('ADD', 'm', 'B', 'net1');
  const [mA, mB] = [ips['m/eth0']!, ips['m/net1']!];
  assert.ok(mA.startsWith('10.205.1.') && mB.startsWith('10.205.2.'), `${mA} ${mB}`);
  // Sent at once, the moment the second ADD returned: no retry.
  const [viaA, viaB, allowed] = await Promise.all([probe('ca', mA), probe('cb', mB), probe('ok', mA)]);
  assert.equal(viaA, false, "m's first interface (eth0) is still policed after net1's ADD");
  assert.equal(viaB, false, "m's second interface (net1) is policed from its first packet");
  assert.equal(allowed, true, 'the allowed flow works');
  assert.equal((await isolated()).length, 2, `both of m's host veths isolated: ${(await isolated()).join(' ')}`);

  // DEL of net1: eth0 stays policed.
  await cni('DEL', 'm', 'B', 'net1');
  assert.equal((await isolated()).length, 1);
  const [afterDelA, okAfterDel] = await Promise.all([probe('ca', mA), probe('ok', mA)]);
  assert.equal(afterDelA, false, 'eth0 still refuses app=other after the DEL of net1');
  assert.equal(okAfterDel, true);

  // net1 again, then DEL of eth0: net1 stays policed.
  await cni('ADD', 'm', 'B', 'net1');
  const mB2 = ips['m/net1']!;
  assert.equal(await probe('cb', mB2), false);
  await cni('DEL', 'm', 'A', 'eth0');
  assert.equal((await isolated()).length, 1);
  assert.equal(await probe('cb', mB2), false, 'net1 still refuses app=other after the DEL of eth0');
  await cni('DEL', 'm', 'B', 'net1');
  assert.deepEqual(await isolated(), []);
  for (const [name, net] of [
    ['ca', 'A'],
    ['cb', 'B'],
    ['ok', 'A'],
  ] as const)
    await cni('DEL', name, net, 'eth0');
});
