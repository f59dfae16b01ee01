import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttachmentState } from '@podwire/ipam-store';
import { emptyStartupReport } from '../startup/empty-startup-report';
import { startupMessage } from './server-info';
import { attachmentStateEnum, cniEventOutcomeEnum, cniVerbEnum, peerSourceKindEnum, verificationStateEnum } from './wire-enums';

test("podwired's words map to the Debug API's enums", () => {
  assert.deepEqual((['pending', 'ready'] as const).map(attachmentStateEnum), ['ATTACHMENT_STATE_PENDING', 'ATTACHMENT_STATE_READY']);
  assert.deepEqual((['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'GET'] as const).map(cniVerbEnum), [
    'CNI_VERB_ADD',
    'CNI_VERB_DEL',
    'CNI_VERB_CHECK',
    'CNI_VERB_STATUS',
    'CNI_VERB_GC',
    'CNI_VERB_GET',
  ]);
  assert.deepEqual((['ok', 'error', 'abandoned'] as const).map(cniEventOutcomeEnum), [
    'CNI_EVENT_OUTCOME_OK',
    'CNI_EVENT_OUTCOME_ERROR',
    'CNI_EVENT_OUTCOME_ABANDONED',
  ]);
  assert.deepEqual((['none', 'static', 'kubernetes'] as const).map(peerSourceKindEnum), [
    'PEER_SOURCE_KIND_NONE',
    'PEER_SOURCE_KIND_STATIC',
    'PEER_SOURCE_KIND_KUBERNETES',
  ]);
  assert.deepEqual((['pending', 'running', 'done'] as const).map(verificationStateEnum), [
    'VERIFICATION_STATE_PENDING',
    'VERIFICATION_STATE_RUNNING',
    'VERIFICATION_STATE_DONE',
  ]);
});

test('a word outside the set (a bug, or a row written by a newer podwired) is UNSPECIFIED', () => {
  assert.equal(attachmentStateEnum('deleting' as AttachmentState), 'ATTACHMENT_STATE_UNSPECIFIED');
  assert.equal(cniVerbEnum('constructor' as 'ADD'), 'CNI_VERB_UNSPECIFIED');
});

test('the start-up report goes out field for field, the verification state as its enum', () => {
  const report = emptyStartupReport();
  assert.deepEqual(startupMessage(report), {
    reconcile: { rolledBack: 0, orphanLinks: 0, orphanRoutes: 0, hostOk: 0, hostDegraded: 0, failed: 0 },
    phases: { storeMs: 0, snapshotMs: 0, reconcileMs: 0, toServingMs: 0 },
    verification: { state: 'VERIFICATION_STATE_PENDING', total: 0, verified: 0, failed: 0, netnsGone: 0, problems: [], durationMs: 0 },
  });
  const done = startupMessage({
    reconcile: { rolledBack: 1, orphanLinks: 2, orphanRoutes: 3, hostOk: 4, hostDegraded: 5, failed: 6 },
    phases: { storeMs: 1.5, snapshotMs: 2.5, reconcileMs: 3.5, toServingMs: 400.25 },
    verification: {
      state: 'done',
      total: 3,
      verified: 1,
      failed: 1,
      netnsGone: 1,
      problems: [{ network: 'n', containerId: 'c', ifname: 'eth0', problem: 'netns /run/netns/x is gone' }],
      durationMs: 12.5,
    },
  });
  assert.equal(done.verification?.state, 'VERIFICATION_STATE_DONE');
  assert.deepEqual(done.verification?.problems, [{ network: 'n', containerId: 'c', ifname: 'eth0', problem: 'netns /run/netns/x is gone' }]);
  assert.deepEqual(done.reconcile, { rolledBack: 1, orphanLinks: 2, orphanRoutes: 3, hostOk: 4, hostDegraded: 5, failed: 6 });
  assert.equal(done.phases?.toServingMs, 400.25);
});
