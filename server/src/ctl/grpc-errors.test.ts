import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import type { Connection } from './connection';
import { EXIT } from './exit-codes';
import { ctlErrorFromGrpc, lastConnectionError } from './grpc-errors';

const unix: Connection = { kind: 'unix', socket: '/run/podwire/podwire.sock' };
const remote: Connection = { kind: 'remote', address: '10.0.0.5:50051', certFile: 'c', keyFile: 'k', caFile: 'a' };

test('lastConnectionError keeps only the cause grpc-js buried in its details', () => {
  assert.equal(lastConnectionError('No connection established. Last error: Error: connect ENOENT /x/y.sock. Resolution note: '), 'connect ENOENT /x/y.sock');
  assert.equal(
    lastConnectionError(
      "No connection established. Last error: Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames. Resolution note: ",
    ),
    "Hostname/IP does not match certificate's altnames",
  );
  assert.equal(lastConnectionError('Connection dropped'), 'Connection dropped');
});

test('a server that is down is UNREACHABLE and the message names the socket', () => {
  const e = ctlErrorFromGrpc(
    { code: status.UNAVAILABLE, details: 'No connection established. Last error: Error: connect ECONNREFUSED /run/podwire/podwire.sock. Resolution note: ' },
    'ServerInfo',
    unix,
    10_000,
  );
  assert.equal(e.exitCode, EXIT.UNREACHABLE);
  assert.equal(e.message, 'cannot reach podwired at unix:/run/podwire/podwire.sock: connect ECONNREFUSED /run/podwire/podwire.sock (is podwired running?)');
  const perm = ctlErrorFromGrpc({ code: status.UNAVAILABLE, details: 'Last error: Error: connect EACCES /s' }, 'ServerInfo', unix, 10_000);
  assert.match(perm.message, /must run as root/);
});

test('remote: TLS words or a handshake diagnosis make it a TLS failure', () => {
  const untrusted = ctlErrorFromGrpc(
    { code: status.UNAVAILABLE, details: 'No connection established. Last error: Error: self-signed certificate in certificate chain. Resolution note: ' },
    'ServerInfo',
    remote,
    10_000,
  );
  assert.equal(untrusted.exitCode, EXIT.TLS);
  assert.equal(untrusted.message, 'TLS with podwired at 10.0.0.5:50051 (mutual TLS) failed: self-signed certificate in certificate chain');
  const refused = ctlErrorFromGrpc(
    { code: status.UNAVAILABLE, details: 'Failed to connect' },
    'ServerInfo',
    remote,
    10_000,
    'the server closed the connection',
  );
  assert.equal(refused.exitCode, EXIT.TLS);
  assert.match(refused.message, /the server closed the connection/);
  const down = ctlErrorFromGrpc({ code: status.UNAVAILABLE, details: 'Last error: Error: connect ECONNREFUSED 10.0.0.5:50051' }, 'ServerInfo', remote, 10_000);
  assert.equal(down.exitCode, EXIT.UNREACHABLE);
});

test('not found and ambiguous are NOT_FOUND; deadline is UNREACHABLE; the rest FAILED', () => {
  assert.equal(ctlErrorFromGrpc({ code: status.NOT_FOUND, details: 'no attachment for container abc' }, 'GetAttachment', unix, 1000).exitCode, EXIT.NOT_FOUND);
  assert.equal(ctlErrorFromGrpc({ code: status.FAILED_PRECONDITION, details: '2 attachments match' }, 'GetAttachment', unix, 1000).exitCode, EXIT.NOT_FOUND);
  const slow = ctlErrorFromGrpc({ code: status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' }, 'ListLeases', unix, 2500);
  assert.equal(slow.exitCode, EXIT.UNREACHABLE);
  assert.equal(slow.message, 'podwired at unix:/run/podwire/podwire.sock did not answer ListLeases within 2.5 s');
  const old = ctlErrorFromGrpc({ code: status.UNIMPLEMENTED, details: '' }, 'ListPeers', unix, 1000);
  assert.equal(old.exitCode, EXIT.FAILED);
  assert.match(old.message, /does not serve ListPeers/);
  const internal = ctlErrorFromGrpc({ code: status.INTERNAL, details: 'boom' }, 'ServerInfo', unix, 1000);
  assert.equal(internal.message, 'ServerInfo on podwired at unix:/run/podwire/podwire.sock failed: INTERNAL: boom');
});
