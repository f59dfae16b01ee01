/**
 * The verb handlers against a real SQLite lease store and a scripted datapath (the real
 * datapath is covered end to end in test/e2e): what each verb leaves in the store when the
 * datapath succeeds or fails.
 */
import { after, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type IpamStore, openIpamStore } from '@podwire/ipam-store';
import { CniError } from '../cni/cni-error';
import type { CniInvocation } from '../cni/cni-invocation';
import { parseNetConf } from '../cni/net-conf';
import { parseCniArgs } from '../cni/cni-args';
import { FakeDatapath } from '../datapath/fake-datapath';
import { KeyedMutex } from '../keyed-mutex';
import { NetworkRegistry } from '../pools/network-registry';
import { handleAdd } from './add';
import { handleCheck } from './check';
import { handleDel } from './del';
import { handleGc } from './gc';
import { handleGet } from './get';
import { handleStatus } from './status';
import { type CallContext, type HandlerDeps, NOT_ABANDONED, type VerbHandler } from './handler-deps';
import { AbandonedAdd } from './abandoned-add';
import type { NetConf } from '../cni/net-conf';
import { NodePodCidrs } from '../peers/node-pod-cidrs';
import { FakeHostPorts } from '../test-support/fake-host-ports';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-handlers-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let store: IpamStore;
let datapath: FakeDatapath;
let deps: HandlerDeps;
let n = 0;
beforeEach(() => {
  store = openIpamStore(path.join(dir, `s${n++}.db`));
  datapath = new FakeDatapath();
  deps = { store, datapath, locks: new KeyedMutex(), networks: new NetworkRegistry() };
});

const conf = (extra: Record<string, unknown> = {}) =>
  parseNetConf(Buffer.from(JSON.stringify({ cniVersion: '1.1.0', name: 'n', type: 'podwire', ipam: { ranges: [[{ subnet: '10.9.0.0/30' }]] }, ...extra })));
const inv = (containerId: string, verb: CniInvocation['verb'] = 'ADD'): CniInvocation => ({
  verb,
  containerId,
  netns: '/var/run/netns/x',
  ifname: 'eth0',
  args: '',
  path: '',
});
/** A handler called as the dispatcher calls it, with the call read from `i` and `c`. */
const run = (h: VerbHandler, i: CniInvocation, c: NetConf, ctx: CallContext = NOT_ABANDONED) =>
  h(deps, { verb: i.verb, inv: i, conf: c, args: parseCniArgs(i.args) }, ctx);
const rejectsWith = (p: Promise<unknown>, code: number) => assert.rejects(p, (e: unknown) => e instanceof CniError && e.code === code);

test('ADD stores a ready attachment with its result; GET returns it in the caller version', async () => {
  const out = JSON.parse(await run(handleAdd, inv('a'), conf())) as { ips: Array<{ address: string }>; interfaces: Array<{ mtu?: number }> };
  assert.equal(out.ips[0]?.address, '10.9.0.1/32');
  assert.equal(out.interfaces[1]?.mtu, 1500);
  const rec = store.get({ network: 'n', containerId: 'a', ifname: 'eth0' });
  assert.equal(rec?.attachment.state, 'ready');
  const got = JSON.parse(await run(handleGet, inv('a', 'GET'), conf({ cniVersion: '0.4.0' }))) as { cniVersion: string; ips: Array<{ version: string }> };
  assert.equal(got.cniVersion, '0.4.0');
  assert.equal(got.ips[0]?.version, '4');
});

test('a datapath failure releases the lease and leaves no attachment', async () => {
  datapath.failSetUp = new Error('netlink said no');
  await rejectsWith(run(handleAdd, inv('a'), conf()), 103);
  assert.deepEqual(store.listAttachments(), []);
  assert.deepEqual(store.listLeases(), []);
});

