/**
 * PodwireMetrics against a real SQLite lease store: events published on a CniEventBus, batch
 * observations and store changes, read back from the text exposition.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { register as globalRegistry } from 'prom-client';
import { type IpamStore, type RangeSet, describeRangeSet, openIpamStore, parseRangeSets } from '@podwire/ipam-store';
import { plantPendingAttachment } from '@podwire/ipam-store/dist/legacy-pending';
import { type CniCallEvent, CniEventBus } from '../events/cni-events';
import { NetworkRegistry } from '../pools/network-registry';
import { CNI_VERBS } from './cni-call-metrics';
import { type ExpositionSample, parseExposition, sampleValue } from './exposition-samples';
import { PodwireMetrics, type PodwireMetricsSources } from './podwire-metrics';
import { pendingVerification } from '../startup/pod-verification';
import type { StartupReport } from '../startup/startup-report';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-metrics-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;

function fixture(extra: Partial<PodwireMetricsSources> = {}): { store: IpamStore; dbPath: string; networks: NetworkRegistry; metrics: PodwireMetrics } {
  const dbPath = path.join(dir, `m${n++}.db`);
  const store = openIpamStore(dbPath);
  const networks = new NetworkRegistry();
  const metrics = new PodwireMetrics({ store, networks, netnsSocketCacheSize: () => 0, processMetrics: false, ...extra });
  return { store, dbPath, networks, metrics };
}

async function scrape(metrics: PodwireMetrics): Promise<ExpositionSample[]> {
  const { contentType, body } = await metrics.expose();
  assert.equal(contentType, 'text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(body);
}

function event(verb: CniCallEvent['verb'], outcome: CniCallEvent['outcome'], durationMs: number, errorCode = 0): CniCallEvent {
  return {
    requestId: `r-${verb}-${durationMs}`,
    time: new Date(),
    verb,
    containerId: 'ctr',
    ifname: 'eth0',
    network: 'net',
    podNamespace: '',
    podName: '',
    durationMs,
    outcome,
    errorCode,
    errorMsg: errorCode ? 'failed' : '',
  };
}

test('a fresh registry shows every verb at zero and no errors', async () => {
  const { store, metrics } = fixture();
  const s = await scrape(metrics);
  for (const verb of CNI_VERBS) {
    assert.equal(sampleValue(s, 'podwire_cni_requests_total', { verb, outcome: 'ok' }), 0, verb);
    assert.equal(sampleValue(s, 'podwire_cni_requests_total', { verb, outcome: 'error' }), 0, verb);
    assert.equal(sampleValue(s, 'podwire_cni_request_duration_seconds_count', { verb }), 0, verb);
  }
  assert.deepEqual(
    s.filter((x) => x.name === 'podwire_cni_errors_total'),
    [],
  );
  assert.deepEqual(
    s.filter((x) => x.name.startsWith('podwire_ipam_') || x.name === 'podwire_attachments'),
    [],
  );
  assert.equal(sampleValue(s, 'podwire_netns_socket_cache_size'), 0);
  assert.equal(sampleValue(s, 'podwire_host_programmer_batch_size_count', { kind: 'link-delete' }), 0);
  assert.equal(sampleValue(s, 'podwire_host_programmer_batch_size_count', { kind: 'route' }), 0);
  assert.equal(s.filter((x) => x.name.startsWith('process_') || x.name.startsWith('nodejs_')).length, 0, 'process metrics were turned off');
  store.close();
});

test('calls published on the bus are counted by verb and outcome, errors by code, latency in seconds', async () => {
  const { store, metrics } = fixture();
  const bus = new CniEventBus();
  const unsubscribe = metrics.subscribeTo(bus);
  bus.publish(event('ADD', 'ok', 2)); // 0.002 s: bucket le=0.0025
  bus.publish(event('ADD', 'ok', 0.3)); // bucket le=0.0005
  bus.publish(event('ADD', 'error', 7, 100));
  bus.publish(event('ADD', 'abandoned', 4000));
  bus.publish(event('DEL', 'ok', 30));
  bus.publish(event('CHECK', 'error', 1, 4));
  bus.publish(event('CHECK', 'error', 1, 4));
  bus.publish(event('CHECK', 'error', 12_000, 104)); // beyond the last bucket: only +Inf
  const s = await scrape(metrics);

  const requests = (verb: string, outcome: string) => sampleValue(s, 'podwire_cni_requests_total', { verb, outcome });
  assert.equal(requests('ADD', 'ok'), 2);
  assert.equal(requests('ADD', 'error'), 1);
  assert.equal(requests('ADD', 'abandoned'), 1);
  assert.equal(requests('DEL', 'ok'), 1);
  assert.equal(requests('DEL', 'error'), 0);
  assert.equal(requests('CHECK', 'ok'), 0);
  assert.equal(requests('CHECK', 'error'), 3);
  assert.equal(requests('STATUS', 'ok'), 0);

  const errors = s.filter((x) => x.name === 'podwire_cni_errors_total').map((x) => [x.labels.verb, x.labels.code, x.value]);
  assert.deepEqual(
    errors.sort(),
    [
      ['ADD', '100', 1],
      ['CHECK', '104', 1],
      ['CHECK', '4', 2],
    ].sort(),
  );

  const bucket = (verb: string, le: string) => sampleValue(s, 'podwire_cni_request_duration_seconds_bucket', { verb, le });
  assert.equal(bucket('ADD', '0.0005'), 1);
  assert.equal(bucket('ADD', '0.0025'), 2);
  assert.equal(bucket('ADD', '0.01'), 3);
  assert.equal(bucket('ADD', '2.5'), 3);
  assert.equal(bucket('ADD', '5'), 4);
  assert.equal(bucket('CHECK', '10'), 2);
  assert.equal(bucket('CHECK', '+Inf'), 3);
  assert.equal(sampleValue(s, 'podwire_cni_request_duration_seconds_count', { verb: 'ADD' }), 4);
  assert.equal(sampleValue(s, 'podwire_cni_request_duration_seconds_count', { verb: 'DEL' }), 1);
  const addSum = sampleValue(s, 'podwire_cni_request_duration_seconds_sum', { verb: 'ADD' }) ?? NaN;
  assert.ok(Math.abs(addSum - 4.0093) < 1e-9, String(addSum));
  const les = s.filter((x) => x.name === 'podwire_cni_request_duration_seconds_bucket' && x.labels.verb === 'GET').map((x) => x.labels.le);
  assert.deepEqual(les, ['0.0005', '0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf']);

  unsubscribe();
  assert.equal(bus.listenerCount, 0);
  bus.publish(event('ADD', 'ok', 1));
  assert.equal(sampleValue(await scrape(metrics), 'podwire_cni_requests_total', { verb: 'ADD', outcome: 'ok' }), 2, 'no longer counting');
  store.close();
});

test('host programmer batch sizes are a histogram by kind', async () => {
  const { store, metrics } = fixture();
  const observe = metrics.observeBatch;
  observe('link-delete', 1);
  observe('link-delete', 3);
  observe('link-delete', 40);
  observe('route', 1);
  const s = await scrape(metrics);
  const bucket = (kind: string, le: string) => sampleValue(s, 'podwire_host_programmer_batch_size_bucket', { kind, le });
  assert.equal(sampleValue(s, 'podwire_host_programmer_batch_size_count', { kind: 'link-delete' }), 3);
  assert.equal(sampleValue(s, 'podwire_host_programmer_batch_size_sum', { kind: 'link-delete' }), 44);
  assert.equal(bucket('link-delete', '1'), 1);
  assert.equal(bucket('link-delete', '2'), 1);
  assert.equal(bucket('link-delete', '4'), 2);
  assert.equal(bucket('link-delete', '32'), 2);
  assert.equal(bucket('link-delete', '64'), 3);
  assert.equal(sampleValue(s, 'podwire_host_programmer_batch_size_count', { kind: 'route' }), 1);
  store.close();
});

function sets(subnet: string, extra: Record<string, string> = {}): RangeSet[] {
  return parseRangeSets([[{ subnet, ...extra }]]);
}

test('addresses used/free and attachments are read from the store at each scrape', async () => {
  const { store, dbPath, networks, metrics } = fixture();
  const a = sets('10.228.200.0/29'); // .1-.6: 6 addresses
  const b = [...sets('10.228.201.0/28', { rangeStart: '10.228.201.2', rangeEnd: '10.228.201.5' }), ...sets('fd00:228::/125')];
  networks.record('net-a', a);
  networks.record('net-b', b);
  const att = (network: string, containerId: string) => ({ network, containerId, ifname: 'eth0', netns: '/proc/1/ns/net', hostIfname: `pw-${containerId}` });
  // c1 as an ADD records it (ready); c2 and c3 `pending`, as an older podwired left an ADD cut short.
  store.allocate(att('net-a', 'c1'), a).commit('{}');
  plantPendingAttachment(dbPath, att('net-a', 'c2'), a);
  plantPendingAttachment(dbPath, att('net-b', 'c3'), b);

  let s = await scrape(metrics);
  const used = (network: string, set: RangeSet) => sampleValue(s, 'podwire_ipam_addresses_used', { network, range_set: describeRangeSet(set) });
  const free = (network: string, set: RangeSet) => sampleValue(s, 'podwire_ipam_addresses_free', { network, range_set: describeRangeSet(set) });
  assert.equal(used('net-a', a[0]!), 2);
  assert.equal(free('net-a', a[0]!), 4);
  assert.equal(used('net-b', b[0]!), 1);
  assert.equal(free('net-b', b[0]!), 3);
  assert.equal(used('net-b', b[1]!), 1);
  assert.equal(free('net-b', b[1]!), 6, 'fd00:228::1-::7 (IPv6 has no broadcast address)');
  assert.equal(s.filter((x) => x.name === 'podwire_ipam_addresses_used').length, 3);
  const attachments = () =>
    s
      .filter((x) => x.name === 'podwire_attachments')
      .map((x) => [x.labels.network, x.labels.state, x.value])
      .sort();
  assert.deepEqual(attachments(), [
    ['net-a', 'pending', 1],
    ['net-a', 'ready', 1],
    ['net-b', 'pending', 1],
  ]);

  store.remove({ network: 'net-b', containerId: 'c3', ifname: 'eth0' });
  store.remove({ network: 'net-a', containerId: 'c2', ifname: 'eth0' });
  s = await scrape(metrics);
  assert.equal(used('net-a', a[0]!), 1);
  assert.equal(free('net-a', a[0]!), 5);
  assert.equal(used('net-b', b[0]!), 0);
  assert.equal(free('net-b', b[1]!), 7);
  assert.deepEqual(attachments(), [['net-a', 'ready', 1]], 'series of emptied networks and states are dropped');
  store.close();
});

test('the netns socket cache size is read from the injected function at each scrape', async () => {
  let size = 3;
  const { store, metrics } = fixture({ netnsSocketCacheSize: () => size });
  assert.equal(sampleValue(await scrape(metrics), 'podwire_netns_socket_cache_size'), 3);
  size = 17;
  assert.equal(sampleValue(await scrape(metrics), 'podwire_netns_socket_cache_size'), 17);
  store.close();
});

test("VXLAN peers' path MTUs are read at each scrape, with a flag for a path too small", async () => {
  let probed = [
    { peer: 'node-2', pathMtu: 1500, tooSmall: false },
    { peer: 'node-3', pathMtu: 1400, tooSmall: true },
  ];
  const { store, metrics } = fixture({ peerPathMtus: () => probed });
  let samples = await scrape(metrics);
  assert.equal(sampleValue(samples, 'podwire_peer_path_mtu_bytes', { peer: 'node-3' }), 1400);
  assert.equal(sampleValue(samples, 'podwire_peer_path_mtu_too_small', { peer: 'node-3' }), 1);
  assert.equal(sampleValue(samples, 'podwire_peer_path_mtu_too_small', { peer: 'node-2' }), 0);
  probed = [{ peer: 'node-2', pathMtu: 1500, tooSmall: false }];
  samples = await scrape(metrics);
  assert.equal(sampleValue(samples, 'podwire_peer_path_mtu_bytes', { peer: 'node-3' }), undefined, 'a peer gone is gone from the gauge');
  store.close();
});

test('the start-up report is read at each scrape: reconcile counts, phase seconds, verification per outcome', async () => {
  const startup: StartupReport = {
    reconcile: { rolledBack: 2, orphanLinks: 1, orphanRoutes: 4, hostOk: 97, hostDegraded: 3, failed: 0 },
    phases: { storeMs: 5, snapshotMs: 200, reconcileMs: 30, toServingMs: 750 },
    verification: { ...pendingVerification(100), state: 'running', verified: 40, failed: 1 },
  };
  const { store, metrics } = fixture({ startup: () => startup });
  let samples = await scrape(metrics);
  assert.equal(sampleValue(samples, 'podwire_startup_reconcile_items', { action: 'rolled_back' }), 2);
  assert.equal(sampleValue(samples, 'podwire_startup_reconcile_items', { action: 'host_degraded' }), 3);
  assert.equal(sampleValue(samples, 'podwire_startup_phase_seconds', { phase: 'snapshot' }), 0.2);
  assert.equal(sampleValue(samples, 'podwire_startup_phase_seconds', { phase: 'to_serving' }), 0.75);
  assert.equal(sampleValue(samples, 'podwire_startup_verification_pods', { outcome: 'unchecked' }), 59);
  assert.equal(sampleValue(samples, 'podwire_startup_verification_done'), 0);
  startup.verification = { ...startup.verification, state: 'done', verified: 98, netnsGone: 1 };
  samples = await scrape(metrics);
  assert.equal(sampleValue(samples, 'podwire_startup_verification_pods', { outcome: 'verified' }), 98);
  assert.equal(sampleValue(samples, 'podwire_startup_verification_pods', { outcome: 'unchecked' }), 0);
  assert.equal(sampleValue(samples, 'podwire_startup_verification_done'), 1);
  store.close();
});

test('process metrics are collected into the own registry, never the global one', async () => {
  const before = globalRegistry.getMetricsAsArray().length;
  const { store, metrics } = fixture({ processMetrics: true });
  const s = await scrape(metrics);
  assert.ok((sampleValue(s, 'process_cpu_user_seconds_total') ?? -1) >= 0);
  assert.ok((sampleValue(s, 'process_resident_memory_bytes') ?? 0) > 0);
  assert.ok(s.some((x) => x.name === 'nodejs_eventloop_lag_seconds'));
  assert.equal(globalRegistry.getMetricsAsArray().length, before);
  assert.equal((await globalRegistry.metrics()).includes('podwire_'), false);
  store.close();
});

test('a scrape of a closed store fails with the store error', async () => {
  const { store, networks, metrics } = fixture();
  networks.record('net-a', sets('10.228.202.0/30'));
  store.close();
  await assert.rejects(metrics.expose(), /database|closed|open/i);
});
