import type * as grpc from '@grpc/grpc-js';
import type { DebugHandlers } from '../generated/podwire/v1/Debug';
import { lazyDebugDefinition } from './lazy-debug-definition';
import { addLazyReflection } from './reflection';
import { CNI_SERVICE, DEBUG_SERVICE, type ServingHealth } from './serving-health';

/** Adds what every listener serves: podwire.v1.Debug, grpc.health.v1.Health and reflection. */
export function addIntrospectionServices(server: grpc.Server, debug: DebugHandlers, health: ServingHealth, opts: { cni: boolean }): void {
  // debug.proto is parsed at the first Debug call, not before serving (lazy-debug-definition.ts).
  server.addService(lazyDebugDefinition(), debug);
  health.forListener(opts.cni ? [CNI_SERVICE, DEBUG_SERVICE] : [DEBUG_SERVICE]).addToServer(server);
  addLazyReflection(server, opts);
}
