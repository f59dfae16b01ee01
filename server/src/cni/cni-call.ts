/**
 * One CNI call as podwire reads it (skel/skel.ts reads it, the verb handlers work from it):
 * the validated invocation, the network configuration parsed once, and CNI_ARGS parsed once.
 */
import type { CniArgs } from './cni-args';
import type { CniError } from './cni-error';
import type { CniInvocation, CniVerb } from './cni-invocation';
import type { NetConf } from './net-conf';

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
