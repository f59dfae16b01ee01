import * as fs from 'node:fs';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { CniHandlers } from '../generated/podwire/v1/Cni';
import { type PeerCred, nativeAddon } from '../native-addon';
import type { DebugHandlers } from '../generated/podwire/v1/Debug';
import { addIntrospectionServices } from './introspection-services';
import { loadCniProto } from './load-proto';
import type { ServingHealth } from './serving-health';
import { prepareSocketDir, removeStaleSocket } from './unix-socket';

export interface RunningGrpcServer {
  /** Stops accepting, lets in-flight calls finish for up to `graceMs`, then cuts the rest. */
  stop(graceMs: number): Promise<void>;
}

/** The unix socket serves everything: the CNI verbs, Debug, health and reflection. */
export interface UnixSocketServices {
  cni: CniHandlers;
  debug: DebugHandlers;
  health: ServingHealth;
}

/** Only root may call podwired: the CNI verbs configure the host's network. */
export function isAuthorizedPeer(cred: PeerCred): boolean {
  return cred.uid === 0;
}

function peerOf(sock: net.Socket): PeerCred | undefined {
  // A unix socket's libuv handle exposes its fd; SO_PEERCRED on it names the caller.
  const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (fd === undefined || fd < 0) return undefined;
  try {
    return nativeAddon.peerCred(fd);
  } catch {
    return undefined;
  }
}

/**
 * Serves gRPC on the unix socket (mode 0600, in a 0700 directory). podwired accepts the
 * connections itself and checks each caller's credentials (SO_PEERCRED) before handing the
 * connection to grpc-js: a caller that is not root is logged and disconnected, even if the
 * socket's permissions were loosened by someone. Besides podwire.v1.Cni it serves Debug,
 * grpc.health.v1 and server reflection.
 */
export async function startGrpcServer(socketPath: string, services: UnixSocketServices, log: Logger): Promise<RunningGrpcServer> {
  prepareSocketDir(socketPath);
  await removeStaleSocket(socketPath);
  const server = new grpc.Server({
    // The shim accepts configurations up to 16 MiB.
    'grpc.max_receive_message_length': 32 * 1024 * 1024,
    // Channelz bookkeeping costs CPU on every call (and every call is a new connection); no
    // podwire tool reads it.
    'grpc.enable_channelz': 0,
  });
  server.addService(loadCniProto().podwire.v1.Cni.service, services.cni);
  addIntrospectionServices(server, services.debug, services.health, { cni: true });
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());

  const listener = net.createServer((sock) => {
    const cred = peerOf(sock);
    if (!cred || !isAuthorizedPeer(cred)) {
      log.warn({ peer: cred ?? 'unknown' }, 'refused a connection: only root may call podwired');
      sock.destroy();
      return;
    }
    injector.injectConnection(sock);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(socketPath, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  fs.chmodSync(socketPath, 0o600);

  return {
    stop: (graceMs) =>
      new Promise<void>((resolve) => {
        listener.close();
        const timer = setTimeout(() => {
          injector.destroy();
          server.forceShutdown();
          resolve();
        }, graceMs);
        injector.drain(graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          injector.destroy();
          resolve();
        });
      }),
  };
}
