import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { CniHandlers } from '../generated/podwire/v1/Cni';
import { loadCniProto } from './load-proto';
import { prepareSocketDir, removeStaleSocket } from './unix-socket';

/** Starts the gRPC server on the unix socket (mode 0600, in a 0700 directory). */
export async function startGrpcServer(socketPath: string, cni: CniHandlers): Promise<grpc.Server> {
  prepareSocketDir(socketPath);
  await removeStaleSocket(socketPath);
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 32 * 1024 * 1024,
  });
  server.addService(loadCniProto().podwire.v1.Cni.service, cni);
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
  });
  fs.chmodSync(socketPath, 0o600);
  return server;
}

export function stopGrpcServer(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