test('a second ADD of the same key is refused (101) and changes nothing', async () => {
  await run(handleAdd, inv('a'), conf());
  await rejectsWith(run(handleAdd, inv('a'), conf()), 101);
  assert.equal(store.listLeases().length, 1);
  assert.equal(datapath.wired.size, 1);
});

test('pool exhaustion is 100, STATUS says 50, and both recover after a DEL', async () => {
  await run(handleAdd, inv('a'), conf());
  await run(handleAdd, inv('b'), conf());
  await rejectsWith(run(handleAdd, inv('c'), conf()), 100);
  await rejectsWith(run(handleStatus, inv('', 'STATUS'), conf()), 50);
  await run(handleDel, inv('a', 'DEL'), conf());
  assert.equal(await run(handleStatus, inv('', 'STATUS'), conf()), '');
  await run(handleAdd, inv('c'), conf());
});

test('DEL is idempotent and tears down the derived host veth even with no record', async () => {
  await run(handleAdd, inv('a'), conf());
  assert.equal(await run(handleDel, inv('a', 'DEL'), conf()), '');
  assert.equal(await run(handleDel, inv('a', 'DEL'), conf()), '');
  const derived = datapath.hostIfname({ network: 'n', containerId: 'a', ifname: 'eth0' });
  assert.deepEqual(datapath.detached, [derived, derived], 'both DELs detached the derived host veth');
  assert.deepEqual(store.listLeases(), []);
});

test('CHECK: unknown container is 3, below 0.4.0 is 1, a prevResult with other addresses is 104', async () => {
  await rejectsWith(run(handleCheck, inv('zz', 'CHECK'), conf()), 3);
  await run(handleAdd, inv('a'), conf());
  await rejectsWith(run(handleCheck, inv('a', 'CHECK'), conf({ cniVersion: '0.3.1' })), 1);
  assert.equal(await run(handleCheck, inv('a', 'CHECK'), conf({ prevResult: { ips: [{ address: '10.9.0.1/32' }] } })), '');
  await rejectsWith(run(handleCheck, inv('a', 'CHECK'), conf({ prevResult: { ips: [{ address: '10.9.0.2/32' }] } })), 104);
});

test('GC removes exactly the attachments not listed as valid', async () => {
  await run(handleAdd, inv('keep'), conf());
  await run(handleAdd, inv('drop'), conf());
  await run(handleGc, inv('', 'GC'), conf({ 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] }));
  assert.deepEqual(
    store.listAttachments().map((a) => a.containerId),
    ['keep'],
  );
  assert.equal(store.listLeases().length, 1);
  await rejectsWith(run(handleGc, inv('', 'GC'), conf({ 'cni.dev/valid-attachments': 'x' })), 7);
});

const noRanges = (extra: Record<string, unknown> = {}) =>
  parseNetConf(Buffer.from(JSON.stringify({ cniVersion: '1.1.0', name: 'n', type: 'podwire', ipam: { type: 'podwire' }, ...extra })));

test('without ranges, ADD allocates from the node pod CIDRs (one address per family, network and broadcast skipped)', async () => {
  deps.node = new NodePodCidrs('node-a', ['fd00:9:1::/126', '10.9.1.0/30']);
  const a = JSON.parse(await run(handleAdd, inv('a'), noRanges())) as { ips: Array<{ address: string }> };
  assert.deepEqual(
    a.ips.map((i) => i.address),
    ['10.9.1.1/32', 'fd00:9:1::1/128'],
  );
  const b = JSON.parse(await run(handleAdd, inv('b'), noRanges())) as { ips: Array<{ address: string }> };
  assert.deepEqual(
    b.ips.map((i) => i.address),
    ['10.9.1.2/32', 'fd00:9:1::2/128'],
  );
  await rejectsWith(run(handleAdd, inv('c'), noRanges()), 100);
  assert.deepEqual(
    deps.networks.usage(store).map((u) => [u.rangeSet, u.used, u.size]),
    [
      ['10.9.1.1-10.9.1.2 (10.9.1.0/30)', 2, 2],
      ['fd00:9:1::1-fd00:9:1::3 (fd00:9:1::/126)', 2, 3],
    ],
  );
  await rejectsWith(run(handleStatus, inv('', 'STATUS'), noRanges()), 50);
});

