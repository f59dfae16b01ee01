import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CniCode, CniError } from '../cni/cni-error';
import { RtnlError, hasErrno, isGone } from '../rtnl/rtnl-error';
import { fromWire, toWire } from './datapath-thread-protocol';

/** Through structured clone, as postMessage carries it. */
const across = (err: unknown): Error => fromWire(structuredClone(toWire(err)));

test('a CniError crosses the thread as itself: code, message, details', () => {
  const back = across(new CniError(CniCode.InterfaceExists, 'interface eth0 already exists in /run/netns/x', 'DEL the attachment first'));
  assert.ok(back instanceof CniError);
  assert.equal(back.code, 102);
  assert.equal(back.message, 'interface eth0 already exists in /run/netns/x');
  assert.equal(back.details, 'DEL the attachment first');
});

test('an RtnlError keeps its errno, so hasErrno and isGone still answer', () => {
  const back = across(new RtnlError('RTM_DELLINK 7', 19, 'ENODEV', 'while detaching'));
  assert.ok(back instanceof RtnlError);
  assert.equal(back.errno, 19);
  assert.equal(back.operation, 'RTM_DELLINK 7');
  assert.equal(back.message, 'RTM_DELLINK 7: ENODEV (while detaching)');
  assert.ok(isGone(back));
  assert.ok(hasErrno(across(new RtnlError('RTM_NEWLINK pw1', 17)), 'EEXIST'));
});

test('anything else arrives as an Error with its message', () => {
  const back = across(new TypeError('boom'));
  assert.ok(back instanceof Error && !(back instanceof CniError) && !(back instanceof RtnlError));
  assert.equal(back.message, 'boom');
  assert.equal(across('a string').message, 'a string');
});
