import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { CniHandlers } from '../generated/podwire/v1/Cni';
import type { CniInvocation__Output } from '../generated/podwire/v1/CniInvocation';
import type { DelResponse } from '../generated/podwire/v1/DelResponse';
import { CniCode } from '../cni/cni-error';
import type { CniVerb } from '../cni/cni-invocation';
import type { HandlerDeps, VerbHandler } from '../handlers/handler-deps';
import { handleAdd } from '../handlers/add';
import { handleCheck } from '../handlers/check';
import { handleDel } from '../handlers/del';
import { handleGc } from '../handlers/gc';
import { handleGet } from '../handlers/get';
import { handleStatus } from '../handlers/status';
import { Readiness } from '../readiness';
import { type CniCallEvent, CniEventBus, type CniOutcome } from '../events/cni-events';
import { newRequestId } from '../logging/request-id';
import { callLines } from '../logging/server-logger';
import { type CniReply, dispatch, readCall, toReply } from '../skel/skel';

/** Every podwire.v1.Cni request (AddRequest, DelRequest, ...): the invocation, whatever the RPC. */
export interface CniCallRequest {
  invocation: CniInvocation__Output | null;
}

/** A request without an invocation is served as one whose every field is empty (CNI error 4 where a verb needs one). */
const NO_INVOCATION: CniInvocation__Output = { containerId: '', netns: '', ifname: '', args: '', path: '', config: Buffer.alloc(0) };

/** DEL, CHECK, STATUS and GC print nothing on success: their responses carry only the error and the cniVersion. */
function withoutResult(handler: grpc.handleUnaryCall<CniCallRequest, CniReply>): grpc.handleUnaryCall<CniCallRequest, DelResponse> {
  return (call, callback) =>
    handler(call, (err, reply, trailer, flags) => callback(err, reply && { error: reply.error, cniVersion: reply.cniVersion }, trailer, flags));
}

/**
 * The podwire.v1.Cni service. Each call gets a request id, one pino line when it completes
 * (reqId, verb, container, ifname, duration, outcome; a success's line through callLines(),
 * which may buffer it for a moment), and one CniCallEvent on `events` carrying the same id.
 */
export function createCniService(
  deps: HandlerDeps,
  log: Logger,
  readiness: Readiness = Readiness.alreadyReady(),
  events: CniEventBus = new CniEventBus(),
): CniHandlers {
  // The line each call ends with may wait in the log buffer (below warn); warnings go at once.
  const callLog = callLines(log);
  const publish = (event: CniCallEvent): void => {
    for (const err of events.publish(event)) log.warn({ reqId: event.requestId, err }, 'a CNI event listener failed');
  };
  const unary =
    (verb: CniVerb, handler: VerbHandler): grpc.handleUnaryCall<CniCallRequest, CniReply> =>
    (call, callback) => {
      const reqId = newRequestId();
      const started = process.hrtime.bigint();
      const req = call.request.invocation ?? NO_INVOCATION;
      const read = readCall(verb, req);
      const { facts } = read;
      const completed = (outcome: CniOutcome, errorCode = 0, errorMsg = ''): void =>
        publish({
          requestId: reqId,
          time: new Date(),
          verb,
          containerId: req.containerId,
          ifname: req.ifname,
          network: facts.network,
          podNamespace: facts.podNamespace,
          podName: facts.podName,
          durationMs: Number(process.hrtime.bigint() - started) / 1e6,
          outcome,
          errorCode,
          errorMsg,
        });
      // The shim's deadline passed or it went away: nobody will read the answer.
      let abandoned = false;
      call.on('cancelled', () => {
        abandoned = true;
      });
      dispatch(read, { deps, readiness, handler, ctx: { abandoned: () => abandoned } }).then(
        (outcome) => {
          const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
          const fields = { reqId, verb, containerId: req.containerId, ifname: req.ifname, netns: req.netns, network: facts.network, durationMs };
          if (outcome.kind === 'abandoned') {
            const { rollbackError } = outcome.abandoned;
            log.warn(
              { ...fields, outcome: 'abandoned', rolledBack: rollbackError === undefined, rollbackError },
              'CNI ADD finished after its caller gave up; rolled back',
            );
            completed('abandoned', rollbackError === undefined ? 0 : CniCode.Internal, outcome.abandoned.message);
            callback({ code: grpc.status.CANCELLED, details: outcome.abandoned.message });
            return;
          }
          if (outcome.kind === 'error') {
            const e = outcome.error;
            log.warn({ ...fields, outcome: 'error', code: e.code, err: e.message, details: e.details }, `CNI ${verb} failed`);
            completed('error', e.code, e.message);
          } else {
            callLog.info({ ...fields, outcome: 'ok' }, `CNI ${verb}`);
            completed('ok');
          }
          callback(null, toReply(outcome));
        },
        (err: unknown) => {
          log.error({ reqId, verb, err }, 'CNI call crashed');
          const msg = err instanceof Error ? err.message : String(err);
          completed('error', CniCode.Internal, msg);
          callback({ code: grpc.status.INTERNAL, details: msg });
        },
      );
    };
  return {
    Add: unary('ADD', handleAdd),
    Del: withoutResult(unary('DEL', handleDel)),
    Check: withoutResult(unary('CHECK', handleCheck)),
    Status: withoutResult(unary('STATUS', handleStatus)),
    Gc: withoutResult(unary('GC', handleGc)),
    Get: unary('GET', handleGet),
  };
}
