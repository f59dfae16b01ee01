/**
 * podwired's Prometheus endpoint, end to end: a live server with {metrics: {listen:
 * '127.0.0.1:0'}}, real CNI calls through the shim (successes and errors with known codes),
 * then /metrics scraped over HTTP on loopback and compared with the calls made and with the
 * SQLite rows. A server without a metrics configuration opens no TCP port at all.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { E2eHarness } from '../lib/e2e-harness';
import { mustRun } from '../lib/run-command';
import { type ShimCall, netConf } from '../lib/shim';
import { readStore } from '../lib/store-rows';

// met-a: 10.228.1.1-10.228.1.6 (6 addresses); met-x: exactly one address, 10.228.2.2.
const NET_A = 'met-a';
const NET_X = 'met-x';
const CONF_A = netConf(NET_A, '10.228.1.0/29');
const CONF_X = { ...netConf(NET_X, '10.228.2.0/29'), ipam: { ranges: [[{ subnet: '10.228.2.0/29', rangeStart: '10.228.2.2', rangeEnd: '10.228.2.2' }]] } };
const SIZE: Record<string, number> = { [NET_A]: 6, [NET_X]: 1 };
const RANGE_SET: Record<string, string> = { [NET_A]: '10.228.1.1-10.228.1.6 (10.228.1.0/29)', [NET_X]: '10.228.2.2-10.228.2.2 (10.228.2.0/29)' };
const TEXT_FORMAT = 'text/plain; version=0.0.4; charset=utf-8';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The sample lines of a Prometheus text exposition. */
function parseExposition(text: string): Sample[] {
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((line) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      assert.ok(m, `not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
      return { name: m[1]!, labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) };
    });
}

function samplesOf(samples: Sample[], name: string): Sample[] {
  return samples.filter((s) => s.name === name);
}

function value(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(hits.length <= 1, `${hits.length} samples of ${name} ${JSON.stringify(labels)}`);
  return hits[0]?.value;
}

function httpGet(port: number, urlPath: string, agent?: http.Agent): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, agent: agent ?? false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), body: Buffer.concat(chunks).toString('utf8') }),
        );
      })
      .on('error', reject);
  });
}

/** TCP sockets listening in the host netns that belong to `pid` (`ss` reads them from the kernel). */
async function listeningTcp(pid: number): Promise<string[]> {
  const out = await mustRun('ss', ['-H', '-l', '-t', '-n', '-p']);
  return out.split('\n').filter((l) => l.includes(`pid=${pid},`));
}

/** The port podwired logged for its metrics listener (the log line precedes the socket it serves on). */
async function loggedMetricsPort(h: E2eHarness): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const rec = h.server.logRecords().find((r) => typeof r.metricsPort === 'number');
    if (rec) return rec.metricsPort as number;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`podwired logged no metricsPort:\n${h.server.logs.join('\n')}`);
}

let h: E2eHarness;
let port: number;

before(async () => {
  h = await E2eHarness.start('met', { server: { config: { metrics: { listen: '127.0.0.1:0' } } } });
  port = await loggedMetricsPort(h);
});
after(async () => {
  await h.cleanup();
});

/** Every call the test made, as the metrics should count it. */
class Ledger {
  readonly requests = new Map<string, number>();
  readonly errors = new Map<string, number>();

  /** Runs the call through the shim, checks its exit and CNI code, and records it. */
  async call(c: ShimCall, expectCode?: number): Promise<Record<string, unknown> | undefined> {
    const r = await h.shim(c);
    if (expectCode === undefined) {
      assert.equal(r.exitCode, 0, `${c.command} ${c.containerId}: ${r.stdout}${r.stderr}`);
      this.bump(this.requests, `${c.command}/ok`);
    } else {
      assert.equal(r.exitCode, 1, `${c.command} ${c.containerId}: ${r.stdout}${r.stderr}`);
      assert.equal(r.json?.code, expectCode, r.stdout);
      this.bump(this.requests, `${c.command}/error`);
      this.bump(this.errors, `${c.command}/${expectCode}`);
    }
    return r.json;
  }

  private bump(m: Map<string, number>, k: string): void {
    m.set(k, (m.get(k) ?? 0) + 1);
  }

  /** Request and error counters, and each verb's histogram, equal the ledger exactly. */
  assertCounted(s: Sample[]): void {
    const requests = samplesOf(s, 'podwire_cni_requests_total')
      .filter((x) => x.value !== 0)
      .map((x) => [`${x.labels.verb}/${x.labels.outcome}`, x.value]);
    assert.deepEqual(new Map(requests as Array<[string, number]>), this.requests);
    const errors = samplesOf(s, 'podwire_cni_errors_total').map((x) => [`${x.labels.verb}/${x.labels.code}`, x.value]);
    assert.deepEqual(new Map(errors as Array<[string, number]>), this.errors);
    for (const verb of ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'GET']) {
      const calls = [...this.requests].filter(([k]) => k.startsWith(`${verb}/`)).reduce((n, [, v]) => n + v, 0);
      assert.equal(value(s, 'podwire_cni_request_duration_seconds_count', { verb }), calls, `${verb} histogram count`);
      assert.equal(value(s, 'podwire_cni_request_duration_seconds_bucket', { verb, le: '+Inf' }), calls, `${verb} +Inf bucket`);
      const sum = value(s, 'podwire_cni_request_duration_seconds_sum', { verb }) ?? NaN;
      assert.ok(calls === 0 ? sum === 0 : sum > 0, `${verb} sum ${sum}`);
    }
  }
}

async function scrape(): Promise<Sample[]> {
  const r = await httpGet(port, '/metrics');
  assert.equal(r.status, 200, r.body);
  assert.equal(r.contentType, TEXT_FORMAT);
  return parseExposition(r.body);
}

/** Used/free per network and range set, and attachments per network and state, equal the SQLite rows. */
function assertMatchesStore(s: Sample[]): void {
  const rows = readStore(h.server.dbPath);
  for (const network of [NET_A, NET_X]) {
    const used = rows.leases.filter((l) => l.network === network).length;
    const labels = { network, range_set: RANGE_SET[network]! };
    assert.equal(value(s, 'podwire_ipam_addresses_used', labels), used, `${network} used`);
    assert.equal(value(s, 'podwire_ipam_addresses_free', labels), SIZE[network]! - used, `${network} free`);
  }
  assert.equal(samplesOf(s, 'podwire_ipam_addresses_used').length, 2, 'one series per network served and range set');
  const counted = new Map<string, number>();
  for (const a of rows.attachments) counted.set(`${a.network}/${a.state}`, (counted.get(`${a.network}/${a.state}`) ?? 0) + 1);
  const gauge = samplesOf(s, 'podwire_attachments').map((x) => [`${x.labels.network}/${x.labels.state}`, x.value] as [string, number]);
  assert.deepEqual(new Map(gauge), counted);
}

test('/metrics counts the CNI calls made through the shim and reads pool usage and attachments from the store', async () => {
  const ledger = new Ledger();
  const before = await scrape();
  ledger.assertCounted(before);
  assert.deepEqual(samplesOf(before, 'podwire_ipam_addresses_used'), [], 'no network served yet');

  const pod = async (id: string, conf: Record<string, unknown>) => {
    const ns = await h.netns.create(id);
    return { containerId: `ctr-${id}`, netns: ns.path, ifname: 'eth0', config: conf };
  };
  const a1 = await pod('a1', CONF_A);
  const a2 = await pod('a2', CONF_A);
  const x1 = await pod('x1', CONF_X);
  const x2 = await pod('x2', CONF_X);

  const a1Result = await ledger.call({ command: 'ADD', ...a1 });
  await ledger.call({ command: 'ADD', ...a2 });
  await ledger.call({ command: 'ADD', ...x1 });
  await ledger.call({ command: 'ADD', ...x2 }, 100); // met-x has no address left
  await ledger.call({ command: 'CHECK', ...a1, config: { ...CONF_A, prevResult: a1Result } });
  await ledger.call({ command: 'CHECK', ...a1, containerId: 'ctr-never-added' }, 3);
  await ledger.call({ command: 'ADD', ...a2, containerId: 'ctr-bad-mtu', config: { ...CONF_A, mtu: 10 } }, 7);
  await ledger.call({ command: 'ADD', containerId: 'ctr-no-netns', ifname: 'eth0', config: CONF_A }, 4);
  await ledger.call({ command: 'STATUS', config: { ...CONF_A, cniVersion: '1.1.0' } });

  const wired = await scrape();
  ledger.assertCounted(wired);
  assertMatchesStore(wired);
  assert.equal(value(wired, 'podwire_ipam_addresses_used', { network: NET_A }), 2);
  assert.equal(value(wired, 'podwire_ipam_addresses_free', { network: NET_X }), 0);
  assert.equal(value(wired, 'podwire_attachments', { network: NET_A, state: 'ready' }), 2);
  assert.equal(value(wired, 'podwire_host_programmer_batch_size_sum', { kind: 'link-delete' }), 0, 'nothing deleted yet');
  // No socket stays in a pod netns between calls (it would keep a removed netns alive).
  assert.equal(value(wired, 'podwire_netns_socket_cache_size', {}), 0);

  for (const c of [a2, x1, a1]) await ledger.call({ command: 'DEL', ...c });
  await ledger.call({ command: 'DEL', ...x2 }); // never wired: DEL is still fine

  // The DELs detached their pairs; the background reaper destroys them within a second.
  let done = await scrape();
  for (const until = Date.now() + 10_000; value(done, 'podwire_link_destructions_pending', {}) !== 0 && Date.now() < until; done = await scrape()) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(value(done, 'podwire_link_destructions_pending', {}), 0, 'every detached pair destroyed');
  ledger.assertCounted(done);
  assertMatchesStore(done);
  assert.equal(value(done, 'podwire_ipam_addresses_free', { network: NET_A }), 6);
  assert.deepEqual(samplesOf(done, 'podwire_attachments'), []);
  // Three host veths existed; each DEL's pair was destroyed through the batching programmer.
  assert.equal(value(done, 'podwire_host_programmer_batch_size_sum', { kind: 'link-delete' }), 3);
  assert.equal(value(done, 'podwire_netns_socket_cache_size', {}), 0);
  assert.ok(value(done, 'process_start_time_seconds', {})! > 0, 'process metrics are exported');
});

test("the metrics listener is podwired's own loopback socket, serves only /metrics, and closes on SIGTERM", async () => {
  const pid = h.server.pid;
  assert.ok(pid);
  const sockets = await listeningTcp(pid);
  assert.equal(sockets.length, 1, sockets.join('\n'));
  assert.match(sockets[0]!, new RegExp(`\\s127\\.0\\.0\\.1:${port}\\s`));
  assert.equal((await httpGet(port, '/')).status, 404);
  assert.equal((await httpGet(port, '/metrics/extra')).status, 404);

  // A scraper's idle keep-alive connection must not hold up shutdown.
  const agent = new http.Agent({ keepAlive: true });
  try {
    assert.equal((await httpGet(port, '/metrics', agent)).status, 200);
    assert.equal(await h.server.stop(), 0);
  } finally {
    agent.destroy();
  }
  assert.ok(
    h.server.logRecords().some((r) => r.msg === 'podwired stopped'),
    h.server.logs.join('\n'),
  );
  await assert.rejects(httpGet(port, '/metrics'), /ECONNREFUSED/);
});

test('a podwired without a metrics configuration opens no TCP port', async () => {
  const plain = await E2eHarness.start('metoff');
  try {
    const pid = plain.server.pid;
    assert.ok(pid);
    // Serving CNI calls does not open one either.
    const status = await plain.shim({ command: 'STATUS', config: { ...netConf('met-off', '10.228.3.0/29'), cniVersion: '1.1.0' } });
    assert.equal(status.exitCode, 0, status.stdout);
    assert.deepEqual(await listeningTcp(pid), []);
    assert.equal(plain.server.logRecords().filter((r) => r.metricsPort !== undefined).length, 0);
  } finally {
    await plain.cleanup();
  }
});
