import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { Attachment } from '@podwire/ipam-store';
import { selectAttachment } from './attachment-selector';

const att = (network: string, containerId: string, ifname: string, pod?: [string, string]): Attachment => ({
  network,
  containerId,
  ifname,
  netns: '/var/run/netns/x',
  hostIfname: 'pw000000000000',
  state: 'ready',
  createdAt: 0,
  ...(pod ? { podNamespace: pod[0], podName: pod[1] } : {}),
});

const all = [att('a', 'c1', 'eth0', ['ns', 'p1']), att('b', 'c1', 'eth0', ['ns', 'p1']), att('a', 'c2', 'eth0', ['ns', 'p2']), att('a', 'c3', 'eth0')];

function code(sel: ReturnType<typeof selectAttachment>): grpc.status | 'ok' {
  return 'attachment' in sel ? 'ok' : sel.code;
}

test('no selector, or half a pod selector, is INVALID_ARGUMENT', () => {
  assert.equal(code(selectAttachment(all, {})), grpc.status.INVALID_ARGUMENT);
  assert.equal(code(selectAttachment(all, { network: 'a', ifname: 'eth0' })), grpc.status.INVALID_ARGUMENT);
  assert.equal(code(selectAttachment(all, { podName: 'p1' })), grpc.status.INVALID_ARGUMENT);
  assert.equal(code(selectAttachment(all, { podNamespace: 'ns' })), grpc.status.INVALID_ARGUMENT);
});

test('unique matches by container id or by pod', () => {
  const byCtr = selectAttachment(all, { containerId: 'c2' });
  assert.ok('attachment' in byCtr && byCtr.attachment.containerId === 'c2');
  const byPod = selectAttachment(all, { podNamespace: 'ns', podName: 'p2' });
  assert.ok('attachment' in byPod && byPod.attachment.containerId === 'c2');
});

test('several matches: FAILED_PRECONDITION naming the candidates; network narrows', () => {
  const amb = selectAttachment(all, { containerId: 'c1' });
  assert.ok(!('attachment' in amb));
  assert.equal(amb.code, grpc.status.FAILED_PRECONDITION);
  assert.match(amb.message, /a\/c1\/eth0/);
  assert.match(amb.message, /b\/c1\/eth0/);
  const narrowed = selectAttachment(all, { podNamespace: 'ns', podName: 'p1', network: 'b' });
  assert.ok('attachment' in narrowed && narrowed.attachment.network === 'b');
});

test('nothing matches: NOT_FOUND saying what was asked', () => {
  const none = selectAttachment(all, { containerId: 'c1', ifname: 'eth9' });
  assert.ok(!('attachment' in none));
  assert.equal(none.code, grpc.status.NOT_FOUND);
  assert.match(none.message, /container c1, interface eth9/);
  assert.equal(code(selectAttachment(all, { containerId: 'c3', podNamespace: 'ns', podName: 'p1' })), grpc.status.NOT_FOUND);
});
