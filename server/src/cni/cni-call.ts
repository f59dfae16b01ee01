/**
 * podwire's skel: one CNI call read once. The network configuration is parsed once (the
 * reply's cniVersion, the event's network name and the NetConf all come from that one
 * parse) and CNI_ARGS once: strictly for ADD (an unknown key is an error, as libcni's
 * LoadArgs), leniently for every other verb (DEL and GC must not fail on them).
 */
import { CniArgs, parseCniArgsAs } from './cni-args';
import { CniCode, CniError } from './cni-error';
import { CniInvocation, CniVerb, RawInvocation, validateInvocation } from './cni-invocation';
import { LATEST_CNI_VERSION } from './cni-versions';
import { NetConf, netConfFromDocument, parseConfigDocument } from './net-conf';

/** A call that passed validation: what every verb handler works from. */
export interface CniCall {
  verb: CniVerb;
  inv: CniInvocation;
  conf: NetConf;
  args: CniArgs;
}

/** What is known of any call, valid or not (logs, events, the reply's version). */
export interface CallFacts {
  /** The config's "name", '' when it cannot be read. */
  network: string;
  podNamespace: string;
  podName: string;
  /** The cniVersion to answer in: the config's when it has a readable one, else the newest. */
  replyVersion: string;
}

export type ReadCall = { facts: CallFacts; call: CniCall; error?: undefined } | { facts: CallFacts; error: CniError; call?: undefined };

function field(doc: unknown, key: string): string {
  const v = typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>)[key] : undefined;
  return typeof v === 'string' ? v : '';
}

function asCniError(err: unknown): CniError {
  return err instanceof CniError ? err : new CniError(CniCode.Internal, 'internal podwired error', err instanceof Error ? (err.stack ?? err.message) : String(err));
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