test('explicit ranges inside the node pod CIDRs or wholly outside them are served; one straddling a pod CIDR is code 7 naming both; without node CIDRs no ranges is code 7 for ADD', async () => {
  deps.node = new NodePodCidrs('node-a', ['10.9.0.0/24']);
  assert.ok(await run(handleAdd, inv('in'), conf()));
  // A secondary network's own subnet (its routes between nodes are the user's business).
  assert.ok(await run(handleAdd, inv('own'), conf({ ipam: { ranges: [[{ subnet: '10.8.0.0/24' }]] } })));
  assert.ok(await run(handleAdd, inv('v6'), conf({ ipam: { ranges: [[{ subnet: 'fd00:9::/120' }]] } })));
  const straddling = conf({ ipam: { ranges: [[{ subnet: '10.9.0.0/16' }]] } });
  await assert.rejects(run(handleAdd, inv('wide'), straddling), (e: unknown) => {
    assert.ok(e instanceof CniError);
    assert.equal(e.code, 7);
    assert.match(e.message, /10\.9\.0\.1-10\.9\.255\.254 \(10\.9\.0\.0\/16\) overlaps this node's pod CIDR 10\.9\.0\.0\/24 without lying inside it/);
    return true;
  });
  await rejectsWith(run(handleStatus, inv('', 'STATUS'), straddling), 7);
  assert.equal(store.listAttachments().length, 3, 'the refused ADD leased nothing');
  deps.node = new NodePodCidrs('node-a', []);
  await rejectsWith(run(handleAdd, inv('none'), noRanges()), 7);
});

test('STATUS is 50 (not ready for ADD) while a config without ranges meets a node without pod CIDRs, and succeeds once they are learnt', async () => {
  const notReady = (e: unknown) => {
    assert.ok(e instanceof CniError);
    assert.equal(e.code, 50);
    assert.match(e.message, /no pod CIDR/);
    assert.match(e.details, /node-k/);
    return true;
  };
  // The kubernetes peer source has not learnt this node's spec.podCIDRs yet: ADD cannot be served.
  const node = new NodePodCidrs('node-k', [], false);
  deps.node = node;
  await rejectsWith(run(handleAdd, inv('early'), noRanges()), 7);
  await assert.rejects(run(handleStatus, inv('', 'STATUS'), noRanges()), notReady);
  assert.deepEqual(deps.networks.usage(store), [], 'nothing recorded for a network that cannot allocate');
  // No node at all (no node config): the same.
  delete deps.node;
  await assert.rejects(run(handleStatus, inv('', 'STATUS'), noRanges()), (e: unknown) => e instanceof CniError && e.code === 50);
  // Learnt: STATUS and ADD both succeed.
  deps.node = node;
  assert.ok(node.learn(['10.9.2.0/24']));
  assert.equal(await run(handleStatus, inv('', 'STATUS'), noRanges()), '');
  assert.ok(await run(handleAdd, inv('late'), noRanges()));
});

test('an ADD whose caller gave up is rolled back inside the handler: no attachment, no lease, the veth torn down', async () => {
  const gaveUp: CallContext = { abandoned: () => true };
  await assert.rejects(run(handleAdd, inv('late'), conf(), gaveUp), (e: unknown) => e instanceof AbandonedAdd && e.rollbackError === undefined);
  assert.deepEqual(store.listAttachments(), []);
  assert.deepEqual(store.listLeases(), []);
  assert.equal(datapath.wired.size, 0);
  assert.deepEqual(datapath.tornDown, [datapath.hostIfname({ network: 'n', containerId: 'late', ifname: 'eth0' })]);
});

const hostOf = (containerId: string) => datapath.hostIfname({ network: 'n', containerId, ifname: 'eth0' });
const storeOf = (containerId: string) => ({
  attachments: store
    .listAttachments()
    .filter((a) => a.containerId === containerId)
    .map((a) => `${a.state} ${a.hostIfname}`),
  leases: store
    .listLeases()
    .filter((l) => l.containerId === containerId)
    .map((l) => l.address),
});

test('a datapath failure whose tear-down fails too keeps the address leased (a pending attachment) and says why; DEL then clears it', async () => {
  datapath.failSetUp = new CniError(103, 'failed to wire the pod network', 'EEXIST');
  datapath.failTearDown = new Error('RTM_DELLINK 42: ETIMEDOUT');
  await assert.rejects(run(handleAdd, inv('a'), conf()), (e: unknown) => {
    assert.ok(e instanceof CniError);
    assert.equal(e.code, 103);
    assert.match(e.details, /^EEXIST; tearing the pod network down failed: RTM_DELLINK 42: ETIMEDOUT; its addresses stay leased/);
    return true;
  });
  assert.deepEqual(storeOf('a'), { attachments: [`pending ${hostOf('a')}`], leases: ['10.9.0.1'] }, 'not freed while the pair may be wired');
  // Another pod does not get that address.
  datapath.failSetUp = undefined;
  datapath.failTearDown = undefined;
  const b = JSON.parse(await run(handleAdd, inv('b'), conf())) as { ips: Array<{ address: string }> };
  assert.equal(b.ips[0]?.address, '10.9.0.2/32');
  assert.equal(await run(handleDel, inv('a', 'DEL'), conf()), '');
  assert.deepEqual(datapath.detached, [hostOf('a')]);
  assert.deepEqual(storeOf('a'), { attachments: [], leases: [] });
});

test('a datapath failure whose tear-down succeeds frees the address (the pair is proven gone)', async () => {
  datapath.failSetUp = new Error('netlink said no');
  await rejectsWith(run(handleAdd, inv('a'), conf()), 103);
  assert.deepEqual(datapath.tornDown, [hostOf('a')], 'the tear-down that proves it gone');
  assert.deepEqual(storeOf('a'), { attachments: [], leases: [] });
});

test('an abandoned ADD whose tear-down fails keeps the address leased (pending) and carries the failure', async () => {
  datapath.failTearDown = new Error('RTM_DELLINK 43: EBUSY');
  await assert.rejects(
    run(handleAdd, inv('late'), conf(), { abandoned: () => true }),
    (e: unknown) =>
      e instanceof AbandonedAdd && /^tearing the pod network down failed: RTM_DELLINK 43: EBUSY; its addresses stay leased/.test(e.rollbackError ?? ''),
  );
  assert.deepEqual(storeOf('late'), { attachments: [`pending ${hostOf('late')}`], leases: ['10.9.0.1'] });
});

test('a failed commit tears the pod down; when that fails too, the error says so and the address stays leased (pending)', async () => {
  const real = store;
  deps.store = Object.assign(Object.create(real) as IpamStore, {
    allocate: (...args: Parameters<IpamStore['allocate']>) => {
      const a = real.allocate(...args);
      return {
        leases: a.leases,
        // A failed commit keeps the hold (the allocation's contract): rollBack() decides.
        commit: () => {
          throw new Error('disk I/O error');
        },
        keepPending: () => a.keepPending(),
        release: () => a.release(),
      };
    },
  });
  datapath.failTearDown = new Error('RTM_DELLINK 44: ETIMEDOUT');
  await assert.rejects(run(handleAdd, inv('a'), conf()), (e: unknown) => {
    assert.ok(e instanceof CniError);
    assert.equal(e.code, 106);
    assert.match(e.details, /^disk I\/O error; tearing the pod network down failed: RTM_DELLINK 44: ETIMEDOUT; its addresses stay leased/);
    return true;
  });
  assert.deepEqual(storeOf('a'), { attachments: [`pending ${hostOf('a')}`], leases: ['10.9.0.1'] });
  // With a tear-down that works, a failed commit leaves nothing.
  datapath.failTearDown = undefined;
  await rejectsWith(run(handleAdd, inv('b'), conf()), 106);
  assert.deepEqual(storeOf('b'), { attachments: [], leases: [] });
  assert.equal(datapath.wired.has(hostOf('b')), false);
});

// hostPort mappings (runtimeConfig.portMappings) through an injected HostPorts.
const withPorts = (portMappings: unknown[], extra: Record<string, unknown> = {}) => conf({ runtimeConfig: { portMappings }, ...extra });
const web = [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }];

