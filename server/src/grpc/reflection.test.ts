import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { REFLECTION_PATHS, addLazyReflection } from './reflection';

const REFLECTION_PROTO_DIR = path.join(path.dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto');

type ListReply = { listServicesResponse?: { service?: Array<{ name: string }> } };

test('the lazily registered paths are the ones @grpc/reflection registers', () => {
  const paths: string[] = [];
  new ReflectionService({}, { services: [] }).addToServer({
    addService: (definition: grpc.ServiceDefinition) => {
      for (const m of Object.values(definition)) paths.push(m.path);
    },
  } as unknown as grpc.Server);
  assert.deepEqual([...paths].sort(), [...REFLECTION_PATHS].sort());
});

test('a reflection client lists what the listener serves, through both versions', { timeout: 20_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-reflection-'));
  const socket = `unix://${path.join(dir, 's.sock')}`;
  const server = new grpc.Server();
  addLazyReflection(server, { cni: true });
  try {
    await new Promise<void>((resolve, reject) => server.bindAsync(socket, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
    for (const version of ['v1', 'v1alpha']) {
      const def = protoLoader.loadSync(`grpc/reflection/${version}/reflection.proto`, { includeDirs: [REFLECTION_PROTO_DIR] });
      const pkg = grpc.loadPackageDefinition(def) as unknown as {
        grpc: { reflection: Record<string, { ServerReflection: grpc.ServiceClientConstructor }> };
      };
      const Client = pkg.grpc.reflection[version]?.ServerReflection;
      assert.ok(Client, version);
      const client = new Client(socket, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
        ServerReflectionInfo: () => grpc.ClientDuplexStream<unknown, ListReply>;
      };
      try {
        const names = await new Promise<string[]>((resolve, reject) => {
          const call = client.ServerReflectionInfo();
          call.on('data', (reply: ListReply) => {
            resolve((reply.listServicesResponse?.service ?? []).map((s) => s.name).sort());
            call.end();
          });
          call.on('error', reject);
          call.write({ listServices: '' });
        });
        assert.deepEqual(names, ['grpc.health.v1.Health', 'podwire.v1.Cni', 'podwire.v1.Debug'], version);
      } finally {
        client.close();
      }
    }
  } finally {
    server.forceShutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
