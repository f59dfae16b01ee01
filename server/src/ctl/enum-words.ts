/**
 * The words podwirectl prints for the Debug API's enums, in text and in `-o json`: the
 * words podwired uses itself ('ready', 'ADD', 'ok', 'kubernetes', ...). UNSPECIFIED (the
 * field was absent) is ''; a value newer than this podwirectl (it arrives as its number, or
 * as a name not in these tables) is printed as it arrived.
 */
import type { AttachmentState__Output } from '../generated/podwire/v1/AttachmentState';
import type { CniEventOutcome__Output } from '../generated/podwire/v1/CniEventOutcome';
import type { CniVerb__Output } from '../generated/podwire/v1/CniVerb';
import type { PeerSourceKind__Output } from '../generated/podwire/v1/PeerSourceKind';

const ATTACHMENT_STATE_WORDS: Record<AttachmentState__Output, string> = {
  ATTACHMENT_STATE_UNSPECIFIED: '',
  ATTACHMENT_STATE_PENDING: 'pending',
  ATTACHMENT_STATE_READY: 'ready',
};

const VERB_WORDS: Record<CniVerb__Output, string> = {
  CNI_VERB_UNSPECIFIED: '',
  CNI_VERB_ADD: 'ADD',
  CNI_VERB_DEL: 'DEL',
  CNI_VERB_CHECK: 'CHECK',
  CNI_VERB_STATUS: 'STATUS',
  CNI_VERB_GC: 'GC',
  CNI_VERB_GET: 'GET',
};

const OUTCOME_WORDS: Record<CniEventOutcome__Output, string> = {
  CNI_EVENT_OUTCOME_UNSPECIFIED: '',
  CNI_EVENT_OUTCOME_OK: 'ok',
  CNI_EVENT_OUTCOME_ERROR: 'error',
  CNI_EVENT_OUTCOME_ABANDONED: 'abandoned',
};

const PEER_SOURCE_WORDS: Record<PeerSourceKind__Output, string> = {
  PEER_SOURCE_KIND_UNSPECIFIED: '',
  PEER_SOURCE_KIND_NONE: 'none',
  PEER_SOURCE_KIND_STATIC: 'static',
  PEER_SOURCE_KIND_KUBERNETES: 'kubernetes',
};

/** `value` is typed as the enum's names, but a value newer than this build arrives as its number. */
function word(table: Record<string, string>, value: string | number): string {
  return typeof value === 'string' && Object.hasOwn(table, value) ? table[value]! : String(value);
}

export const attachmentStateWord = (v: AttachmentState__Output | number): string => word(ATTACHMENT_STATE_WORDS, v);
export const verbWord = (v: CniVerb__Output | number): string => word(VERB_WORDS, v);
export const outcomeWord = (v: CniEventOutcome__Output | number): string => word(OUTCOME_WORDS, v);
export const peerSourceWord = (v: PeerSourceKind__Output | number): string => word(PEER_SOURCE_WORDS, v);
