/**
 * podwired's nftables table against the real kernel, in a network namespace of the test's own
 * (the libnftables context is made and run inside it through setns, so the host's ruleset is
 * never touched): the owned name, whole rebuilds that repair a flushed or deleted table,
 * element deltas as single transactions, two owners side by side, and a foreign table left
 * byte for byte as it was. `nft -j` cross-checks what the in-process layer programmed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { RtnlSockets } from '../rtnl/rtnl-sockets';
import { NftContext } from './nft-context';
import { NftError } from './nft-error';
import { NftTables, PortMappingConflict } from './nft-tables';
import { enableRouteLocalnet } from './route-localnet';

const NS = `pwt-nft-${process.pid}`;
const sockets = new RtnlSockets();
let nsFd: number;
const contexts: NftContext[] = [];

const nft = (...args: string[]) => execFileSync('ip', ['netns', 'exec', NS, 'nft', ...args], { encoding: 'utf8' });
const nftJson = (...args: string[]) => JSON.parse(nft('-j', ...args)) as { nftables: Array<Record<string, Record<string, unknown>>> };
const tableNames = () =>
  nftJson('list', 'tables')
    .nftables.filter((o) => o.table)
    .map((o) => `${o.table!.family} ${o.table!.name}`)
    .sort();

function owner(tag: string, onRepair?: (op: string, err: unknown) => void): NftTables {
  const context = NftContext.open({ enter: (fn) => sockets.enter(nsFd, fn) });
  contexts.push(context);
  return new NftTables({ ownerTag: tag, context, ...(onRepair ? { onRepair } : {}) });
}

const masquerade = { enabled: true, podSources: ['10.123.1.0/24', 'fd7a:1::/64'], cluster: ['10.123.0.0/16', 'fd7a::/48'], nonMasquerade: ['10.124.9.0/24'] };
const web = { protocol: 'tcp' as const, hostPort: 8080, podIP: '10.123.1.5', containerPort: 80 };
const dns = { protocol: 'udp' as const, hostPort: 8053, podIP: '10.123.1.5', containerPort: 53 };

// A table someone else owns: rules, a set with elements, a chain on the same hooks as ours.
const FOREIGN = `
table inet podwire-ffffffffffff {
  set s { type ipv4_addr; flags interval; elements = { 10.123.0.0/16, 10.99.0.0/24 } }
  chain post { type nat hook postrouting priority srcnat; policy accept; ip saddr @s masquerade; }
}
table ip nat {
  chain POSTROUTING { type nat hook postrouting priority srcnat; policy accept; ip saddr 10.123.1.0/24 counter masquerade; }
  chain PREROUTING { type nat hook prerouting priority dstnat; policy accept; tcp dport 8080 counter dnat to 10.123.1.9:80; }
}
`;
const foreignState = () => nft('-j', 'list', 'table', 'inet', 'podwire-ffffffffffff') + nft('-j', 'list', 'table', 'ip', 'nat');

before(() => {
  execFileSync('ip', ['netns', 'add', NS]);
  nsFd = fs.openSync(`/var/run/netns/${NS}`, 'r');
  execFileSync('ip', ['netns', 'exec', NS, 'nft', '-f', '-'], { input: FOREIGN });
});
after(() => {
  for (const c of contexts) c.close();
  sockets.closeAll();
  fs.closeSync(nsFd);
  execFileSync('ip', ['netns', 'del', NS]);
});

test('a rebuild creates podwire-<ownerTag> whole in one transaction and reads back as desired; nothing else changes', () => {
  const before = foreignState();
  const t = owner('0a0a0a0a0a0a');
  assert.equal(t.readBack().present, false, 'absent before');
  const n = t.transactions;
  t.rebuild({ masquerade, portMappings: [{ ...web, holder: 'pod-a' }] });
  assert.equal(t.transactions - n, 1);
  assert.deepEqual(tableNames(), ['inet podwire-0a0a0a0a0a0a', 'inet podwire-ffffffffffff', 'ip nat']);
  const listed = nft('list', 'table', 'inet', 'podwire-0a0a0a0a0a0a');
  assert.match(listed, /ip saddr @pod-sources-v4 ip daddr != @cluster-v4 ip daddr != @nonmasq-v4 masquerade fully-random/);
  assert.match(listed, /tcp \. 8080 : 10\.123\.1\.5/);
  assert.deepEqual(t.drift(), []);
  const back = t.readBack();
  assert.deepEqual(back.sets['cluster-v4'], ['10.123.0.0/16']);
  assert.deepEqual(back.sets['hostports-any-v4-port'], ['6 . 8080 : 80']);
  const refused = t.rebuild({
    masquerade,
    portMappings: [
      { ...web, holder: 'pod-a' },
      { ...web, podIP: '10.123.1.9', holder: 'pod-b' },
      { ...web, hostPort: 0, holder: 'pod-c' },
    ],
  });
  assert.deepEqual(refused, { conflicts: [{ ...web, podIP: '10.123.1.9', holder: 'pod-b' }], invalid: [{ ...web, hostPort: 0, holder: 'pod-c' }] });
  assert.deepEqual(t.drift(), [], 'a second rebuild of an existing table, without what it refused');
  assert.deepEqual(t.readBack().sets['hostports-any-v4-addr'], ['6 . 8080 : 10.123.1.5']);
  assert.equal(foreignState(), before, 'the foreign tables are byte for byte the same');
  t.deleteTable();
  t.deleteTable();
  assert.deepEqual(tableNames(), ['inet podwire-ffffffffffff', 'ip nat']);
  assert.equal(foreignState(), before);
});

test('mappings: one transaction per add or remove, holders tracked, a second claim refused naming the holder with nothing changed', () => {
  const before = foreignState();
  const t = owner('0b0b0b0b0b0b');
  t.rebuild({ masquerade, portMappings: [] });
  let n = t.transactions;
  t.addPortMappings('pod-a', [web, dns, { ...web, podIP: 'fd7a:1::5' }]);
  assert.equal(t.transactions - n, 1, 'three mappings, one transaction');
  assert.deepEqual(nftJson('-p', 'list', 'map', 'inet', 'podwire-0b0b0b0b0b0b', 'hostports-any-v4-addr').nftables.find((o) => o.map)!.map!.elem, [
    [{ concat: [17, 8053] }, '10.123.1.5'],
    [{ concat: [6, 8080] }, '10.123.1.5'],
  ]);
  assert.match(nft('list', 'set', 'inet', 'podwire-0b0b0b0b0b0b', 'hairpin-v6'), /fd7a:1::5 \. fd7a:1::5/);
  assert.equal(t.holderOf('tcp 0.0.0.0:8080'), 'pod-a');
  n = t.transactions;
  t.addPortMappings('pod-a', [web]);
  assert.equal(t.transactions - n, 0, 'an idempotent add sends nothing');
  const kernelBefore = nft('-j', 'list', 'table', 'inet', 'podwire-0b0b0b0b0b0b');
  assert.throws(
    () =>
      t.addPortMappings('pod-b', [
        { ...web, hostPort: 9090 },
        { ...web, podIP: '10.123.1.6' },
      ]),
    (e: unknown) => e instanceof PortMappingConflict && e.holder === 'pod-a' && e.key === 'tcp 0.0.0.0:8080' && /already mapped for pod-a/.test(e.message),
  );
  assert.equal(nft('-j', 'list', 'table', 'inet', 'podwire-0b0b0b0b0b0b'), kernelBefore, 'the refused claim left nothing');
  assert.equal(t.holderOf('tcp 0.0.0.0:9090'), undefined);
  n = t.transactions;
  const removed = t.removePortMappings('pod-a');
  assert.equal(t.transactions - n, 1);
  assert.equal(removed.length, 3);
  const back = t.readBack();
  for (const name of ['hostports-any-v4-addr', 'hostports-any-v4-port', 'hostports-any-v6-addr', 'hairpin-v4', 'hairpin-v6'])
    assert.deepEqual(back.sets[name], [], name);
  t.addPortMappings('pod-b', [{ ...web, podIP: '10.123.1.6' }]);
  assert.deepEqual(t.readBack().sets['hostports-any-v4-addr'], ['6 . 8080 : 10.123.1.6'], 'the key is free again');
  n = t.transactions;
  t.addPortMappings('pod-b', [{ ...web, podIP: '10.123.1.7', containerPort: 81 }]);
  assert.equal(t.transactions - n, 1, 'the holder moving its own key: one transaction');
  const moved = t.readBack();
  assert.deepEqual(
    [moved.sets['hostports-any-v4-addr'], moved.sets['hostports-any-v4-port'], moved.sets['hairpin-v4']],
    [['6 . 8080 : 10.123.1.7'], ['6 . 8080 : 81'], ['10.123.1.7 . 10.123.1.7']],
  );
  assert.throws(() => t.addPortMappings('pod-c', [web, { ...web, podIP: '10.123.1.8' }]), PortMappingConflict);
  assert.throws(
    () =>
      t.addPortMappings('pod-c', [
        { ...web, hostPort: 1 },
        { ...web, hostPort: 1, containerPort: 9 },
      ]),
    /mapped twice in one request/,
  );
  assert.deepEqual(t.drift(), []);
  t.deleteTable();
  assert.equal(foreignState(), before);
});

test('the cluster set follows peers with element deltas in one transaction: 500 peer CIDRs in, nested and moved ones, out again', () => {
  const t = owner('0c0c0c0c0c0c');
  t.rebuild({ masquerade, portMappings: [] });
  const rulesBefore = nft('-j', 'list', 'chain', 'inet', 'podwire-0c0c0c0c0c0c', 'nat-postrouting');
  const peers = Array.from({ length: 500 }, (_, i) => `10.${200 + Math.floor(i / 250)}.${i % 250}.0/24`);
  let n = t.transactions;
  assert.deepEqual(t.setMasqueradeCidrs('cluster', [...masquerade.cluster, ...peers, 'fd7b::/64']), { added: 501, removed: 0 });
  assert.equal(t.transactions - n, 1);
  assert.equal(t.readBack().sets['cluster-v4']!.length, 501);
  // A peer's CIDR widened to cover others: the covered ones go, the wide one comes, in one batch.
  n = t.transactions;
  assert.deepEqual(t.setMasqueradeCidrs('cluster', [...masquerade.cluster, '10.200.0.0/16', ...peers]), { added: 1, removed: 251 });
  assert.equal(t.transactions - n, 1);
  assert.deepEqual(t.readBack().sets['cluster-v4']!.slice(0, 2), ['10.123.0.0/16', '10.200.0.0/16']);
  assert.deepEqual(t.setMasqueradeCidrs('cluster', masquerade.cluster), { added: 0, removed: 251 });
  assert.deepEqual(t.readBack().sets['cluster-v4'], ['10.123.0.0/16']);
  assert.equal(nft('-j', 'list', 'chain', 'inet', 'podwire-0c0c0c0c0c0c', 'nat-postrouting'), rulesBefore, 'no rule rewritten');
  assert.deepEqual(t.drift(), []);
  t.deleteTable();
});

test('drift is repaired whole: a flushed table and set, a deleted table; a delta on a missing table rebuilds it; CHECK finds a missing mapping', () => {
  const t = owner('0d0d0d0d0d0d');
  t.rebuild({ masquerade, portMappings: [{ ...web, holder: 'pod-a' }] });
  nft('flush', 'table', 'inet', 'podwire-0d0d0d0d0d0d');
  nft('flush', 'set', 'inet', 'podwire-0d0d0d0d0d0d', 'cluster-v4');
  const drift = t.drift();
  assert.ok(drift.some((d) => /chain nat-postrouting/.test(d)) && drift.some((d) => /set cluster-v4: 1 elements missing/.test(d)), drift.join('\n'));
  assert.deepEqual(t.resync(), drift);
  assert.deepEqual(t.drift(), []);
  assert.deepEqual(t.resync(), [], 'nothing to repair: no transaction');

  nft('delete', 'table', 'inet', 'podwire-0d0d0d0d0d0d');
  const repaired: string[] = [];
  const t2 = owner('0d0d0d0d0d0d', (op, err) => repaired.push(`${op}: ${(err as NftError).code}`));
  t2.rebuild({ masquerade, portMappings: [] });
  nft('delete', 'table', 'inet', 'podwire-0d0d0d0d0d0d');
  t2.addPortMappings('pod-a', [web]);
  assert.deepEqual(repaired, ['map ports for pod-a: ENOENT']);
  assert.deepEqual(t2.drift(), []);
  assert.deepEqual(t2.readBack().sets['hostports-any-v4-addr'], ['6 . 8080 : 10.123.1.5']);
  // CHECK: one missing element is reported; the other holder's and an unknown holder's are fine.
  assert.deepEqual(t2.checkPortMappings('pod-a'), []);
  assert.deepEqual(t2.checkPortMappings('nobody'), []);
  nft('delete', 'element', 'inet', 'podwire-0d0d0d0d0d0d', 'hostports-any-v4-port', '{ tcp . 8080 }');
  assert.deepEqual(t2.checkPortMappings('pod-a'), ['hostPort tcp 0.0.0.0:8080: hostports-any-v4-port lacks 6 . 8080 : 80']);
  nft('delete', 'table', 'inet', 'podwire-0d0d0d0d0d0d');
  assert.deepEqual(t2.checkPortMappings('pod-a'), ['table inet podwire-0d0d0d0d0d0d is missing']);
  t2.repair();
  assert.deepEqual(t2.checkPortMappings('pod-a'), []);
  t2.deleteTable();
});

test('two owners in one netns: each rebuilds, repairs and deletes only its own table', () => {
  const a = owner('0e0e0e0e0e01');
  const b = owner('0e0e0e0e0e02');
  a.rebuild({ masquerade, portMappings: [{ ...web, holder: 'pod-a' }] });
  b.rebuild({ masquerade: { ...masquerade, enabled: false }, portMappings: [{ ...web, holder: 'pod-b' }] });
  const bState = nft('-j', 'list', 'table', 'inet', 'podwire-0e0e0e0e0e02');
  a.rebuild({ masquerade, portMappings: [] });
  a.setMasqueradeCidrs('cluster', ['10.0.0.0/8']);
  nft('flush', 'table', 'inet', 'podwire-0e0e0e0e0e01');
  a.resync();
  a.deleteTable();
  assert.equal(nft('-j', 'list', 'table', 'inet', 'podwire-0e0e0e0e0e02'), bState, 'b untouched by everything a did');
  assert.deepEqual(b.drift(), []);
  b.deleteTable();
});

test("refusals are NftErrors with the kernel's reason; a closed context refuses", () => {
  const ctx = NftContext.open({ enter: (fn) => sockets.enter(nsFd, fn) });
  assert.throws(
    () => ctx.run('delete a missing table', [{ delete: { table: { family: 'inet', name: 'podwire-000000000000' } } }]),
    (e: unknown) => e instanceof NftError && e.code === 'ENOENT' && /^delete a missing table: .*No such file or directory/.test(e.message),
  );
  assert.throws(
    () => ctx.run('nonsense', [{ add: { bogus: {} } }]),
    (e: unknown) => e instanceof NftError && e.code === undefined && /Unknown object/.test(e.reason),
  );
  ctx.close();
  ctx.close();
  assert.throws(() => ctx.run('after close', [{ list: { tables: null } }]), /closed/);
});

test('route_localnet is set on the one interface, in the netns the thread is in', () => {
  execFileSync('ip', ['-n', NS, 'link', 'add', 'rl0', 'type', 'veth', 'peer', 'name', 'rl1']);
  const read = (f: string) => execFileSync('ip', ['netns', 'exec', NS, 'cat', `/proc/sys/net/ipv4/conf/${f}/route_localnet`], { encoding: 'utf8' }).trim();
  assert.equal(
    sockets.enter(nsFd, () => enableRouteLocalnet('rl0')),
    true,
  );
  assert.equal(
    sockets.enter(nsFd, () => enableRouteLocalnet('rl0')),
    false,
  );
  assert.equal(read('rl0'), '1');
  assert.equal(read('all'), '0');
  assert.throws(() => enableRouteLocalnet('../all'), RangeError);
});

test("an operator's `nft flush ruleset` (last: it takes the foreign tables too) is found and repaired by the next resync", () => {
  const t = owner('0f0f0f0f0f0f');
  t.rebuild({ masquerade, portMappings: [{ ...web, holder: 'pod-a' }] });
  nft('flush', 'ruleset');
  assert.deepEqual(t.resync(), ['table inet podwire-0f0f0f0f0f0f is missing']);
  assert.deepEqual(t.drift(), []);
  assert.deepEqual(tableNames(), ['inet podwire-0f0f0f0f0f0f']);
  t.deleteTable();
});
