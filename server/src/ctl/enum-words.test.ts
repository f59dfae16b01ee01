import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attachmentStateWord, outcomeWord, peerSourceWord, verbWord } from './enum-words';

test('enums print as the words podwired uses', () => {
  assert.deepEqual(
    ['ATTACHMENT_STATE_PENDING', 'ATTACHMENT_STATE_READY'].map((v) => attachmentStateWord(v as 'ATTACHMENT_STATE_READY')),
    ['pending', 'ready'],
  );
  assert.deepEqual((['CNI_VERB_ADD', 'CNI_VERB_DEL', 'CNI_VERB_CHECK', 'CNI_VERB_STATUS', 'CNI_VERB_GC', 'CNI_VERB_GET'] as const).map(verbWord), [
    'ADD',
    'DEL',
    'CHECK',
    'STATUS',
    'GC',
    'GET',
  ]);
  assert.deepEqual((['CNI_EVENT_OUTCOME_OK', 'CNI_EVENT_OUTCOME_ERROR', 'CNI_EVENT_OUTCOME_ABANDONED'] as const).map(outcomeWord), [
    'ok',
    'error',
    'abandoned',
  ]);
  assert.deepEqual((['PEER_SOURCE_KIND_NONE', 'PEER_SOURCE_KIND_STATIC', 'PEER_SOURCE_KIND_KUBERNETES'] as const).map(peerSourceWord), [
    'none',
    'static',
    'kubernetes',
  ]);
});

test('UNSPECIFIED is empty; a value newer than podwirectl prints as it arrived', () => {
  assert.equal(attachmentStateWord('ATTACHMENT_STATE_UNSPECIFIED'), '');
  assert.equal(verbWord('CNI_VERB_UNSPECIFIED'), '');
  assert.equal(verbWord(42), '42');
  assert.equal(outcomeWord('CNI_EVENT_OUTCOME_RETRIED' as never), 'CNI_EVENT_OUTCOME_RETRIED');
  assert.equal(peerSourceWord('toString' as never), 'toString');
});
