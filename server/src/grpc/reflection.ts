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
