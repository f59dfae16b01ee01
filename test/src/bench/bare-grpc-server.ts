/**
 * A bare grpc-js server for the "podwired CPU per call vs bare server" rows (cpu-floor.ts):
 * it loads the same proto (proto/podwire/v1/cni.proto, with @grpc/proto-loader and the loader
 * options of server/src/grpc/load-proto.ts), serves podwire.v1.Cni with the server options of
 * server/src/grpc/grpc-server.ts (max receive 32 MiB, channelz off, connections accepted by a
 * net.Server and handed to grpc-js through a connection injector) on a unix socket, and
 * answers every RPC at once with an empty success (Add: a small CNI result). It does no
 * SO_PEERCRED check (podwired's one getsockopt per connection) and serves no Debug, health or
 * reflection services.
 *
 *   node test/dist/bench/bare-grpc-server.js SOCKET
 *
 * Prints "ready <pid>" on stdout once listening; exits on SIGTERM/SIGINT or when stdin closes.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { REPO_ROOT } from '../lib/paths';

const LOADER_OPTIONS: protoLoader.Options = {
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [path.join(REPO_ROOT, 'proto')],
};

/** The ADD result the bare server returns (CNI 1.0.0, one interface, one address). */
export const BARE_ADD_RESULT = JSON.stringify({
  cniVersion: '1.0.0',
  interfaces: [{ name: 'eth0', sandbox: '/var/run/netns/bare' }],
  ips: [{ address: '10.252.0.2/32', gateway: '169.254.1.1', interface: 0 }],
  routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
  dns: {},
});

async function main(): Promise<void> {
  const socket = process.argv[2];
  if (!socket) throw new Error('usage: bare-grpc-server SOCKET');
  const def = protoLoader.loadSync('podwire/v1/cni.proto', LOADER_OPTIONS);
  const proto = grpc.loadPackageDefinition(def) as unknown as {
    podwire: { v1: { Cni: { service: grpc.ServiceDefinition } } };
  };
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 32 * 1024 * 1024, 'grpc.enable_channelz': 0 });
  const result = Buffer.from(BARE_ADD_RESULT, 'utf8');
  type Cb = grpc.sendUnaryData<Record<string, unknown>>;
  const ok =
    (reply: () => Record<string, unknown>) =>
    (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: Cb): void =>
      cb(null, reply());
  server.addService(proto.podwire.v1.Cni.service, {
    Add: ok(() => ({ result, cniVersion: '1.0.0' })),
    Del: ok(() => ({ cniVersion: '1.0.0' })),
    Check: ok(() => ({ cniVersion: '1.0.0' })),
    Status: ok(() => ({ cniVersion: '1.1.0' })),
    Gc: ok(() => ({ cniVersion: '1.1.0' })),
    Get: ok(() => ({ result, cniVersion: '1.1.0' })),
  });
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const listener = net.createServer((sock) => injector.injectConnection(sock));
  try {
    fs.unlinkSync(socket);
  } catch {
    /* not there */
  }
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(socket, () => resolve());
  });
  fs.chmodSync(socket, 0o600);
  const stop = () => {
    listener.close();
    injector.destroy();
    server.forceShutdown();
    try {
      fs.unlinkSync(socket);
    } catch {
      /* gone */
    }
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  process.stdout.write(`ready ${process.pid}\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`bare-grpc-server: ${String(err)}\n`);
    process.exit(1);
  });
}
