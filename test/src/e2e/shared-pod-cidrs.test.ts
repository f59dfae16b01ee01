/**
 * Issue 19, finding 1: two podwire networks on a node with pod CIDRs. Neither configures
 * ipam.ranges, so both allocate from the node's pod CIDRs; every pod address gets a host
 * route in the node's main table, so the two must never hand out the same address.
 *
 * A real podwired with `node.podCIDRs`, inside a "node" netns of its own (its host routes
 * stay there), and the real shim: pods on both networks get distinct addresses and keep
 * their host routes, CHECK passes for both, an address requested on one network that the
 * other holds is refused naming the holder, and DEL of one pod leaves the other's route.
 * Traffic: none leaves the test's netns.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PodCidrNode } from '../lib/pod-cidr-node';

const PID = process.pid;
const POD_CIDRS = ['10.243.19.0/24', 'fd43:19::/64'];
/** The cluster network and a second podwire network, neither with ranges. */
const NET_A = `spc-podwire-${PID}`;
const NET_B = `spc-net1-${PID}`;
const conf = (name: string) => ({ cniVersion: '1.0.0', name, type: 'podwire', ipam: { type: 'podwire' } });

interface Result {
  interfaces: Array<{ name: string }>;
  ips: Array<{ address: string }>;
}

let node: PodCidrNode | undefined;
const attached: Array<{ net: string; containerId: string; netns: string; ifname: string }> = [];

function theNode(): PodCidrNode {
  assert.ok(node, 'the node started');
  return node;
}

before(async () => {
  node = await PodCidrNode.start('spc', POD_CIDRS);
});

after(async () => {
  try {
    for (const a of attached.reverse()) await node?.shim({ command: 'DEL', containerId: a.containerId, netns: a.netns, ifname: a.ifname, config: conf(a.net) });
  } finally {
    await node?.cleanup();
  }
});

async function add(net: string, pod: string, args?: string): Promise<{ result: Result; call: { containerId: string; netns: string; ifname: string } }> {
  const ns = await theNode().pod(pod);
  const call = { containerId: `ctr-${pod}-${PID}`, netns: ns.path, ifname: 'eth0' };
  const out = await theNode().shim({ command: 'ADD', ...call, config: conf(net), ...(args ? { args } : {}) });
  assert.equal(out.exitCode, 0, `ADD ${pod} on ${net}: ${out.stdout}`);
  attached.push({ net, ...call });
  return { result: out.json as unknown as Result, call };
}

const addresses = (r: Result) => r.ips.map((i) => i.address.split('/')[0] ?? '');
const hostEnd = (r: Result) => r.interfaces[0]?.name ?? '';

/** Each address's host route in the node, as "address dev X" (none: "address -"). */
async function routesOf(addrs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const a of addrs) {
    const routes = await theNode().hostRoutes(a);
    out.push(routes.length === 0 ? `${a} -` : routes.map((r) => `${a} dev ${r.dev ?? '?'}`).join(' | '));
  }
  return out;
}

test('two podwire networks without ranges share the node pod CIDRs without sharing an address; routes, CHECK, a refused request and DEL', async () => {
  const a = await add(NET_A, 'a');
  const b = await add(NET_B, 'b');
  const aIps = addresses(a.result);
  const bIps = addresses(b.result);
  assert.equal(aIps.length, 2, 'dual-stack from the two pod CIDRs');
  assert.ok(aIps[0]?.startsWith('10.243.19.') && bIps[0]?.startsWith('10.243.19.'), `${aIps} ${bIps}`);
  assert.deepEqual(
    aIps.filter((ip) => bIps.includes(ip)),
    [],
    `distinct addresses: ${NET_A} ${aIps.join(' ')}, ${NET_B} ${bIps.join(' ')}`,
  );

  // Both pods keep their host routes, each through its own host end.
  assert.deepEqual(
    await routesOf(aIps),
    aIps.map((ip) => `${ip} dev ${hostEnd(a.result)}`),
  );
  assert.deepEqual(
    await routesOf(bIps),
    bIps.map((ip) => `${ip} dev ${hostEnd(b.result)}`),
  );

  for (const [net, pod] of [
    [NET_A, a],
    [NET_B, b],
  ] as const) {
    const check = await theNode().shim({ command: 'CHECK', ...pod.call, config: { ...conf(net), prevResult: pod.result } });
    assert.equal(check.exitCode, 0, `CHECK ${net}: ${check.stdout}`);
  }

  // Asking network B for pod A's address (IP=) is refused, naming who holds it; A's route stays.
  const ns = await theNode().pod('c');
  const taken = await theNode().shim({
    command: 'ADD',
    containerId: `ctr-c-${PID}`,
    netns: ns.path,
    ifname: 'eth0',
    config: conf(NET_B),
    args: `IP=${aIps[0]}`,
  });
  assert.equal(taken.exitCode, 1, taken.stdout);
  assert.equal(taken.json?.code, 105, taken.stdout);
  assert.match(
    String(taken.json?.details),
    new RegExp(`${aIps[0]?.replace(/\./g, '\\.')} is leased to network ${NET_A}, container ${a.call.containerId}, interface eth0`),
  );
  assert.deepEqual(
    await routesOf(aIps),
    aIps.map((ip) => `${ip} dev ${hostEnd(a.result)}`),
  );

  // DEL of B leaves A's routes, and A's CHECK still passes.
  const del = await theNode().shim({ command: 'DEL', ...b.call, config: conf(NET_B) });
  assert.equal(del.exitCode, 0, del.stdout);
  assert.deepEqual(
    await routesOf(bIps),
    bIps.map((ip) => `${ip} -`),
    "B's routes are gone",
  );
  assert.deepEqual(
    await routesOf(aIps),
    aIps.map((ip) => `${ip} dev ${hostEnd(a.result)}`),
    "A's routes stay",
  );
  const check = await theNode().shim({ command: 'CHECK', ...a.call, config: { ...conf(NET_A), prevResult: a.result } });
  assert.equal(check.exitCode, 0, `CHECK ${NET_A} after DEL of ${NET_B}: ${check.stdout}`);
});
