/**
 * podwire's skel (what pkg/skel is to the reference plugins): one CNI call read once,
 * dispatched to its verb's handler, and its reply shaped, in one place. The network
 * configuration is parsed once (the reply's cniVersion, the event's network name and the
 * NetConf all come from that one parse) and CNI_ARGS once: strictly for ADD (an unknown key is
 * an error, as libcni's LoadArgs), leniently for every other verb (DEL and GC must not fail on
 * them). Anything thrown that is not a CniError becomes 999 (internal) carrying the reason.
 */
import type { AddResponse } from '../generated/podwire/v1/AddResponse';
import { type CniArgs, parseCniArgsAs } from '../cni/cni-args';
import type { CallFacts, ReadCall } from '../cni/cni-call';
import { CniCode, CniError } from '../cni/cni-error';
import { type CniVerb, type RawInvocation, validateInvocation } from '../cni/cni-invocation';
import { LATEST_CNI_VERSION } from '../cni/cni-versions';
import { netConfFromDocument, parseConfigDocument } from '../cni/net-conf';
import { AbandonedAdd } from '../handlers/abandoned-add';
import type { CallContext, HandlerDeps, VerbHandler } from '../handlers/handler-deps';
import type { Readiness } from '../readiness';

/**
 * What a CNI call answers: what the shim prints (a result, '' for nothing) or a CNI error.
 * Add and Get send it as it is; the RPCs that print nothing send only its error and version.
 */
export type CniReply = AddResponse;

/** How one call ended: what the shim prints, a CNI error, or an ADD rolled back because its caller gave up. */
export type CallOutcome =
  | { kind: 'ok'; output: string; cniVersion: string }
  | { kind: 'error'; error: CniError; cniVersion: string }
  | { kind: 'abandoned'; abandoned: AbandonedAdd; cniVersion: string };

/** Any failure as a CNI error: a CniError as it is, anything else 999 (internal) with its stack. */
export function asCniError(err: unknown): CniError {
  return err instanceof CniError
    ? err
    : new CniError(CniCode.Internal, 'internal podwired error', err instanceof Error ? (err.stack ?? err.message) : String(err));
}

function field(doc: unknown, key: string): string {
  const v = typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>)[key] : undefined;
  return typeof v === 'string' ? v : '';
}

/** Reads and validates one call; never throws (an invalid call comes back with its CNI error). */
export function readCall(verb: CniVerb, raw: RawInvocation & { config: Buffer }): ReadCall {
  let doc: unknown;
  let docError: CniError | undefined;
  try {
    doc = parseConfigDocument(raw.config);
  } catch (err) {
    docError = asCniError(err);
  }
  let args: CniArgs;
  let argsError: CniError | undefined;
  try {
    args = parseCniArgsAs(raw.args, verb === 'ADD' ? 'strict' : 'lenient');
  } catch (err) {
    // Only then read a second time, for the facts.
    argsError = asCniError(err);
    args = parseCniArgsAs(raw.args, 'lenient');
  }
  const facts: CallFacts = {
    network: field(doc, 'name'),
    podNamespace: args.podNamespace ?? '',
    podName: args.podName ?? '',
    replyVersion: field(doc, 'cniVersion') || LATEST_CNI_VERSION,
  };
  try {
    const inv = validateInvocation(verb, raw);
    if (docError) throw docError;
    const conf = netConfFromDocument(doc);
    if (argsError) throw argsError;
    return { facts, call: { verb, inv, conf, args } };
  } catch (err) {
    return { facts, error: asCniError(err) };
  }
}

/** What dispatch() needs besides the call. */
export interface DispatchOptions {
  deps: HandlerDeps;
  /** STATUS answers 50 until reached; every other verb waits for it. */
  readiness: Readiness;
  handler: VerbHandler;
  ctx: CallContext;
}

/**
 * Runs a read call: its CNI error if it did not validate; STATUS answers 50 while podwired
 * reconciles and every other verb waits for it; then the verb's handler.
 */
export async function dispatch(read: ReadCall, { deps, readiness, handler, ctx }: DispatchOptions): Promise<CallOutcome> {
  if (read.error) return { kind: 'error', error: read.error, cniVersion: read.facts.replyVersion };
  const { call } = read;
  try {
    if (!readiness.done) {
      if (call.verb === 'STATUS')
        throw new CniError(CniCode.NotReadyForAdd, 'podwired is reconciling its state after a start', 'ADD is served once it has finished');
      await readiness.reached;
    }
    const output = await handler(deps, call, ctx);
    return { kind: 'ok', output, cniVersion: call.conf.cniVersion };
  } catch (err) {
    if (err instanceof AbandonedAdd) return { kind: 'abandoned', abandoned: err, cniVersion: call.conf.cniVersion };
    return { kind: 'error', error: asCniError(err), cniVersion: call.conf.cniVersion };
  }
}

/** The reply the shim reads: the output on success, the CNI error otherwise (an abandoned ADD has no reply). */
export function toReply(outcome: Exclude<CallOutcome, { kind: 'abandoned' }>): CniReply {
  if (outcome.kind === 'ok') return { result: Buffer.from(outcome.output, 'utf8'), cniVersion: outcome.cniVersion };
  const e = outcome.error;
  return { error: { code: e.code, msg: e.message, details: e.details }, cniVersion: outcome.cniVersion };
}
