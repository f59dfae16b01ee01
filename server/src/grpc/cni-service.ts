import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { AddResponse } from '../generated/podwire/v1/AddResponse';
import type { CniHandlers } from '../generated/podwire/v1/Cni';
import type { CniInvocation__Output } from '../generated/podwire/v1/CniInvocation';
import type { DelResponse } from '../generated/podwire/v1/DelResponse';
import { CniCode, CniError } from '../cni/cni-error';
import { CniVerb, validateInvocation } from '../cni/cni-invocation';
import { LATEST_CNI_VERSION } from '../cni/cni-versions';
import { parseNetConf } from '../cni/net-conf';
import { HandlerDeps, VerbHandler } from '../handlers/handler-deps';
import { handleAdd } from '../handlers/add';
import { handleCheck } from '../handlers/check';
import { handleDel } from '../handlers/del';
import { handleGc } from '../handlers/gc';
import { handleGet } from '../handlers/get';
import { handleStatus } from '../handlers/status';
import { Readiness } from '../readiness';
import { CniCallEvent, CniEventBus, CniOutcome } from '../events/cni-events';
import { newRequestId, runInRequest } from '../logging/request-context';
import { cniCallFacts } from './cni-call-facts';

/**
 * What a CNI call answers: what the shim prints (a result, '' for nothing) or a CNI error.
 * Add and Get send it as it is; the RPCs that print nothing send it through withoutResult.
 */
export type CniReply = AddResponse;

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

/** The cniVersion to put in an error reply: the config's, when it has a readable one. */
function replyVersion(config: Buffer): string {
  try {
    const doc = JSON.parse(config.toString('utf8')) as unknown;
    const v = typeof doc === 'object' && doc !== null ? (doc as { cniVersion?: unknown }).cniVersion : undefined;
    return typeof v === 'string' && v !== '' ? v : LATEST_CNI_VERSION;
  } catch {
    return LATEST_CNI_VERSION;
  }
}

/** Runs one CNI call: validation, the verb handler, and the CNI error mapping. */
export async function runCniCall(
  deps: HandlerDeps,
  readiness: Readiness,
  verb: CniVerb,
  handler: VerbHandler,
  req: CniInvocation__Output,
): Promise<CniReply> {
  const cniVersion = replyVersion(req.config);
  try {
    const inv = validateInvocation(verb, req);
    const conf = parseNetConf(req.config);
    if (!readiness.done) {
      if (verb === 'STATUS') {
        throw new CniError(CniCode.NotReadyForAdd, 'podwired is reconciling its state after a start', 'ADD is served once it has finished');
      }
      await readiness.reached;
    }
    const output = await handler(deps, inv, conf);
    return { result: Buffer.from(output, 'utf8'), cniVersion: conf.cniVersion };
  } catch (err) {
    const e =
      err instanceof CniError
        ? err
        : new CniError(CniCode.Internal, 'internal podwired error', err instanceof Error ? (err.stack ?? err.message) : String(err));
    return { error: { code: e.code, msg: e.message, details: e.details }, cniVersion };
  }
}

/**
 * The podwire.v1.Cni service. Each call gets a request id that every log line it causes
 * carries (`reqId`, through the async context), one pino line when it completes (verb,
 * container, ifname, duration, outcome), and one CniCallEvent on `events`.
 */
export function createCniService(
  deps: HandlerDeps,
  log: Logger,
  readiness: Readiness = Readiness.alreadyReady(),
  events: CniEventBus = new CniEventBus(),
): CniHandlers {
  const publish = (event: CniCallEvent): void => {
    for (const err of events.publish(event)) log.warn({ err }, 'a CNI event listener failed');
  };
  const unary =
    (verb: CniVerb, handler: VerbHandler): grpc.handleUnaryCall<CniCallRequest, CniReply> =>
    (call, callback) => {
      const reqId = newRequestId();
      runInRequest({ reqId }, () => {
        const started = process.hrtime.bigint();
        const req = call.request.invocation ?? NO_INVOCATION;
        const facts = cniCallFacts(req);
        const completed = (outcome: CniOutcome, errorCode = 0, errorMsg = ''): void =>
          publish({
            requestId: reqId,
            time: new Date(),
            verb,
            containerId: req.containerId,
            ifname: req.ifname,
            ...facts,
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
        runCniCall(deps, readiness, verb, handler, req).then(
          async (reply) => {
            const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
            const fields = { reqId, verb, containerId: req.containerId, ifname: req.ifname, netns: req.netns, network: facts.network, durationMs };
            if (abandoned && verb === 'ADD' && !reply.error) {
              // The runtime saw this ADD fail; an attachment it does not know of must not stay.
              const undo = await runCniCall(deps, readiness, 'DEL', handleDel, req);
              log.warn({ ...fields, outcome: 'abandoned', rolledBack: !undo.error, rollbackError: undo.error?.msg }, 'CNI ADD finished after its caller gave up; rolled back');
              completed('abandoned', undo.error?.code ?? 0, undo.error ? `rollback failed: ${undo.error.msg}` : 'the caller gave up; the ADD was rolled back');
              callback({ code: grpc.status.CANCELLED, details: 'the caller gave up; the ADD was rolled back' });
              return;
            }
            if (reply.error) {
              log.warn({ ...fields, outcome: 'error', code: reply.error.code, err: reply.error.msg, details: reply.error.details }, `CNI ${verb} failed`);
              completed('error', reply.error.code, reply.error.msg);
            } else {
              log.info({ ...fields, outcome: 'ok' }, `CNI ${verb}`);
              completed('ok');
            }
            callback(null, reply);
          },
          (err: unknown) => {
            log.error({ reqId, verb, err }, 'CNI call crashed');
            const msg = err instanceof Error ? err.message : String(err);
            completed('error', CniCode.Internal, msg);
            callback({ code: grpc.status.INTERNAL, details: msg });
          },
        );
      });
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
