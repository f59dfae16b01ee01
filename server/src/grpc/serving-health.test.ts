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

type HealthClient = grpc.Client & { Check(req: { service: string }, cb: (err: grpc.ServiceError | null, res: { status: string }) => void): void };

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
