import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SOCKET, DEFAULT_STATE_DIR, parseCliArgs } from './cli-args';

test('no flags: nothing overridden', () => {
  assert.deepEqual(parseCliArgs([]), {});
  assert.equal(DEFAULT_SOCKET, '/run/podwire/podwire.sock');
  assert.equal(DEFAULT_STATE_DIR, '/var/lib/podwire');
});

test('flags', () => {
  assert.deepEqual(parseCliArgs(['--config', '/etc/podwire/podwired.json', '--socket', '/tmp/x/s.sock', '--state-dir', '/tmp/y', '--log-level', 'debug']), {
    configFile: '/etc/podwire/podwired.json',
    socket: '/tmp/x/s.sock',
    stateDir: '/tmp/y',
    logLevel: 'debug',
  });
});

test('unknown flag, bad level and empty values are errors', () => {
  assert.throws(() => parseCliArgs(['--nope']));
  assert.throws(() => parseCliArgs(['--log-level', 'loud']), /log-level/);
  assert.throws(() => parseCliArgs(['--socket', '']), /must not be empty/);
  assert.throws(() => parseCliArgs(['--config', '']), /must not be empty/);
});
