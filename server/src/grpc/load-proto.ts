import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import type { ProtoGrpcType } from '../generated/cni';
import type { ProtoGrpcType as DebugProtoGrpcType } from '../generated/debug';

/** proto/ at the repository root: the single source of truth for the wire API. */
export const PROTO_DIR = path.join(__dirname, '..', '..', '..', 'proto');

/**
 * Loader options matching the generated types (proto-loader-gen-types --longs=String
 * --enums=String --defaults --oneofs in server/build.sh).
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

export function loadCniPackageDefinition(): protoLoader.PackageDefinition {
  return protoLoader.loadSync('podwire/v1/cni.proto', LOADER_OPTIONS);
}

export function loadDebugPackageDefinition(): protoLoader.PackageDefinition {
  return protoLoader.loadSync('podwire/v1/debug.proto', LOADER_OPTIONS);
}

/** Both podwire.v1 files in one definition (one descriptor set: what reflection needs). */
export function loadPodwirePackageDefinition(): protoLoader.PackageDefinition {
  return protoLoader.loadSync(['podwire/v1/cni.proto', 'podwire/v1/debug.proto'], LOADER_OPTIONS);
}

/** grpc.health.v1 as grpc-health-check ships it (for reflection). */
export function loadHealthPackageDefinition(): protoLoader.PackageDefinition {
  // healthProtoPath is .../proto/health/v1/health.proto: include .../proto.
  const includeDir = path.resolve(path.dirname(healthProtoPath), '..', '..');
  return protoLoader.loadSync('health/v1/health.proto', { ...LOADER_OPTIONS, includeDirs: [includeDir] });
}

export function loadCniProto(): ProtoGrpcType {
  return grpc.loadPackageDefinition(loadCniPackageDefinition()) as unknown as ProtoGrpcType;
}

export function loadDebugProto(): DebugProtoGrpcType {
  return grpc.loadPackageDefinition(loadDebugPackageDefinition()) as unknown as DebugProtoGrpcType;
}
