/**
 * The metrics HTTP server on loopback with an injected exposition: routes, methods, content
 * type, the logged port, scrape failures and close().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { Writable } from 'node:stream';
import pino from 'pino';
import { parseListenAddress } from '../config/listen-address';
import type { MetricsExposition } from './podwire-metrics';
import { startMetricsHttpServer } from './metrics-http-server';

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function capturingLogger(): { log: pino.Logger; records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') records.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), records };
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(port: number, method: string, urlPath: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('GET /metrics serves the exposition; other paths 404, other methods 405; the bound port is logged', async () => {
  const { log, records } = capturingLogger();
  let scrapes = 0;
  const expose = async (): Promise<MetricsExposition> => ({ contentType: CONTENT_TYPE, body: `podwire_test_scrapes ${++scrapes}\n` });
  const server = await startMetricsHttpServer(parseListenAddress('127.0.0.1:0', 'metrics.listen'), expose, log);
  try {
    assert.equal(server.host, '127.0.0.1');
    assert.ok(server.port > 0);
    const listening = records.find((r) => r.metricsPort !== undefined);
    assert.ok(listening, JSON.stringify(records));
    assert.equal(listening.metricsPort, server.port);
    assert.equal(listening.metricsAddress, `127.0.0.1:${server.port}`);

    const ok = await request(server.port, 'GET', '/metrics');
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['content-type'], CONTENT_TYPE);
    assert.equal(ok.body, 'podwire_test_scrapes 1\n');
    assert.equal((await request(server.port, 'GET', '/metrics?debug=1')).body, 'podwire_test_scrapes 2\n');

    const head = await request(server.port, 'HEAD', '/metrics');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');

    for (const p of ['/', '/metrics/', '/metricsx', '/healthz']) assert.equal((await request(server.port, 'GET', p)).status, 404, p);
    const post = await request(server.port, 'POST', '/metrics');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  } finally {
    await server.close();
  }
  await assert.rejects(request(server.port, 'GET', '/metrics'), /ECONNREFUSED/);
});

test('a failing scrape is answered 500 with the reason and logged', async () => {
  const { log, records } = capturingLogger();
  const server = await startMetricsHttpServer(
    parseListenAddress('127.0.0.1:0', 'metrics.listen'),
    () => Promise.reject(new Error('the database connection is not open')),
    log,
  );
  try {
    const r = await request(server.port, 'GET', '/metrics');
    assert.equal(r.status, 500);
    assert.equal(r.body, 'cannot collect metrics: the database connection is not open\n');
    assert.ok(
      records.some((x) => x.msg === 'metrics scrape failed' && x.level === 50),
      JSON.stringify(records),
    );
  } finally {
    await server.close();
  }
});

test('close() returns while a scraper still holds a keep-alive connection', async () => {
  const { log } = capturingLogger();
  const server = await startMetricsHttpServer(parseListenAddress('127.0.0.1:0', 'metrics.listen'), async () => ({ contentType: CONTENT_TYPE, body: '' }), log);
  const agent = new http.Agent({ keepAlive: true });
  try {
    await new Promise<void>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: server.port, path: '/metrics', agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    });
    await server.close();
  } finally {
    agent.destroy();
  }
});

test('a port already in use is a start-up error naming the address', async () => {
  const { log } = capturingLogger();
  const first = await startMetricsHttpServer(parseListenAddress('127.0.0.1:0', 'metrics.listen'), async () => ({ contentType: CONTENT_TYPE, body: '' }), log);
  try {
    await assert.rejects(
      startMetricsHttpServer(parseListenAddress(`127.0.0.1:${first.port}`, 'metrics.listen'), async () => ({ contentType: CONTENT_TYPE, body: '' }), log),
      new RegExp(`cannot listen for metrics on 127\\.0\\.0\\.1:${first.port}: .*EADDRINUSE`),
    );
  } finally {
    await first.close();
  }
});

test('an IPv6 listen address is logged in brackets', async () => {
  const { log, records } = capturingLogger();
  const server = await startMetricsHttpServer(parseListenAddress('[::1]:0', 'metrics.listen'), async () => ({ contentType: CONTENT_TYPE, body: 'x 1\n' }), log);
  try {
    assert.equal(server.host, '::1');
    assert.equal(records.find((r) => r.metricsPort === server.port)?.metricsAddress, `[::1]:${server.port}`);
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: '::1', port: server.port, path: '/metrics', agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        })
        .on('error', reject);
    });
    assert.equal(body, 'x 1\n');
  } finally {
    await server.close();
  }
});
