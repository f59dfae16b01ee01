import type * as grpc from '@grpc/grpc-js';
import type { ReflectionService } from '@grpc/reflection';
import type { PackageDefinition } from '@grpc/proto-loader';
import { loadHealthPackageDefinition, loadPodwirePackageDefinition } from './load-proto';
import { CNI_SERVICE, DEBUG_SERVICE, HEALTH_SERVICE } from './serving-health';

/**
 * gRPC server reflection (v1 and v1alpha) listing exactly what a listener serves: Debug and
 * health always, Cni only where it is served (the unix socket), so a reflection client never
 * discovers a service the listener would answer UNIMPLEMENTED.
 */
export function reflectionFor(opts: { cni: boolean }): ReflectionService {
  // proto-loader names its file descriptors after the package, so cni.proto and debug.proto
  // (both podwire.v1) must come from one load or reflection would only know one of them.
  const definitions = Object.assign({}, loadPodwirePackageDefinition(), loadHealthPackageDefinition()) as PackageDefinition;
  const services = opts.cni ? [CNI_SERVICE, DEBUG_SERVICE, HEALTH_SERVICE] : [DEBUG_SERVICE, HEALTH_SERVICE];
  // Loaded here, at the first reflection call: not a module podwired's start needs.
  const { ReflectionService: Reflection } = require('@grpc/reflection') as typeof import('@grpc/reflection');
  return new Reflection(definitions, { services });
}

/** Collects what a ReflectionService adds to a server, without a server. */
function recordServices(reflection: ReflectionService): Array<{ definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation }> {
  const added: Array<{ definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation }> = [];
  reflection.addToServer({
    addService: (definition: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation) => void added.push({ definition, implementation }),
  } as unknown as grpc.Server);
  return added;
}

/** The reflection services @grpc/reflection serves (v1 and v1alpha), each one bidirectional method. */
export const REFLECTION_PATHS = [
  '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
  '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
] as const;
const REFLECTION_METHOD = 'ServerReflectionInfo';

type AnyMethod = grpc.MethodDefinition<unknown, unknown>;

/**
 * Adds reflection to `server`, building it (loading @grpc/reflection and its reflection.proto,
 * decoding every file descriptor: tens of milliseconds, README "Measured") on the first
 * reflection call instead of at start-up, where it delayed serving. The two services are
 * registered at once from their known paths (reflection.test.ts holds them against
 * @grpc/reflection's), each coder and handler handing over to the real one.
 */
export function addLazyReflection(server: grpc.Server, opts: { cni: boolean }): void {
  let real: ReturnType<typeof recordServices> | undefined;
  const realOf = (path: string): { method: AnyMethod; handler: (...a: unknown[]) => unknown } => {
    real ??= recordServices(reflectionFor(opts));
    for (const { definition, implementation } of real) {
      const entry = Object.entries(definition).find(([, m]) => m.path === path);
      if (entry) return { method: entry[1] as AnyMethod, handler: implementation[entry[0]] as (...a: unknown[]) => unknown };
    }
    throw new Error(`reflection service ${path} is missing`);
  };
  for (const path of REFLECTION_PATHS) {
    const method: AnyMethod = {
      path,
      requestStream: true,
      responseStream: true,
      requestSerialize: (value) => realOf(path).method.requestSerialize(value),
      requestDeserialize: (bytes) => realOf(path).method.requestDeserialize(bytes),
      responseSerialize: (value) => realOf(path).method.responseSerialize(value),
      responseDeserialize: (bytes) => realOf(path).method.responseDeserialize(bytes),
    };
    server.addService(
      { [REFLECTION_METHOD]: method },
      {
        [REFLECTION_METHOD]: ((...args: unknown[]) => realOf(path).handler(...args)) as grpc.UntypedHandleCall,
      },
    );
  }
}
