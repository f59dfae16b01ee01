import type { CniEvent__Output } from '../generated/podwire/v1/CniEvent';
import type { GetAttachmentReply__Output } from '../generated/podwire/v1/GetAttachmentReply';
import type { GetAttachmentRequest } from '../generated/podwire/v1/GetAttachmentRequest';
import type { ListAttachmentsReply__Output } from '../generated/podwire/v1/ListAttachmentsReply';
import type { ListAttachmentsRequest } from '../generated/podwire/v1/ListAttachmentsRequest';
import type { ListLeasesReply__Output } from '../generated/podwire/v1/ListLeasesReply';
import type { ListPeersReply__Output } from '../generated/podwire/v1/ListPeersReply';
import type { PolicyWhyReply__Output } from '../generated/podwire/v1/PolicyWhyReply';
import type { PolicyWhyRequest } from '../generated/podwire/v1/PolicyWhyRequest';
import type { ServerInfoReply__Output } from '../generated/podwire/v1/ServerInfoReply';

/** grpc.health.v1 ServingStatus as text ("SERVING", "NOT_SERVING", "UNKNOWN", "SERVICE_UNKNOWN"). */
export type HealthStatus = string;

/** A running WatchEvents stream. */
export interface EventWatch {
  /** Resolves when the stream ends or is cancelled; rejects with a CtlError when it fails. */
  readonly done: Promise<void>;
  cancel(): void;
}

/**
 * What podwirectl needs from podwired. The real one speaks gRPC (grpc-debug-client.ts);
 * tests hand in a fake. Every failure is a CtlError carrying its exit code.
 */
export interface DebugApi {
  serverInfo(): Promise<ServerInfoReply__Output>;
  listAttachments(req: ListAttachmentsRequest): Promise<ListAttachmentsReply__Output>;
  getAttachment(req: GetAttachmentRequest): Promise<GetAttachmentReply__Output>;
  listLeases(network: string): Promise<ListLeasesReply__Output>;
  listPeers(): Promise<ListPeersReply__Output>;
  policyWhy(req: PolicyWhyRequest): Promise<PolicyWhyReply__Output>;
  /** `onSubscribed` runs once the server has subscribed the stream (its headers arrived): no later call is missed. */
  watchEvents(onEvent: (event: CniEvent__Output) => void, onSubscribed?: () => void): EventWatch;
  health(service: string): Promise<HealthStatus>;
  close(): void;
}
