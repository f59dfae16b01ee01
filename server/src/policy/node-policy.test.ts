/**
 * NodePolicy over podwired's own table against the real kernel, in a netns of the test's own:
 * the policy objects are part of every whole-table write (start, a repair after `nft flush
 * ruleset`, the recovery from a refused delta), ADD's admit and DEL's release are element
 * deltas, an unknown pod is refused with 11, and the drift check agrees with the kernel.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import pino from 'pino';
import { CniError } from '../cni/cni-error';
import { NftContext } from '../nft/nft-context';
import { NftTables } from '../nft/nft-tables';
import { RtnlSockets } from '../rtnl/rtnl-sockets';
import { FilePolicySource } from './file-policy-source';
import { NodePolicy } from './node-policy';

const NS = `pwt-npol-${process.pid}`;
const OWNER = '0c0c0c0c0c0c';
const TABLE = `podwire-${OWNER}`;
const sockets = new RtnlSockets();
let nsFd: number;
const contexts: NftContext[] = [];
const log = pino({ level: 'silent' });

const nft = (...args: string[]) => execFileSync('ip', ['netns', 'exec', NS, 'nft', ...args], { encoding: 'utf8' });
const setElems = (name: string): string[] => {
  const out = JSON.parse(nft('-j', 'list', 'set', 'inet', TABLE, name)) as { nftables: Array<{ set?: { elem?: unknown[] } }> };
  return (out.nftables.find((o) => o.set)?.set?.elem ?? []).map((e) => (typeof e === 'string' ? e : JSON.stringify(e)));
};
const chains = (): string[] => {
  const out = JSON.parse(nft('-j', 'list', 'table', 'inet', TABLE)) as { nftables: Array<{ chain?: { name: string } }> };
  return out.nftables.flatMap((o) => (o.chain ? [o.chain.name] : [])).sort();
};

const POLICY_FILE = `
apiVersion: v1
kind: Namespace
metadata: { name: x, labels: { ns: x } }
---
apiVersion: v1
kind: Pod
metadata: { name: a, namespace: x, labels: { app: a } }
---
apiVersion: v1
kind: Pod
metadata: { name: b, namespace: x, labels: { app: b } }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: deny-a, namespace: x }
spec:
  podSelector: { matchLabels: { app: a } }
  ingress:
    - from: [{ podSelector: { matchLabels: { app: b } } }]
      ports: [{ port: 80 }]
`;

let text = POLICY_FILE;

function setUp(onRepair?: (op: string) => void): { tables: NftTables; policy: NodePolicy } {
  const context = NftContext.open({ enter: (fn) => sockets.enter(nsFd, fn) });
  contexts.push(context);
  const tables = new NftTables({ ownerTag: OWNER, context, ...(onRepair ? { onRepair } : {}) });
  const policy = new NodePolicy(new FilePolicySource({ file: '/policy.yaml', readFile: () => text }), { ownerTag: OWNER, log });
  tables.setExtension(policy.tableExtension());
  policy.attach((op, cmds) => tables.runExtension(op, cmds));
  return { tables, policy };
}

const masquerade = { enabled: false, podSources: [], cluster: [], nonMasquerade: [] };

before(() => {
  execFileSync('ip', ['netns', 'add', NS]);
  nsFd = fs.openSync(`/var/run/netns/${NS}`, 'r');
});
after(() => {
  for (const c of contexts) c.close();
  sockets.closeAll();
  fs.closeSync(nsFd);
  execFileSync('ip', ['netns', 'del', NS]);
});

test('start: the snapshot and the stored local pods are built with the table in one write; drift agrees', async () => {
  text = POLICY_FILE;
  const { tables, policy } = setUp();
  const unknown = await policy.start([
    { pod: { namespace: 'x', name: 'a' }, sandbox: 'ctr-a', ifname: 'pwa0', ips: ['10.123.7.2'] },
    { pod: { namespace: 'x', name: 'gone' }, sandbox: 'ctr-gone', ifname: 'pwg0', ips: ['10.123.7.9'] },
  ]);
  assert.deepEqual(unknown, ['x/gone']);
  const n = tables.transactions;
  tables.rebuild({ masquerade, portMappings: [] });
  assert.equal(tables.transactions - n, 1, 'one transaction for the table and the policy objects');
  assert.ok(chains().includes('pol-forward'));
  assert.ok(
    chains().some((c) => c.startsWith('np-')),
    `a policy chain: ${chains().join(' ')}`,
  );
  assert.deepEqual(setElems('pod-if'), ['pwa0']);
  assert.deepEqual(setElems('ingress-isolated'), ['pwa0']);
  assert.deepEqual(tables.drift(), []);

  // ADD of b (known), then DEL of a: element deltas, one transaction each.
  const m = tables.transactions;
  await policy.admit({ namespace: 'x', name: 'b' }, { sandbox: 'ctr-b', ifname: 'pwb0', ips: ['10.123.7.3'] });
  assert.equal(tables.transactions - m, 1);
  assert.deepEqual(setElems('pod-if').sort(), ['pwa0', 'pwb0']);
  assert.deepEqual(tables.drift(), []);
  policy.release({ namespace: 'x', name: 'a' }, 'pwa0');
  assert.deepEqual(setElems('pod-if'), ['pwb0']);
  assert.deepEqual(setElems('ingress-isolated'), []);
  assert.deepEqual(tables.drift(), []);
  assert.equal(policy.stats().failures, 0);

  // An unknown pod: 11, nothing programmed.
  await assert.rejects(
    policy.admit({ namespace: 'x', name: 'nobody' }, { sandbox: 'ctr-nobody', ifname: 'pwn0', ips: ['10.123.7.4'] }),
    (err: unknown) => err instanceof CniError && err.code === 11,
  );
  assert.deepEqual(setElems('pod-if'), ['pwb0']);
  tables.deleteTable();
});

test('nft flush ruleset: the resync finds the drift and the whole write brings the policy objects back', async () => {
  text = POLICY_FILE;
  const { tables, policy } = setUp();
  await policy.start([{ pod: { namespace: 'x', name: 'a' }, sandbox: 'ctr-a', ifname: 'pwa0', ips: ['10.123.7.2'] }]);
  tables.rebuild({ masquerade, portMappings: [] });
  const before = chains();
  nft('flush', 'ruleset');
  assert.ok(tables.resync().length > 0);
  assert.deepEqual(chains(), before);
  assert.deepEqual(setElems('ingress-isolated'), ['pwa0']);
  assert.deepEqual(tables.drift(), []);
  // A policy set emptied behind podwired's back is drift too.
  nft('flush', 'set', 'inet', TABLE, 'pod-if');
  assert.ok(
    tables.drift().some((d) => d.includes('pod-if')),
    tables.drift().join('; '),
  );
  tables.resync();
  assert.deepEqual(tables.drift(), []);
  tables.deleteTable();
});

test('a refused policy delta is recovered by writing the table whole; a policy change and a reload are one transaction', async () => {
  text = POLICY_FILE;
  const repairs: string[] = [];
  const { tables, policy } = setUp((op) => repairs.push(op));
  await policy.start([{ pod: { namespace: 'x', name: 'a' }, sandbox: 'ctr-a', ifname: 'pwa0', ips: ['10.123.7.2'] }]);
  tables.rebuild({ masquerade, portMappings: [] });
  // The element the DEL will delete is gone already: the kernel refuses the delta.
  nft('flush', 'set', 'inet', TABLE, 'pod-if');
  policy.release({ namespace: 'x', name: 'a' }, 'pwa0');
  assert.equal(repairs.length, 1, 'the refused delta was reported');
  assert.deepEqual(setElems('pod-if'), []);
  assert.deepEqual(tables.drift(), []);

  await policy.admit({ namespace: 'x', name: 'a' }, { sandbox: 'ctr-a', ifname: 'pwa0', ips: ['10.123.7.2'] });
  text = POLICY_FILE.replace('port: 80 }', 'port: 81 }');
  const n = tables.transactions;
  assert.equal(policy.reload(), undefined);
  assert.equal(tables.transactions - n, 1, 'a policy change is one transaction');
  assert.deepEqual(tables.drift(), []);
  text = 'kind: [';
  assert.match(policy.reload() ?? '', /not reloaded/);
  assert.deepEqual(tables.drift(), []);
  const answer = policy.why(['x/b', 'x/a', '80/TCP']);
  assert.equal(policy.why(['x/b', 'x/a', '81/TCP']).allowed, true);
  assert.equal(answer.allowed, false);
  assert.match(answer.text, /x\/deny-a/);
  tables.deleteTable();
});

test('drift agrees with the kernel for every kind of set: ipBlock with except, named ports, egress, namespace selectors, shared peers', async () => {
  text = `${POLICY_FILE}
---
apiVersion: v1
kind: Pod
metadata: { name: r, namespace: x, labels: { app: remote } }
spec: { containers: [{ name: c, ports: [{ name: http, containerPort: 8080 }, { name: dns, containerPort: 53, protocol: UDP }] }] }
status: { podIPs: [{ ip: 10.123.8.9 }, { ip: "fd7a:8::9" }] }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: mixed, namespace: x }
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress:
    - from: [{ ipBlock: { cidr: 10.0.0.0/8, except: [10.123.0.0/16] } }, { namespaceSelector: { matchLabels: { ns: x } }, podSelector: { matchExpressions: [{ key: app, operator: In, values: [a, remote] }] } }]
      ports: [{ port: http }, { port: 9000, endPort: 9010 }]
  egress:
    - to: [{ podSelector: { matchLabels: { app: remote } } }]
      ports: [{ port: dns, protocol: UDP }, { port: 443 }]
    - to: [{ ipBlock: { cidr: 0.0.0.0/0 } }, { ipBlock: { cidr: "::/0", except: ["fd7a::/16"] } }]
    - to: [{ ipBlock: { cidr: 203.0.113.10/32 } }]
      ports: [{ port: 8443 }]
`;
  const { tables, policy } = setUp();
  await policy.start([
    { pod: { namespace: 'x', name: 'a' }, sandbox: 'ctr-a', ifname: 'pwa0', ips: ['10.123.7.2', 'fd7a:7::2'] },
    { pod: { namespace: 'x', name: 'b' }, sandbox: 'ctr-b', ifname: 'pwb0', ips: ['10.123.7.3'] },
  ]);
  tables.rebuild({ masquerade, portMappings: [] });
  assert.deepEqual(tables.drift(), []);
  const listed = nft('list', 'table', 'inet', TABLE);
  assert.match(listed, /ip saddr 10\.0\.0\.0\/10 /, 'ipBlock pieces are prefix matches');
  assert.match(listed, /ip daddr 203\.0\.113\.10 tcp dport 8443 goto pol-ingress-gate/);
  assert.match(listed, /meta nfproto ipv4 goto pol-ingress-gate/, '0.0.0.0/0 is every IPv4 address');
  assert.equal(
    listed.match(/flags interval/g)?.length,
    6,
    'the masquerade sets only: no policy interval set (libnftables would read its elements on every transaction)',
  );
  policy.release({ namespace: 'x', name: 'b' }, 'pwb0');
  assert.deepEqual(tables.drift(), []);
  text = text.replace('values: [a, remote]', 'values: [b]');
  assert.equal(policy.reload(), undefined);
  assert.deepEqual(tables.drift(), []);
  tables.deleteTable();
});

test("a pod with several podwire interfaces (Multus): every one policed, DEL of one keeps the others, a new sandbox's joins until the old one's DEL", async () => {
  text = POLICY_FILE;
  const { tables, policy } = setUp();
  const a = { namespace: 'x', name: 'a' };
  const b = { namespace: 'x', name: 'b' };
  // Restart: the store's attachments of a's sandbox, two networks; b with two as well.
  await policy.start([
    { pod: a, sandbox: 'ctr-a', ifname: 'pwa0', ips: ['10.123.7.2'] },
    { pod: a, sandbox: 'ctr-a', ifname: 'pwa1', ips: ['10.123.9.2'] },
    { pod: b, sandbox: 'ctr-b', ifname: 'pwb0', ips: ['10.123.7.3'] },
  ]);
  tables.rebuild({ masquerade, portMappings: [] });
  const target = () =>
    setElems(
      chains()
        .find((c) => /^np-p\d+-in$/.test(c))!
        .replace(/-in$/, '-in-t'),
    ).sort();
  const peer = () => {
    const listed = nft('list', 'table', 'inet', TABLE);
    return setElems(listed.match(/set (peer-\d+-v4)/)![1]!).sort();
  };
  assert.deepEqual(setElems('ingress-isolated').sort(), ['pwa0', 'pwa1'], 'both of a registered at start');
  assert.deepEqual(target(), ['pwa0', 'pwa1']);
  assert.deepEqual(peer(), ['10.123.7.3']);
  assert.equal(policy.stats().localPods, 2);

  // b's second attachment (same sandbox): both interfaces registered, both addresses peers.
  await policy.admit(b, { sandbox: 'ctr-b', ifname: 'pwb1', ips: ['10.123.9.3'] });
  assert.deepEqual(setElems('pod-if').sort(), ['pwa0', 'pwa1', 'pwb0', 'pwb1']);
  assert.deepEqual(peer(), ['10.123.7.3', '10.123.9.3'], 'b admitted from either of its addresses');
  assert.deepEqual(policy.missing(b, 'pwb0'), []);
  assert.deepEqual(policy.missing(b, 'pwb1'), []);
  assert.equal(policy.why(['10.123.9.3', '10.123.9.2', '80/TCP']).allowed, true);
  assert.equal(policy.why(['10.123.9.3', '10.123.7.2', '81/TCP']).allowed, false);
  assert.deepEqual(tables.drift(), []);

  // DEL of a's first attachment: its second stays isolated.
  policy.release(a, 'pwa0');
  assert.deepEqual(setElems('ingress-isolated'), ['pwa1']);
  assert.deepEqual(target(), ['pwa1']);
  assert.equal(policy.missing(a, 'pwa0').length, 1);
  assert.deepEqual(policy.missing(a, 'pwa1'), []);
  assert.deepEqual(tables.drift(), []);

  // a's sandbox recreated: the new sandbox's interface joins; the old one stays policed until its own DEL.
  await policy.admit(a, { sandbox: 'ctr-a2', ifname: 'pwa2', ips: ['10.123.7.12'] });
  assert.deepEqual(setElems('ingress-isolated').sort(), ['pwa1', 'pwa2']);
  assert.deepEqual(
    setElems('pod-if')
      .filter((i) => i.startsWith('pwa'))
      .sort(),
    ['pwa1', 'pwa2'],
  );
  policy.release(a, 'pwa1');
  assert.deepEqual(setElems('ingress-isolated'), ['pwa2']);
  // An ADD repeated for the same interface replaces its addresses, not adds an interface.
  await policy.admit(a, { sandbox: 'ctr-a2', ifname: 'pwa2', ips: ['10.123.7.13'] });
  assert.deepEqual(setElems('pod-addr-v4').filter((e) => e.includes('pwa')).length, 1);
  policy.release(b, 'pwb0');
  assert.deepEqual(peer(), ['10.123.9.3'], "b's remaining address is still a peer");
  policy.release(b, 'pwb1');
  assert.deepEqual(peer(), [], 'b no longer wired here (and the file gives it no podIPs)');
  assert.deepEqual(tables.drift(), []);
  assert.equal(policy.stats().failures, 0);
  tables.deleteTable();
});

test('a DEL retried after the kernel refused its release fails again (103, lease kept) until the table is written: the address never leaves the model only', async () => {
  text = POLICY_FILE;
  const policy = new NodePolicy(new FilePolicySource({ file: '/policy.yaml', readFile: () => text }), { ownerTag: OWNER, log });
  let refuse = false;
  let stale = false;
  const calls: number[] = [];
  // A runner standing in for NftTables.runExtension: a refused delta leaves the table stale,
  // and only a whole write (which an empty delta asks for then) makes it current again.
  policy.attach((_op, cmds) => {
    calls.push(cmds.length);
    if (refuse) {
      stale = true;
      throw new Error('Could not process rule: Cannot allocate memory');
    }
    stale = false;
  });
  await policy.start([]);
  const a = { namespace: 'x', name: 'a' };
  await policy.admit(a, { sandbox: 'ctr-a', ifname: 'pwa9', ips: ['10.123.7.29'] });
  refuse = true;
  assert.throws(
    () => policy.release(a, 'pwa9'),
    (e: unknown) => e instanceof CniError && e.code === 103,
  );
  assert.equal(stale, true);
  // The retry: the model no longer holds pwa9, but the kernel may: refused again, so the DEL fails again.
  assert.throws(
    () => policy.release(a, 'pwa9'),
    (e: unknown) => e instanceof CniError && e.code === 103,
  );
  assert.equal(calls.at(-1), 0, 'an empty delta, asking for the whole write');
  refuse = false;
  policy.release(a, 'pwa9');
  assert.equal(stale, false, 'written whole: the DEL may free the address now');
  policy.stop();
});
