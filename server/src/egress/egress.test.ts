/**
 * podwired's Egress against the real kernel in a network namespace of the test's own: the
 * table written whole at start from store-shaped state, nothing before start, peers and served
 * ranges as set updates, a flushed ruleset repaired by resync, and the unavailable mode.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import pino from 'pino';
import { RtnlSockets } from '../rtnl/rtnl-sockets';
import { HostPortsUnavailable } from '../handlers/host-ports';
import { ConntrackCleaner, NftContext, NftTables, PortMappingConflict } from '../nft';
import { NodePodCidrs } from '../peers/node-pod-cidrs';
import { Egress, type EgressOptions } from './egress';
import { nativeAddon } from '../native-addon';

const NS = `pwt-egress-${process.pid}`;
const sockets = new RtnlSockets();
let nsFd: number;
const log = pino({ level: 'silent' });
const nft = (...args: string[]) => execFileSync('ip', ['netns', 'exec', NS, 'nft', ...args], { encoding: 'utf8' });
const setOf = (tag: string, name: string) => {
  try {
    const out = JSON.parse(
      execFileSync('ip', ['netns', 'exec', NS, 'nft', '-j', 'list', 'set', 'inet', `podwire-${tag}`, name], { encoding: 'utf8', stdio: 'pipe' }),
    ) as { nftables: Array<{ set?: { elem?: unknown[] } }> };
    return JSON.stringify(out.nftables.find((o) => o.set)?.set?.elem ?? []);
  } catch {
    return 'absent';
  }
};
const egresses: Egress[] = [];

function egress(tag: string, extra: Partial<EgressOptions> = {}): Egress {
  const enter = <T>(fn: () => T): T => sockets.enter(nsFd, fn);
  const e = new Egress({
    ownerTag: tag,
    masquerade: { nonMasqueradeCIDRs: ['10.124.9.0/24'] },
    node: new NodePodCidrs('node-a', ['10.123.1.0/24']),
    log,
    open: (t) => ({ tables: new NftTables({ ownerTag: t, context: NftContext.open({ enter }) }), conntrack: new ConntrackCleaner(enter) }),
    routeLocalnet: () => undefined,
    ...extra,
  });
  egresses.push(e);
  return e;
}

before(() => {
  execFileSync('ip', ['netns', 'add', NS]);
  nsFd = fs.openSync(`/var/run/netns/${NS}`, 'r');
});
after(() => {
  for (const e of egresses) e.close();
  sockets.closeAll();
  fs.closeSync(nsFd);
  execFileSync('ip', ['netns', 'del', NS]);
});

const web = { protocol: 'tcp' as const, hostPort: 8080, podIP: '10.123.1.5', containerPort: 80 };

test('nothing is written before start; start writes the stored mappings, served ranges and peers; peers and ranges follow as set updates', () => {
  const e = egress('e00000000001');
  e.setPeerCidrs(['10.123.2.0/24']);
  e.serveCidrs(['10.77.0.0/24']);
  assert.equal(setOf('e00000000001', 'cluster-v4'), 'absent', 'no table before start');
  e.start({ portMappings: [{ ...web, holder: 'n/a/eth0' }], servedCidrs: ['10.88.0.0/24'], peerCidrs: ['10.123.3.0/24'] });
  assert.match(setOf('e00000000001', 'pod-sources-v4'), /10\.88\.0\.0/);
  assert.match(setOf('e00000000001', 'pod-sources-v4'), /10\.77\.0\.0/, 'ranges served before start are in');
  assert.match(setOf('e00000000001', 'cluster-v4'), /10\.123\.3\.0/);
  assert.match(setOf('e00000000001', 'nonmasq-v4'), /10\.124\.9\.0/);
  assert.deepEqual(e.missing('n/a/eth0', [web]), []);
  assert.equal(e.status().summary?.portMappings, 1);
  assert.equal(e.status().masquerade, true);
  const rules = e.status().summary?.rules;
  e.setPeerCidrs(['10.123.4.0/24']);
  assert.match(setOf('e00000000001', 'cluster-v4'), /10\.123\.4\.0/);
  assert.doesNotMatch(setOf('e00000000001', 'cluster-v4'), /10\.123\.3\.0/);
  assert.equal(e.status().summary?.rules, rules, 'no rule rewritten');
  assert.throws(
    () => e.map('n/b/eth0', [{ ...web, podIP: '10.123.1.6' }], 'x'),
    (err: unknown) => err instanceof PortMappingConflict && err.holder === 'n/a/eth0',
  );
});

test('an operator flush is repaired by resync; unmap removes a holder; missing names what is gone', async () => {
  const e = egress('e00000000002');
  e.start({ portMappings: [], servedCidrs: [], peerCidrs: [] });
  e.map('n/a/eth0', [web, { ...web, protocol: 'udp' }], 'x');
  nft('flush', 'ruleset');
  assert.equal(e.missing('n/a/eth0', [web]).length > 0, true);
  assert.ok(e.resync().length > 0, 'drift found');
  assert.deepEqual(e.missing('n/a/eth0', [web]), []);
  assert.deepEqual(e.resync(), [], 'nothing left to repair');
  assert.equal((await e.unmap('n/a/eth0')).length, 2);
  assert.equal(e.status().summary?.portMappings, 0);
});

test('nftables unusable: podwired serves without; map says why, unmap is a no-op, status tells', async () => {
  const e = egress('e00000000003', {
    open: () => {
      throw new Error('libnftables.so.1: cannot open shared object file');
    },
  });
  assert.match(e.unavailable ?? '', /cannot open shared object/);
  e.start({ portMappings: [], servedCidrs: [], peerCidrs: [] });
  assert.throws(
    () => e.map('n/a/eth0', [web], 'x'),
    (err: unknown) => err instanceof HostPortsUnavailable && /cannot open shared object/.test(err.reason),
  );
  assert.deepEqual(await e.unmap('n/a/eth0'), []);
  assert.match(e.status().unavailable, /cannot open shared object/);
  assert.deepEqual(e.resync(), []);
});

test('a peer set of 500 nodes updates the cluster set in one transaction, no rule rewritten (timed)', (t) => {
  let tables: NftTables | undefined;
  const enter = <T>(fn: () => T): T => sockets.enter(nsFd, fn);
  const e = egress('e00000000004', {
    open: (tag) => {
      tables = new NftTables({ ownerTag: tag, context: NftContext.open({ enter }) });
      return { tables, conntrack: new ConntrackCleaner(enter) };
    },
  });
  e.start({ portMappings: [], servedCidrs: [], peerCidrs: [] });
  assert.ok(tables);
  const rules = e.status().summary?.rules;
  const before = tables.transactions;
  const peers = Array.from({ length: 500 }, (_, i) => `10.${100 + (i >> 8)}.${i & 255}.0/24`);
  const t0 = performance.now();
  e.setPeerCidrs(peers);
  const addMs = performance.now() - t0;
  assert.equal(tables.transactions - before, 1, 'one transaction');
  assert.equal(e.status().summary?.cluster, 501, "500 peers' CIDRs and the node's own");
  const t1 = performance.now();
  e.setPeerCidrs(peers.slice(250));
  const dropMs = performance.now() - t1;
  assert.equal(e.status().summary?.cluster, 251);
  assert.equal(e.status().summary?.rules, rules, 'no rule rewritten');
  t.diagnostic(`500 peers in: ${addMs.toFixed(1)} ms; 250 out: ${dropMs.toFixed(1)} ms`);
});

test('a start whose table write the kernel refused: the next ADD writes the stored mappings with its own, and a DEL meanwhile drops its holder from them', () => {
  let failing = true;
  const native = {
    ...nativeAddon,
    nftRun: (ctx: Parameters<typeof nativeAddon.nftRun>[0], text: string) => {
      if (failing) throw Object.assign(new Error('refused'), { nftError: 'Error: Could not process rule: Operation not permitted' });
      return nativeAddon.nftRun(ctx, text);
    },
  };
  const enter = <T>(fn: () => T): T => sockets.enter(nsFd, fn);
  const e = egress('e00000000005', {
    open: (tag) => ({ tables: new NftTables({ ownerTag: tag, context: NftContext.open({ enter, native }) }), conntrack: new ConntrackCleaner(enter) }),
  });
  const stored = [
    { ...web, holder: 'n/a/eth0' },
    { ...web, hostPort: 8081, podIP: '10.123.1.6', holder: 'n/gone/eth0' },
  ];
  e.start({ portMappings: stored, servedCidrs: [], peerCidrs: [] });
  assert.match(e.status().lastError, /Operation not permitted/);
  failing = false;
  return e.unmap('n/gone/eth0').then(() => {
    e.map('n/b/eth0', [{ ...web, hostPort: 9090, podIP: '10.123.1.7' }], 'x');
    assert.deepEqual(
      e
        .portMappings()
        .map((m) => m.holder)
        .sort(),
      ['n/a/eth0', 'n/b/eth0'],
      'the stored mapping is kept, the DELeted one is not',
    );
    assert.deepEqual(e.missing('n/a/eth0', [web]), []);
    assert.equal(e.status().lastError, '');
  });
});

test('the ranges served here join the cluster set too: a pod of one network reaching a pod of another on this node keeps its address', () => {
  const e = egress('e00000000006');
  e.start({ portMappings: [], servedCidrs: ['10.88.0.0/24'], peerCidrs: [] });
  e.serveCidrs(['10.77.0.0/24']);
  assert.deepEqual(e.desired().cluster.sort(), ['10.123.1.0/24', '10.77.0.0/24', '10.88.0.0/24']);
  assert.match(setOf('e00000000006', 'cluster-v4'), /10\.88\.0\.0/);
  assert.match(setOf('e00000000006', 'cluster-v4'), /10\.77\.0\.0/);
});
