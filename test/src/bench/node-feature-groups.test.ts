/** The pure parts of the issue 20/21 bench groups: ratios, targets, folding rounds, parsing the tools' output, the tables. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOptions } from './bench-options';
import { type EgressPeersPass, egressPeersOneTransaction, foldEgressRounds, peerCidrs, renderEgressPeers } from './egress-peers-bench';
import { type HostPortBenchResult, type HostPortChainResult, hostPortRatios, hostPortTargets, renderHostPorts } from './hostport-bench';
import { masqueradeRatios, masqueradeSide, renderMasquerade } from './masquerade-bench';
import { featureTargets } from './node-feature-groups';
import { type PeerRoutesBenchResult, renderPeerRoutes, renderPeerRoutesComparison } from './peer-routes-bench';
import { crossNodeMode, parseIperfGbps, parseRrLine, renderVxlanDatapath, vxlanRatios } from './vxlan-datapath-bench';

const chain = (key: HostPortChainResult['key'], p50: number): HostPortChainResult => ({
  key,
  label: key,
  runP50s: [p50, p50 * 1.1],
  p50,
  p99: p50 * 2,
  samples: 70,
});

test('hostPort: ratios of the chains, both targets judged, the table names every chain', () => {
  const chains = [chain('plain', 5), chain('native', 5.5), chain('podwirePortmap', 60), chain('bridgePortmap', 66)];
  const r: HostPortBenchResult = { pods: 40, runs: 2, executor: 'x', chains, ratios: hostPortRatios(chains) };
  assert.equal(r.ratios.bridgePortmapOverNative, 12);
  assert.ok(Math.abs(r.ratios.nativeOverPlain - 1.1) < 1e-9);
  const [tenX, within] = hostPortTargets(r);
  assert.equal(tenX?.met, true);
  assert.equal(tenX?.measured, '12.0×');
  assert.equal(within?.met, true);
  const slow = hostPortTargets({ ...r, ratios: hostPortRatios([chain('plain', 5), chain('native', 7), chain('bridgePortmap', 60)]) });
  assert.deepEqual(
    slow.map((t) => t.met),
    [false, false],
  );
  assert.ok(Number.isNaN(slow.length ? hostPortRatios([chain('plain', 5)]).bridgePortmapOverNative : 0), 'a missing chain gives no ratio');
  const text = renderHostPorts(r);
  for (const k of ['plain', 'native', 'podwirePortmap', 'bridgePortmap']) assert.match(text, new RegExp(`^${k}\\b`, 'm'));
  assert.match(text, /5\.00–5\.50/, "the runs' p50 range");
});

test('masquerade: rounds fold into medians; ratios are on ÷ off; a slower ADD with masquerade misses its target', () => {
  const round = (add: number, rate: number) => ({
    seqAddP50: add,
    seqDelP50: add,
    churnAddPerSecond: rate,
    churnDelPerSecond: rate,
    churnCyclesPerSecond: rate / 2,
  });
  const off = masqueradeSide(false, false, [round(5, 300), round(6, 280), round(5.5, 320)]);
  assert.equal(off.seqAddP50, 5.5);
  assert.equal(off.churnAddPerSecond, 300);
  // Round by round: on 6.6 vs off 5 (1.32), 6.6 vs 6 (1.1), 6.05 vs 5.5 (1.1): median 1.1.
  const on = masqueradeSide(true, true, [round(6.6, 300), round(6.6, 280), round(6.05, 320)]);
  const ratios = masqueradeRatios(off, on);
  assert.ok(Math.abs(ratios.seqAddP50 - 1.1) < 1e-9, String(ratios.seqAddP50));
  assert.equal(ratios.churnAddPerSecond, 1);
  const slower = masqueradeRatios(off, masqueradeSide(true, true, [round(6.6, 300), round(7.2, 280), round(6.6, 320)]));
  assert.ok(Math.abs(slower.seqAddP50 - 1.2) < 1e-9);
  const targets = featureTargets({ masquerade: { seqPods: 10, churnPods: 20, rounds: 3, off, on, ratios: slower } });
  assert.deepEqual(
    targets.map((t) => [/sequential ADD|churn@8 ADD|churn@8 DEL/.exec(t.target)?.[0], t.met]),
    [
      ['sequential ADD', false],
      ['churn@8 ADD', true],
      ['churn@8 DEL', true],
    ],
  );
  const text = renderMasquerade({ seqPods: 10, churnPods: 20, rounds: 3, off, on, ratios: slower });
  assert.match(text, /sequential ADD p50 ms \(10 pods\)\s+5\.50\s+6\.60\s+1\.20×\s+slower with masquerade/);
  assert.match(text, /masquerade rule in the ruleset: off no, on yes/);
});

test('egress peers: per-pass medians over rounds, the worst transaction count, one transaction per change judged', () => {
  const pass = (ms: number, transactions: number, rulesUnchanged = true): EgressPeersPass => ({
    pass: 'join',
    ms,
    transactions,
    clusterAfter: 501,
    rulesUnchanged,
  });
  const folded = foldEgressRounds([[pass(3, 1)], [pass(9, 1)], [pass(4, 1)]]);
  assert.deepEqual(folded, [pass(4, 1)]);
  assert.equal(egressPeersOneTransaction({ peers: 500, passes: folded }), true);
  assert.equal(egressPeersOneTransaction({ peers: 500, passes: foldEgressRounds([[pass(3, 1)], [pass(3, 2)]]) }), false);
  assert.equal(egressPeersOneTransaction({ peers: 500, passes: [pass(3, 1, false)] }), false, 'a rewritten rule fails it');
  assert.match(renderEgressPeers({ peers: 500, passes: folded }), /one transaction per change/);
  assert.deepEqual(peerCidrs(255, 2), ['10.64.255.0/24', '10.65.0.0/24']);
  const [t] = featureTargets({ egressPeers: { peers: 500, passes: folded } });
  assert.equal(t?.measured, '1 transaction(s), 4.00 ms');
});

test('peer programming: the VXLAN table has the overlay column, the comparison divides pass by pass', () => {
  const p = (pass: string, ms: number, overlayMs?: number) => ({
    pass,
    ms,
    programMs: 1,
    ...(overlayMs === undefined ? {} : { overlayMs }),
    batches: 1,
    changes: 500,
    routesAfter: 500,
  });
  const hostGw: PeerRoutesBenchResult = { peers: 500, encapsulation: 'none', passes: [p('program 500 peers', 80)], oneByOneMs: 40 };
  const vxlan: PeerRoutesBenchResult = { peers: 500, encapsulation: 'vxlan', passes: [p('program 500 peers', 200, 110)], oneByOneMs: Number.NaN };
  assert.match(renderPeerRoutes(vxlan), /overlay ms/);
  assert.doesNotMatch(renderPeerRoutes(vxlan), /baseline/, 'no one-by-one baseline for VXLAN');
  assert.match(renderPeerRoutes(hostGw), /baseline: 500 routes one request at a time/);
  assert.match(renderPeerRoutesComparison(hostGw, vxlan), /program 500 peers\s+80\.0\s+200\s+2\.50×/);
});

test("cross-node: tcp-rr's and iperf3's output parsed, medians of rounds, VXLAN ÷ direct", () => {
  assert.deepEqual(parseRrLine('10000 21.500 48.250 23.100 17.000\n'), { n: 10000, p50Us: 21.5, p99Us: 48.25, meanUs: 23.1 });
  assert.throws(() => parseRrLine('tcp-rr: connect: refused'), /tcp-rr printed/);
  assert.equal(parseIperfGbps(JSON.stringify({ end: { sum_received: { bits_per_second: 9.5e9 } } })), 9.5);
  assert.throws(() => parseIperfGbps(JSON.stringify({ error: 'unable to connect' })), /unable to connect/);
  const rr = (p50: number) => ({ n: 1, p50Us: p50, p99Us: p50 * 2, meanUs: p50 });
  const direct = crossNodeMode('direct', 1500, [rr(20), rr(22), rr(30)], [10, 12, 11], 0);
  const vxlan = crossNodeMode('vxlan', 1450, [rr(33)], [8.8], 1234);
  assert.equal(direct.rrP50Us, 22);
  assert.equal(direct.gbps, 11);
  const ratios = vxlanRatios(direct, vxlan);
  assert.equal(ratios.rrP50, 1.5);
  assert.ok(Math.abs(ratios.throughput - 0.8) < 1e-9);
  const text = renderVxlanDatapath({ rounds: 3, rrRequests: 100, rrBytes: 64, iperfSeconds: 3, direct, vxlan, ratios });
  assert.match(text, /p50 µs \(100 × 64 B\)\s+22\.0 \(20\.0–30\.0\)\s+33\.0\s+1\.50×/);
  assert.match(text, /pod MTU\s+1500\s+1450/);
  assert.match(text, /VXLAN 1234, direct: no device/);
});

test('--only takes the new groups; --quick shrinks them', () => {
  for (const g of ['hostport', 'masquerade', 'vxlan', 'policy']) assert.equal(parseOptions(['--only', g]).only, g);
  assert.throws(() => parseOptions(['--only', 'netpol']), /--only is one of/);
  const full = parseOptions([]);
  const quick = parseOptions(['--quick']);
  assert.equal(full.peers, 500);
  assert.ok(quick.hostPortPods < full.hostPortPods && quick.xnodeRounds < full.xnodeRounds && quick.masqRounds <= full.masqRounds);
  assert.deepEqual([full.polSeqPods, full.polChurnPods, full.polRounds], [100, 160, 3]);
  assert.ok(quick.polSeqPods < full.polSeqPods && quick.polChurnPods < full.polChurnPods && quick.polRounds === 1);
});