test('ADD maps the hostPorts to the leased address before it returns; the stored result carries them, the printed one does not; GET shows them', async () => {
  const ports = new FakeHostPorts();
  deps.ports = ports;
  const printed = JSON.parse(await run(handleAdd, inv('a', 'ADD'), withPorts([...web, { hostPort: 53, containerPort: 5353, protocol: 'udp' }]))) as Record<
    string,
    unknown
  >;
  assert.deepEqual(Object.keys(printed).sort(), ['cniVersion', 'interfaces', 'ips', 'routes'], 'the printed result stays spec-shaped');
  assert.deepEqual(ports.holders(), { 'tcp 0.0.0.0:8080': 'n/a/eth0', 'udp 0.0.0.0:53': 'n/a/eth0' });
  assert.deepEqual(ports.localnet, [hostOf('a')]);
  const stored = JSON.parse(store.get({ network: 'n', containerId: 'a', ifname: 'eth0' })?.attachment.result ?? '{}') as { portMappings?: unknown };
  assert.deepEqual(stored.portMappings, [
    { protocol: 'tcp', hostPort: 8080, podIP: '10.9.0.1', containerPort: 80 },
    { protocol: 'udp', hostPort: 53, podIP: '10.9.0.1', containerPort: 5353 },
  ]);
  const got = JSON.parse(await run(handleGet, inv('a', 'GET'), conf())) as { portMappings?: unknown };
  assert.deepEqual(got.portMappings, stored.portMappings);
});

