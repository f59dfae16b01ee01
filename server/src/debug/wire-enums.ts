/**
 * podwired's own words for closed sets of values ('ready', 'ADD', 'ok', 'kubernetes', ...)
 * as the Debug service sends them: the podwire.v1 enums of debug.proto. Each table names
 * every word of its set, so a word added on either side without the other does not compile.
 */
import type { AttachmentState } from '@podwire/ipam-store';
import type { CniVerb } from '../cni/cni-invocation';
import type { CniOutcome } from '../events/cni-events';
import type { AttachmentState__Output as AttachmentStateEnum } from '../generated/podwire/v1/AttachmentState';
import type { CniEventOutcome__Output as CniEventOutcomeEnum } from '../generated/podwire/v1/CniEventOutcome';
import type { CniVerb__Output as CniVerbEnum } from '../generated/podwire/v1/CniVerb';
import type { PeerSourceKind__Output as PeerSourceKindEnum } from '../generated/podwire/v1/PeerSourceKind';
import type { VerificationState__Output as VerificationStateEnum } from '../generated/podwire/v1/VerificationState';
import type { PeerSourceKind } from '../peers/peer-source';
import type { VerificationState } from '../startup/startup-report';

const ATTACHMENT_STATES: Record<AttachmentState, AttachmentStateEnum> = {
  pending: 'ATTACHMENT_STATE_PENDING',
  ready: 'ATTACHMENT_STATE_READY',
};

const CNI_VERBS: Record<CniVerb, CniVerbEnum> = {
  ADD: 'CNI_VERB_ADD',
  DEL: 'CNI_VERB_DEL',
  CHECK: 'CNI_VERB_CHECK',
  STATUS: 'CNI_VERB_STATUS',
  GC: 'CNI_VERB_GC',
  GET: 'CNI_VERB_GET',
};

const CNI_OUTCOMES: Record<CniOutcome, CniEventOutcomeEnum> = {
  ok: 'CNI_EVENT_OUTCOME_OK',
  error: 'CNI_EVENT_OUTCOME_ERROR',
  abandoned: 'CNI_EVENT_OUTCOME_ABANDONED',
};

const PEER_SOURCE_KINDS: Record<PeerSourceKind, PeerSourceKindEnum> = {
  none: 'PEER_SOURCE_KIND_NONE',
  static: 'PEER_SOURCE_KIND_STATIC',
  kubernetes: 'PEER_SOURCE_KIND_KUBERNETES',
};

const VERIFICATION_STATES: Record<VerificationState, VerificationStateEnum> = {
  pending: 'VERIFICATION_STATE_PENDING',
  running: 'VERIFICATION_STATE_RUNNING',
  done: 'VERIFICATION_STATE_DONE',
};

/** The tables are total over their TypeScript types; a value from outside them (a bug, or a store row written by a newer podwired) is UNSPECIFIED. */
function lookup<K extends string, V>(table: Record<K, V>, key: K, unspecified: V): V {
  return Object.hasOwn(table, key) ? table[key] : unspecified;
}

export function attachmentStateEnum(state: AttachmentState): AttachmentStateEnum {
  return lookup(ATTACHMENT_STATES, state, 'ATTACHMENT_STATE_UNSPECIFIED');
}

export function cniVerbEnum(verb: CniVerb): CniVerbEnum {
  return lookup(CNI_VERBS, verb, 'CNI_VERB_UNSPECIFIED');
}

export function cniEventOutcomeEnum(outcome: CniOutcome): CniEventOutcomeEnum {
  return lookup(CNI_OUTCOMES, outcome, 'CNI_EVENT_OUTCOME_UNSPECIFIED');
}

export function peerSourceKindEnum(kind: PeerSourceKind): PeerSourceKindEnum {
  return lookup(PEER_SOURCE_KINDS, kind, 'PEER_SOURCE_KIND_UNSPECIFIED');
}

export function verificationStateEnum(state: VerificationState): VerificationStateEnum {
  return lookup(VERIFICATION_STATES, state, 'VERIFICATION_STATE_UNSPECIFIED');
}
