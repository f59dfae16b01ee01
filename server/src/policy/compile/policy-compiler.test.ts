/**
 * The compiled policy objects against the real kernel, in a network namespace of the test's
 * own (libnftables in-process, entered through setns): every upstream case's build is
 * accepted; an ADD, a DEL, a relabel and a policy change are each one small transaction whose
 * effect `nft -j` reads back element by element.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { RtnlSockets } from '../../rtnl/rtnl-sockets';
import { NftContext } from '../../nft/nft-context';
import { TestNetns } from '../../test-support/test-netns';
import { podIP } from '../../test-support/netpol-fixtures';
import { CASES, caseWorld, modelOf } from '../../test-support/netpol-cases';
import { parseNetworkPolicy, parsePod } from '../parse';
import { podObject, policyObject } from '../../test-support/netpol-fixtures';
import { PolicyCompiler } from './policy-compiler';

const TABLE = 'podwire-poltest';
let ns: TestNetns;
const sockets = new RtnlSockets();
let nft: NftContext;

before(() => {
  ns = new TestNetns('polc');
  nft = NftContext.open({ enter: (fn) => sockets.enter(ns.fd, fn) });
});
after(() => {
  nft?.close();
  sockets.closeAll();
  ns?.remove();
});

const freshTable = () =>
  nft.run('fresh table', [
    { add: { table: { family: 'inet', name: TABLE } } },
    { delete: { table: { family: 'inet', name: TABLE } } },
    { add: { table: { family: 'inet', name: TABLE } } },
  ]);
const nftCli = (...args: string[]) => execFileSync('ip', ['netns', 'exec', ns.name, 'nft', ...args], { encoding: 'utf8' });
function setElements(name: string): string[] {
  const out = JSON.parse(nftCli('-j', 'list', 'set', 'inet', TABLE, name)) as { nftables: Array<{ set?: { elem?: unknown[] } }> };
  const s = out.nftables.find((o) => o.set)!.set!;
  return (s.elem ?? []).map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).sort();
}
const elementCount = (cmds: Array<Record<string, any>>) => cmds.reduce((n, c) => n + ((c.add ?? c.delete)?.element?.elem?.length ?? 0), 0);

function compilerFor(caseName: string): PolicyCompiler {
  const c = new PolicyCompiler({ table: TABLE, world: modelOf(caseWorld(CASES.find((x) => x.name === caseName)!)) });
  return c;
}

test('every upstream case compiles to a ruleset the kernel accepts (x/a, x/b, y/a wired here)', () => {
  for (const k of CASES) {
    const c = compilerFor(k.name);
    freshTable();
    nft.run(k.name, c.build());
    for (const [i, key] of ['x/a', 'x/b', 'y/a'].entries()) nft.run(`${k.name}: ADD ${key}`, c.setLocal(key, [{ ifname: `pv${i}`, ips: [podIP(key)] }]));
    nft.run(`${k.name}: DEL x/b`, c.removeLocal('x/b'));
  }
  const listed = nftCli('list', 'table', 'inet', TABLE);
  assert.match(listed, /chain pol-forward \{\n\s+type filter hook forward priority filter; policy accept;\n\s+ct state established,related accept/);
});

test('ADD, relabel, DEL: a handful of elements in one transaction each, read back from the kernel', () => {
  const c = compilerFor('x/a from pod=b in ns=y (both selectors in one peer: AND)');
  freshTable();
  nft.run('build', c.build());
  assert.deepEqual(setElements('peer-1-v4'), ['10.42.2.2'], 'y/b is the one admitted peer (a pod anywhere, not wired here)');
  assert.deepEqual(setElements('ingress-isolated'), []);

  const add = c.setLocal('x/a', [{ ifname: 'pwxa', ips: ['10.42.1.1'] }]);
  assert.ok(elementCount(add) <= 5, JSON.stringify(add));
  const n = nft.transactions;
  nft.run('ADD x/a', add);
  assert.equal(nft.transactions - n, 1);
  assert.deepEqual(setElements('ingress-isolated'), ['pwxa']);
  assert.deepEqual(setElements('np-p1-in-t'), ['pwxa']);
  assert.deepEqual(setElements('pod-if'), ['pwxa']);

  // y/c relabelled pod=b: it joins the peer set; nothing else changes.
  const relabel = c.setPod(parsePod(podObject('y/c', { pod: 'b' })));
  assert.equal(elementCount(relabel), 1, JSON.stringify(relabel));
  nft.run('relabel y/c', relabel);
  assert.deepEqual(setElements('peer-1-v4'), ['10.42.2.2', '10.42.2.3']);
  // x/a relabelled out of the policy: no longer isolated.
  nft.run('relabel x/a', c.setPod(parsePod(podObject('x/a', { pod: 'zz' }))));
  assert.deepEqual(setElements('ingress-isolated'), []);
  assert.deepEqual(setElements('np-p1-in-t'), []);
  nft.run('DEL x/a', c.removeLocal('x/a'));
  assert.deepEqual(setElements('pod-if'), []);
  assert.deepEqual(c.setLocal('x/a', [{ ifname: 'pwxa', ips: ['10.42.1.1'] }]).length > 0, true);
  assert.throws(() => c.setLocal('q/nope', [{ ifname: 'pwq', ips: ['10.42.9.9'] }]), /Pod q\/nope: not known to the policy source/);
});

test('a policy change is one transaction: the old objects go, the new ones come with the elements of the pods involved', () => {
  const c = compilerFor('x/a from pods pod=b of its namespace (podSelector alone)');
  freshTable();
  nft.run('build', c.build());
  nft.run('ADD x/a', c.setLocal('x/a', [{ ifname: 'pwxa', ips: ['10.42.1.1'] }]));
  nft.run('ADD x/c', c.setLocal('x/c', [{ ifname: 'pwxc', ips: ['10.42.1.3'] }]));
  const n = nft.transactions;
  nft.run(
    'policy change',
    c.setPolicy(
      parseNetworkPolicy(
        policyObject('x', 'from-b', {
          podSelector: {},
          ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'c' } } }], ports: [{ port: 'serve-81-tcp' }] }],
        }),
      ),
    ),
  );
  assert.equal(nft.transactions - n, 1);
  const listed = nftCli('list', 'table', 'inet', TABLE);
  assert.doesNotMatch(listed, /np-p1|peer-1/, 'the old version and the peer set only it used are gone');
  assert.deepEqual(setElements('np-p2-in-t'), ['pwxa', 'pwxc']);
  assert.deepEqual(setElements('ingress-isolated'), ['pwxa', 'pwxc']);
  assert.deepEqual(setElements('peer-2-v4'), ['10.42.1.3']);
  assert.equal(setElements('np-p2-i0-n').length, 2, 'serve-81-tcp resolved on each selected pod wired here');
  nft.run('policy delete', c.deletePolicy('x/from-b'));
  assert.deepEqual(setElements('ingress-isolated'), []);
  assert.doesNotMatch(nftCli('list', 'table', 'inet', TABLE), /np-p2|peer-2/);
});

test('policies with the same peer share one set; it goes with the last policy using it', () => {
  const c = compilerFor('x/a from pods pod=b of its namespace (podSelector alone)');
  freshTable();
  nft.run('build', c.build());
  const peerB = { from: [{ podSelector: { matchLabels: { pod: 'b' } } }] };
  nft.run('second policy', c.setPolicy(parseNetworkPolicy(policyObject('x', 'also-b', { podSelector: { matchLabels: { pod: 'c' } }, ingress: [peerB] }))));
  const listed = nftCli('list', 'table', 'inet', TABLE);
  assert.deepEqual(listed.match(/set peer-\d+-v4/g), ['set peer-1-v4'], 'one shared set for "pod=b of x"');
  assert.deepEqual(setElements('peer-1-v4'), ['10.42.1.2']);
  nft.run('delete first', c.deletePolicy('x/from-b'));
  assert.deepEqual(setElements('peer-1-v4'), ['10.42.1.2'], 'still used by x/also-b');
  nft.run('delete second', c.deletePolicy('x/also-b'));
  assert.doesNotMatch(nftCli('list', 'table', 'inet', TABLE), /peer-1/);
});