test('a hostPort another pod holds: 107 naming that pod, and the whole ADD rolled back (no lease, no veth, no mapping)', async () => {
  const ports = new FakeHostPorts();
  deps.ports = ports;
  await run(handleAdd, { ...inv('first'), args: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1;IgnoreUnknown=1' }, withPorts(web));
  await assert.rejects(run(handleAdd, inv('second'), withPorts([...web, { hostPort: 9090, containerPort: 90 }])), (e: unknown) => {
    assert.ok(e instanceof CniError);
    assert.equal(e.code, 107);
    assert.match(e.message, /hostPort tcp 0\.0\.0\.0:8080 is already mapped for pod default\/web-1 \(container first, eth0, network n\)/);
    return true;
  });
  assert.deepEqual(storeOf('second'), { attachments: [], leases: [] });
  assert.ok(!datapath.wired.has(hostOf('second')), 'the pod network was torn down');
  assert.deepEqual(ports.holders(), { 'tcp 0.0.0.0:8080': 'n/first/eth0' }, 'nothing of the refused ADD stays mapped, the holder keeps its port');
});

test('an ADD with portMappings and no HostPorts fails (103) rather than not mapping; a hostIP of a family the pod lacks is 7; both leave nothing', async () => {
  await assert.rejects(run(handleAdd, inv('a'), withPorts(web)), (e: unknown) => e instanceof CniError && e.code === 103 && /not available/.test(e.message));
  deps.ports = new FakeHostPorts();
  await rejectsWith(run(handleAdd, inv('b'), withPorts([{ hostPort: 80, containerPort: 80, hostIP: 'fd7b::1' }])), 7);
  assert.deepEqual(store.listAttachments(), []);
  assert.deepEqual(store.listLeases(), []);
  assert.equal(datapath.wired.size, 0);
});

test('a mapping the kernel refuses rolls the ADD back (103); an abandoned ADD and a failed commit unmap what they mapped', async () => {
  const ports = new FakeHostPorts();
  deps.ports = ports;
  ports.failMap = new Error('map ports: Could not process rule: No buffer space available');
  await rejectsWith(run(handleAdd, inv('a'), withPorts(web)), 103);
  assert.deepEqual(storeOf('a'), { attachments: [], leases: [] });
  ports.failMap = undefined;
  await assert.rejects(run(handleAdd, inv('b'), withPorts(web), { abandoned: () => true }), AbandonedAdd);
  assert.deepEqual(ports.holders(), {});
  assert.deepEqual(ports.unmapped, ['n/a/eth0', 'n/b/eth0']);
  assert.equal(datapath.wired.size, 0);
});

test('DEL and GC unmap the hostPorts; CHECK fails (104) when a mapping is missing', async () => {
  const ports = new FakeHostPorts();
  deps.ports = ports;
  await run(handleAdd, inv('a'), withPorts(web));
  await run(handleAdd, inv('b'), withPorts([{ hostPort: 9090, containerPort: 90 }]));
  assert.equal(await run(handleCheck, inv('a', 'CHECK'), conf()), '');
  ports.byKey.delete('tcp 0.0.0.0:8080');
  await assert.rejects(run(handleCheck, inv('a', 'CHECK'), conf()), (e: unknown) => e instanceof CniError && e.code === 104 && /8080/.test(e.details));
  await run(handleDel, inv('a', 'DEL'), conf());
  assert.ok(ports.unmapped.includes('n/a/eth0'));
  await run(handleGc, inv('', 'GC'), conf({ 'cni.dev/valid-attachments': [] }));
  assert.deepEqual(ports.holders(), {});
  assert.deepEqual(store.listAttachments(), []);
});

test('a DEL whose unmap fails fails (103) and keeps the attachment, so the runtime retries it', async () => {
  const ports = new FakeHostPorts();
  deps.ports = ports;
  await run(handleAdd, inv('a'), withPorts(web));
  ports.failUnmap = new Error('unmap: Could not process rule: Cannot allocate memory');
  await rejectsWith(run(handleDel, inv('a', 'DEL'), conf()), 103);
  assert.equal(store.listAttachments().length, 1);
  ports.failUnmap = undefined;
  await run(handleDel, inv('a', 'DEL'), conf());
  assert.deepEqual(store.listAttachments(), []);
});

/** A PodPolicyGate recording admits and releases; `refuse` makes admit throw before changing anything. */
class FakePolicyGate {
  readonly registered = new Map<string, string>();
  readonly calls: string[] = [];
  refuse: CniError | undefined;
  async admit(pod: { namespace: string; name: string }, local: { ifname: string; ips: string[] }): Promise<void> {
    this.calls.push(`admit ${pod.namespace}/${pod.name} ${local.ifname} ${local.ips.join(',')}`);
    if (this.refuse) throw this.refuse;
    this.registered.set(`${pod.namespace}/${pod.name}`, local.ifname);
  }
  release(pod: { namespace: string; name: string }, ifname: string): void {
    this.calls.push(`release ${pod.namespace}/${pod.name} ${ifname}`);
    if (this.registered.get(`${pod.namespace}/${pod.name}`) === ifname) this.registered.delete(`${pod.namespace}/${pod.name}`);
  }
  missing(pod: { namespace: string; name: string }, ifname: string): string[] {
    return this.registered.get(`${pod.namespace}/${pod.name}`) === ifname ? [] : ['not registered'];
  }
}

test('NetworkPolicy: ADD admits the pod before wiring it, a failed wiring releases it, DEL releases it, CHECK asks; 11 from admit wires nothing', async () => {
  const gate = new FakePolicyGate();
  deps.policy = gate;
  const podInv = (id: string, name: string): CniInvocation => ({ ...inv(id), args: `K8S_POD_NAMESPACE=x;K8S_POD_NAME=${name}` });
  // Admit refused (labels unknown): 11, nothing allocated, nothing wired.
  gate.refuse = new CniError(11, 'the labels of pod x/a are not known yet');
  await rejectsWith(run(handleAdd, podInv('a', 'a'), conf()), 11);
  assert.deepEqual(store.listLeases(), []);
  assert.equal(datapath.wired.size, 0);

  gate.refuse = undefined;
  // A wiring that fails after the admit: released in the rollback, lease freed.
  datapath.failSetUp = new Error('netlink said no');
  await rejectsWith(run(handleAdd, podInv('a', 'a'), conf()), 103);
  assert.equal(gate.registered.size, 0);
  assert.match(gate.calls.at(-1) ?? '', /^release x\/a /);
  assert.deepEqual(store.listLeases(), []);
  datapath.failSetUp = undefined;
  // Success: registered on the host veth with the leased address; CHECK passes; DEL releases.
  await run(handleAdd, podInv('a', 'a'), conf());
  const hostIfname = datapath.hostIfname({ network: 'n', containerId: 'a', ifname: 'eth0' });
  assert.equal(gate.registered.get('x/a'), hostIfname);
  assert.match(gate.calls.at(-1) ?? '', new RegExp(`^admit x/a ${hostIfname} 10\\.9\\.0\\.\\d$`));
  await run(handleCheck, { ...podInv('a', 'a'), verb: 'CHECK' }, conf());
  gate.registered.delete('x/a');
  await rejectsWith(run(handleCheck, { ...podInv('a', 'a'), verb: 'CHECK' }, conf()), 104);
  gate.registered.set('x/a', hostIfname);
  await run(handleDel, { ...inv('a', 'DEL') }, conf());
  assert.equal(gate.registered.size, 0, 'DEL released it (pod named by the stored attachment, CNI_ARGS empty)');
  // A pod without K8S_POD_* is not policed.
  await run(handleAdd, inv('b'), conf());
  assert.equal(gate.calls.filter((c) => c.includes(' b ')).length, 0);
  // GC releases what it removes.
  await run(handleAdd, podInv('c', 'c'), conf());
  assert.equal(gate.registered.size, 1);
  await run(handleGc, { ...inv('gc', 'GC') }, conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'b', ifname: 'eth0' }] }));
  assert.equal(gate.registered.size, 0, 'GC released x/c');
});

test("NetworkPolicy: a rollback whose tear-down fails keeps the pod policed (the pair may still be wired) until the pending attachment's DEL", async () => {
  const gate = new FakePolicyGate();
  deps.policy = gate;
  const podInv: CniInvocation = { ...inv('p'), args: 'K8S_POD_NAMESPACE=x;K8S_POD_NAME=p' };
  datapath.failSetUp = new Error('netlink said no');
  datapath.failTearDown = new Error('link delete failed');
  await rejectsWith(run(handleAdd, podInv, conf()), 103);
  assert.equal(gate.registered.size, 1, 'still policed: its pair was not proved gone');
  assert.equal(
    gate.calls.some((c) => c.startsWith('release')),
    false,
  );
  assert.equal(store.listLeases().length, 1, 'its address stays leased to the pending attachment');
  datapath.failSetUp = undefined;
  datapath.failTearDown = undefined;
  await run(handleDel, { ...inv('p', 'DEL') }, conf());
  assert.equal(gate.registered.size, 0, 'the DEL released it, after detaching');
  assert.deepEqual(store.listLeases(), []);
  const order = gate.calls.filter((c) => c.startsWith('release'));
  assert.equal(order.length, 1);
});
