import type * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
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
  return new ReflectionService(definitions, { services });
}

/** Collects what a ReflectionService adds to a server, without a server. */
function recordServices(reflection: ReflectionService): Array<{ definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation }> {
  const added: Array<{ definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation }> = [];
  reflection.addToServer({
    addService: (definition: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation) => void added.push({ definition, implementation }),
  } as unknown as grpc.Server);
  return added;
}

/**
 * Adds reflection to `server`, building it (decoding every file descriptor: tens of milliseconds, README "Measured")
 * on the first reflection call instead of at start-up, where it delayed serving. The
 * services are registered at once, from a ReflectionService of no package (their
 * definitions only), each method handing its call to the real one.
 */
export function addLazyReflection(server: grpc.Server, opts: { cni: boolean }): void {
  let real: ReturnType<typeof recordServices> | undefined;
  const realAt = (i: number): grpc.UntypedServiceImplementation => {
    real ??= recordServices(reflectionFor(opts));
    const impl = real[i]?.implementation;
    if (!impl) throw new Error(`reflection service ${i} is missing`);
    return impl;
  };
  recordServices(new ReflectionService({} as PackageDefinition, { services: [] })).forEach(({ definition, implementation }, i) => {
    const delegating: grpc.UntypedServiceImplementation = {};
    for (const method of Object.keys(implementation)) {
      delegating[method] = ((...args: unknown[]) => (realAt(i)[method] as (...a: unknown[]) => unknown)(...args)) as grpc.UntypedHandleCall;
    }
    server.addService(definition, delegating);
  });
}
