import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadHealthPackageDefinition } from './load-proto';
import { CNI_SERVICE, DEBUG_SERVICE, ServingHealth } from './serving-health';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-health-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

type HealthClient = grpc.Client & {
  Check(req: { service: string }, cb: (err: grpc.ServiceError | null, res: { status: string }) => void): void;
  Watch(req: { service: string }): grpc.ClientReadableStream<{ status: string }>;
};

async function serve(health: ServingHealth, services: string[], name: string): Promise<{ client: HealthClient; server: grpc.Server }> {
  const server = new grpc.Server();
  health.forListener(services).addToServer(server);
  const address = `unix://${path.join(dir, name)}`;
  await new Promise<void>((resolve, reject) => server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  const pkg = grpc.loadPackageDefinition(loadHealthPackageDefinition()) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
  const client = new pkg.grpc.health.v1.Health(address, grpc.credentials.createInsecure()) as unknown as HealthClient;
  return { client, server };
}

function check(client: HealthClient, service: string): Promise<string> {
  return new Promise((resolve, reject) => client.Check({ service }, (err, res) => (err ? reject(err) : resolve(res.status))));
}

test('every listener: NOT_SERVING, then SERVING, then NOT_SERVING once stopping; only its own services', async () => {
  const health = new ServingHealth();
  const unix = await serve(health, [CNI_SERVICE, DEBUG_SERVICE], 'unix.sock');
  const tcp = await serve(health, [DEBUG_SERVICE], 'tcp.sock');
  try {
    for (const s of ['', CNI_SERVICE, DEBUG_SERVICE]) assert.equal(await check(unix.client, s), 'NOT_SERVING');
    health.markServing();
    for (const s of ['', CNI_SERVICE, DEBUG_SERVICE]) assert.equal(await check(unix.client, s), 'SERVING');
    for (const s of ['', DEBUG_SERVICE]) assert.equal(await check(tcp.client, s), 'SERVING');
    await assert.rejects(check(tcp.client, CNI_SERVICE), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
    let stopped = false;
    void health.stopping.then(() => (stopped = true));
    health.markShuttingDown();
    await health.stopping;
    assert.ok(stopped);
    for (const s of ['', CNI_SERVICE]) assert.equal(await check(unix.client, s), 'NOT_SERVING');
    assert.equal(await check(tcp.client, DEBUG_SERVICE), 'NOT_SERVING');
  } finally {
    for (const x of [unix, tcp]) {
      x.client.close();
      x.server.forceShutdown();
    }
  }
});

/** A health Watch: every status it is sent, and how its stream ended (once it has). */
function watch(client: HealthClient, service: string) {
  const statuses: string[] = [];
  const stream = client.Watch({ service });
  let seen: () => void = () => undefined;
  const changed = (): void => seen();
  stream.on('data', (m: { status: string }) => {
    statuses.push(m.status);
    changed();
  });
  const ended = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
  stream.on('error', () => undefined); // the status above says how it ended
  const sawStatus = (n: number): Promise<void> => (statuses.length >= n ? Promise.resolve() : new Promise((r) => (seen = () => statuses.length >= n && r())));
  return { statuses, ended, sawStatus, cancel: () => stream.cancel() };
}

/**
 * `p`, or a failure naming `what` if it has not settled after `ms`: the stall this file tests
 * for never settles, and failing (then cleaning up in `finally`) beats a run that hangs.
 */
async function settles<T>(p: Promise<T>, what: string, ms = 8000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, stalled]);
  } finally {
    clearTimeout(timer);
  }
}

function tryShutdown(server: grpc.Server): Promise<void> {
  return new Promise((resolve, reject) => server.tryShutdown((err) => (err ? reject(err) : resolve())));
}

test('shutdown sends NOT_SERVING to open Watch streams, then ends them, so tryShutdown does not wait for them', async () => {
  const health = new ServingHealth();
  const unix = await serve(health, [CNI_SERVICE, DEBUG_SERVICE], 'watch-unix.sock');
  const tcp = await serve(health, [DEBUG_SERVICE], 'watch-tcp.sock');
  try {
    health.markServing();
    const watches = [watch(unix.client, ''), watch(unix.client, CNI_SERVICE), watch(tcp.client, DEBUG_SERVICE)];
    for (const w of watches) await w.sawStatus(1);
    assert.equal(health.openWatches, 3);
    health.markShuttingDown();
    for (const w of watches) {
      const status = await settles(w.ended, 'the Watch stream ending once shutdown started');
      assert.equal(status.code, grpc.status.OK);
      assert.deepEqual(w.statuses, ['SERVING', 'NOT_SERVING']);
    }
    assert.equal(health.openWatches, 0);
    await settles(Promise.all([tryShutdown(unix.server), tryShutdown(tcp.server)]), 'tryShutdown on both listeners');
    // Shutting down is final: nothing turns it back to SERVING.
    health.markServing();
    assert.equal(health.current, 'NOT_SERVING');
  } finally {
    for (const x of [unix, tcp]) {
      x.client.close();
      x.server.forceShutdown();
    }
  }
});

test('a Watch that the client cancels leaves the registry; one opened after shutdown started ends at once', async () => {
  const health = new ServingHealth();
  const unix = await serve(health, [CNI_SERVICE], 'watch-late.sock');
  try {
    const early = watch(unix.client, '');
    await early.sawStatus(1);
    assert.equal(health.openWatches, 1);
    early.cancel();
    assert.equal((await settles(early.ended, 'the cancelled Watch ending')).code, grpc.status.CANCELLED);
    // The server hears of the cancel a moment later.
    const openWatches = (): number => health.openWatches;
    while (openWatches() !== 0) await new Promise((r) => setImmediate(r));
    health.markShuttingDown();
    const late = watch(unix.client, '');
    const status = await settles(late.ended, 'a Watch opened after shutdown started ending');
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(late.statuses, ['NOT_SERVING']);
    assert.equal(health.openWatches, 0);
  } finally {
    unix.client.close();
    unix.server.forceShutdown();
  }
});
