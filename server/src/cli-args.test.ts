import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SOCKET, DEFAULT_STATE_DIR, parseCliArgs } from './cli-args';

test('defaults', () => {
  assert.deepEqual(parseCliArgs([]), { socket: DEFAULT_SOCKET, stateDir: DEFAULT_STATE_DIR, logLevel: 'info' });
  assert.equal(DEFAULT_SOCKET, '/run/podwire/podwire.sock');
  assert.equal(DEFAULT_STATE_DIR, '/var/lib/podwire');
});

test('flags', () => {
  assert.deepEqual(parseCliArgs(['--socket', '/tmp/x/s.sock', '--state-dir', '/tmp/y', '--log-level', 'debug']), {
    socket: '/tmp/x/s.sock',
    stateDir: '/tmp/y',
    logLevel: 'debug',
  });
});

test('unknown flag and bad level are errors', () => {
  assert.throws(() => parseCliArgs(['--nope']));
  assert.throws(() => parseCliArgs(['--log-level', 'loud']), /log-level/);
  assert.throws(() => parseCliArgs(['--socket', '']), /must not be empty/);
});
