import type * as grpc from '@grpc/grpc-js';
import { loadDebugProto } from './load-proto';

/**
 * podwire.v1.Debug's methods: name -> whether the reply is a stream (requests never are).
 * lazy-debug-definition.test.ts holds this against debug.proto.
 */
export const DEBUG_METHODS: Readonly<Record<string, boolean>> = {
  ServerInfo: false,
  ListAttachments: false,
  GetAttachment: false,
  ListLeases: false,
  ListPeers: false,
  WatchEvents: true,
  PolicyWhy: false,
};

type AnyMethod = grpc.MethodDefinition<unknown, unknown>;

/**
 * podwire.v1.Debug's service definition for a server, without parsing debug.proto: that
 * parse (protobufjs, its descriptors and generated coders: the largest proto, ~0.1 s of CPU)
 * happened on the event loop before every start served its first ADD. The paths and stream
 * kinds are known here; the coders are the real ones, loaded (once per process) by the first
 * Debug call that needs one.
 */
export function lazyDebugDefinition(load: () => grpc.ServiceDefinition = loadDebugDefinitionOnce): grpc.ServiceDefinition {
  const real = (name: string): AnyMethod => {
    const method = load()[name] as AnyMethod | undefined;
    if (!method) throw new Error(`podwire.v1.Debug has no method ${name}`);
    return method;
  };
  const definition: Record<string, AnyMethod> = {};
  for (const [name, replyStream] of Object.entries(DEBUG_METHODS)) {
    definition[name] = {
      path: `/podwire.v1.Debug/${name}`,
      requestStream: false,
      responseStream: replyStream,
      requestSerialize: (value) => real(name).requestSerialize(value),
      requestDeserialize: (bytes) => real(name).requestDeserialize(bytes),
      responseSerialize: (value) => real(name).responseSerialize(value),
      responseDeserialize: (bytes) => real(name).responseDeserialize(bytes),
    };
  }
  return definition;
}

let loaded: grpc.ServiceDefinition | undefined;

function loadDebugDefinitionOnce(): grpc.ServiceDefinition {
  loaded ??= loadDebugProto().podwire.v1.Debug.service;
  return loaded;
}
