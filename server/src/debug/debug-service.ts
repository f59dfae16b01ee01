import * as grpc from '@grpc/grpc-js';
import type { DebugHandlers } from '../generated/podwire/v1/Debug';
import { attachmentProblems } from './attachment-problems';
import { selectAttachment } from './attachment-selector';
import { attachmentMessage, keyText, leaseMessage, leasesByAttachment, matchesFilter } from './attachment-view';
import type { DebugDeps } from './debug-deps';
import { EventStreams, streamEvents } from './event-stream';
import { serverInfo } from './server-info';
import type { WhyAnswer } from '../policy/why';
import { policyWhyMessage } from './policy-why-view';

/** A refusal the client sees as gRPC status `code` (NOT_FOUND, INVALID_ARGUMENT, ...). */
class DebugStatusError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

/** Runs a unary Debug call: its answer, its refusal, or INTERNAL with the reason (logged). */
function unary<Req, Res>(deps: DebugDeps, method: string, answer: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    answer(call.request).then(
      (res) => callback(null, res),
      (err: unknown) => {
        if (err instanceof DebugStatusError) {
          callback({ code: err.code, details: err.message });
          return;
        }
        deps.log.error({ method, err }, 'Debug call failed');
        callback({ code: grpc.status.INTERNAL, details: `${method} failed: ${err instanceof Error ? err.message : String(err)}` });
      },
    );
  };
}

/** The podwire.v1.Debug service: read-only introspection of this podwired. */
export function createDebugService(deps: DebugDeps): DebugHandlers {
  // The open WatchEvents streams: each leaves when it ends; all end when shutdown starts.
  const streams = new EventStreams(deps.stopping);
  return {
    ServerInfo: unary(deps, 'ServerInfo', () => serverInfo(deps)),

    ListAttachments: unary(deps, 'ListAttachments', async (req) => {
      const leases = leasesByAttachment(deps.store.listLeases(req.network || undefined));
      const attachments = deps.store
        .listAttachments(req.network ? { network: req.network } : {})
        .filter((a) => matchesFilter(a, req))
        .map((a) => attachmentMessage(a, leases.get(keyText(a)) ?? []));
      return { attachments };
    }),

    GetAttachment: unary(deps, 'GetAttachment', async (req) => {
      const chosen = selectAttachment(deps.store.listAttachments(req.network ? { network: req.network } : {}), req);
      if (!('attachment' in chosen)) throw new DebugStatusError(chosen.code, chosen.message);
      const att = chosen.attachment;
      const leases = deps.store.get(att)?.leases ?? [];
      const [host, pod, problems] = await Promise.all([
        deps.inspector.hostSide(att.hostIfname),
        deps.inspector.podSide(att.netns, att.ifname),
        attachmentProblems(deps.datapath, att, leases),
      ]);
      return {
        attachment: attachmentMessage(att, leases),
        resultJson: att.result ?? '',
        hostLink: host.link,
        podLink: pod.link,
        hostRoutes: host.routes,
        podRoutes: pod.routes,
        problems,
      };
    }),

    ListLeases: unary(deps, 'ListLeases', async (req) => ({
      leases: deps.store.listLeases(req.network || undefined).map(leaseMessage),
    })),

    ListPeers: unary(deps, 'ListPeers', () => deps.peers.listPeers()),

    PolicyWhy: unary(deps, 'PolicyWhy', async (req) => {
      if (!deps.policyWhy) throw new DebugStatusError(grpc.status.FAILED_PRECONDITION, 'no NetworkPolicy source is configured on this node (config "policy")');
      let answer: WhyAnswer;
      try {
        answer = deps.policyWhy([req.src, req.dst, req.port]);
      } catch (err) {
        if (err instanceof RangeError) throw new DebugStatusError(grpc.status.INVALID_ARGUMENT, err.message);
        throw err;
      }
      return policyWhyMessage(answer);
    }),

    WatchEvents: (call) => streamEvents(call, deps.events, deps.log, { streams }),
  };
}
