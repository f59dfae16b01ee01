/** A scripted DebugApi for podwirectl's unit tests: canned replies, recorded requests. */
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
import type { DebugApi, EventWatch } from './debug-api';

type Reply<T> = T | Error;

function answer<T>(r: Reply<T> | undefined, what: string): Promise<T> {
  if (r === undefined) return Promise.reject(new Error(`fake: no ${what} scripted`));
  return r instanceof Error ? Promise.reject(r) : Promise.resolve(r);
}

export class FakeDebugApi implements DebugApi {
  serverInfoReply?: Reply<ServerInfoReply__Output>;
  attachmentsReply?: Reply<ListAttachmentsReply__Output>;
  attachmentReply?: Reply<GetAttachmentReply__Output>;
  leasesReply?: Reply<ListLeasesReply__Output>;
  peersReply?: Reply<ListPeersReply__Output>;
  healthReply?: Reply<string>;
  policyWhyReply?: Reply<PolicyWhyReply__Output>;
  /** Events delivered as soon as a watch starts; the stream then stays open until cancelled (or ends if `endAfterEvents`). */
  events: CniEvent__Output[] = [];
  endAfterEvents = false;
  watchFailure?: Error;
  readonly requests: Array<{ method: string; request: unknown }> = [];
  cancelled = 0;
  closed = false;

  serverInfo() {
    this.requests.push({ method: 'ServerInfo', request: {} });
    return answer(this.serverInfoReply, 'ServerInfo');
  }
  listAttachments(req: ListAttachmentsRequest) {
    this.requests.push({ method: 'ListAttachments', request: req });
    return answer(this.attachmentsReply, 'ListAttachments');
  }
  getAttachment(req: GetAttachmentRequest) {
    this.requests.push({ method: 'GetAttachment', request: req });
    return answer(this.attachmentReply, 'GetAttachment');
  }
  listLeases(network: string) {
    this.requests.push({ method: 'ListLeases', request: { network } });
    return answer(this.leasesReply, 'ListLeases');
  }
  listPeers() {
    this.requests.push({ method: 'ListPeers', request: {} });
    return answer(this.peersReply, 'ListPeers');
  }
  policyWhy(req: PolicyWhyRequest) {
    this.requests.push({ method: 'PolicyWhy', request: req });
    return answer(this.policyWhyReply, 'PolicyWhy');
  }
  health(service: string) {
    this.requests.push({ method: 'Health/Check', request: { service } });
    return answer(this.healthReply, 'Health/Check');
  }
  watchEvents(onEvent: (e: CniEvent__Output) => void, onSubscribed?: () => void): EventWatch {
    this.requests.push({ method: 'WatchEvents', request: {} });
    let finish!: (err?: Error) => void;
    const done = new Promise<void>((resolve, reject) => {
      finish = (err) => (err ? reject(err) : resolve());
    });
    queueMicrotask(() => {
      if (this.watchFailure) return finish(this.watchFailure);
      onSubscribed?.();
      for (const e of this.events) onEvent(e);
      if (this.endAfterEvents) finish();
    });
    return {
      done,
      cancel: () => {
        this.cancelled++;
        finish();
      },
    };
  }
  close() {
    this.closed = true;
  }
}

/** A stdout/stderr stand-in that keeps what was written. */
export class CapturedWriter {
  text = '';
  write(s: string): void {
    this.text += s;
  }
}
