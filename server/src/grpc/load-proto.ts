import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
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

export function loadCniProto(): ProtoGrpcType {
  const def = protoLoader.loadSync('podwire/v1/cni.proto', LOADER_OPTIONS);
  return grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType;
}

export function loadDebugProto(): DebugProtoGrpcType {
  const def = protoLoader.loadSync('podwire/v1/debug.proto', LOADER_OPTIONS);
  return grpc.loadPackageDefinition(def) as unknown as DebugProtoGrpcType;
}
