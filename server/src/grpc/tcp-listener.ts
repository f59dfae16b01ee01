import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ListenAddress } from '../config/listen-address';
import type { DebugHandlers } from '../generated/podwire/v1/Debug';
import type { RunningGrpcServer } from './grpc-server';
import { addIntrospectionServices } from './introspection-services';
import type { ServingHealth } from './serving-health';
import { type TcpTlsMaterial, mutualTlsCredentials } from './tls-credentials';

export interface RunningTcpServer extends RunningGrpcServer {
  /** The port actually bound (the configured one, or the one the kernel picked for port 0). */
  readonly port: number;
}

/**
 * The TCP listener: a grpc.Server of its own that serves Debug, health and reflection, and
 * never Cni (the CNI verbs change the host's network; they stay on the root-only unix socket).
 * Mutual TLS only: no plaintext, and no client without a certificate from the client CA.
 */
export async function startTcpDebugServer(
  listen: ListenAddress,
  tls: TcpTlsMaterial,
  services: { debug: DebugHandlers; health: ServingHealth },
  log: Logger,
): Promise<RunningTcpServer> {
  const server = new grpc.Server({ 'grpc.enable_channelz': 0 });
  addIntrospectionServices(server, services.debug, services.health, { cni: false });
  const target = listen.host.includes(':') ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(target, mutualTlsCredentials(tls), (err, bound) => {
      if (err) reject(new Error(`cannot listen on tcp ${target}: ${err.message}`));
      else resolve(bound);
    });
  });
  log.info({ tcpHost: listen.host, tcpPort: port }, 'podwired listening on TCP (mutual TLS; Debug, health, reflection)');
  return {
    port,
    stop: (graceMs) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
