/**
 * The real gRPC client against an in-process grpc-js server speaking podwire.v1.Debug and
 * grpc.health.v1: over a unix socket, and over TCP on loopback with mutual TLS (certificates
 * made with openssl for this test). podwired itself is exercised by test/src/e2e/podwirectl.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { DebugHandlers } from '../generated/podwire/v1/Debug';
import { loadDebugProto } from '../grpc/load-proto';
import type { Connection } from './connection';
import { CtlError } from './ctl-error';
import { EXIT } from './exit-codes';
import { GrpcDebugClient } from './grpc-debug-client';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podwirectl-client-'));
const socket = path.join(dir, 'debug.sock');
const servers: grpc.Server[] = [];
let tlsPort = 0;
const pem = (name: string) => path.join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

/** A CA, a server certificate for 127.0.0.1, a client certificate, and a second CA with its own client. */
function makeCertificates(): void {
  for (const ca of ['ca', 'other-ca']) {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', pem(`${ca}.key`), '-out', pem(`${ca}.pem`), '-days', '2', '-subj', `/CN=${ca}`);
  }
  fs.writeFileSync(pem('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:podwired.test\n');
  const issue = (name: string, ca: string, ext?: string) => {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', pem(`${name}.key`), '-out', pem(`${name}.csr`), '-subj', `/CN=${name}`);
    openssl(
      'x509',
      '-req',
      '-in',
      pem(`${name}.csr`),
      '-CA',
      pem(`${ca}.pem`),
      '-CAkey',
      pem(`${ca}.key`),
      '-CAcreateserial',
      '-out',
      pem(`${name}.pem`),
      '-days',
      '2',
      ...(ext ? ['-extfile', ext] : []),
    );
  };
  issue('server', 'ca', pem('server.ext'));
  issue('client', 'ca');
  issue('stranger', 'other-ca');
}

const handlers: Partial<DebugHandlers> = {
  ServerInfo: (_call, cb) =>
    cb(null, { version: '9.9.9', nodeName: 'node-t', pools: [{ network: 'n', rangeSet: '10.227.0.0/24', used: '1', size: '253', free: '252' }] }),
  ListLeases: (call, cb) => cb(null, { leases: [{ network: call.request.network, address: '10.227.0.9', family: 4, prefixLength: 24 }] }),
  GetAttachment: (call, cb) => cb({ code: grpc.status.NOT_FOUND, details: `no attachment for container ${call.request.containerId}` }),
  ListAttachments: (_call, cb) => cb({ code: grpc.status.INTERNAL, details: 'store on fire' }),
  WatchEvents: (call) => {
    for (let i = 0; i < 3; i++) call.write({ requestId: `r${i}`, verb: 'CNI_VERB_ADD', outcome: 'CNI_EVENT_OUTCOME_OK' });
  },
};

async function startServer(address: string, creds: grpc.ServerCredentials): Promise<number> {
  const server = new grpc.Server();
  server.addService(loadDebugProto().podwire.v1.Debug.service, handlers as DebugHandlers);
  new HealthImplementation({ '': 'SERVING', 'podwire.v1.Debug': 'NOT_SERVING' }).addToServer(server);
  servers.push(server);
  return new Promise((resolve, reject) => server.bindAsync(address, creds, (err, port) => (err ? reject(err) : resolve(port))));
}

before(async () => {
  makeCertificates();
  await startServer(`unix:${socket}`, grpc.ServerCredentials.createInsecure());
  const tlsCreds = grpc.ServerCredentials.createSsl(
    fs.readFileSync(pem('ca.pem')),
    [{ private_key: fs.readFileSync(pem('server.key')), cert_chain: fs.readFileSync(pem('server.pem')) }],
    true,
  );
  tlsPort = await startServer('127.0.0.1:0', tlsCreds);
});

after(() => {
  for (const s of servers) s.forceShutdown();
  fs.rmSync(dir, { recursive: true, force: true });
});

const unix: Connection = { kind: 'unix', socket };
const remote = (over: Partial<Extract<Connection, { kind: 'remote' }>> = {}): Connection => ({
  kind: 'remote',
  address: `127.0.0.1:${tlsPort}`,
  certFile: pem('client.pem'),
  keyFile: pem('client.key'),
  caFile: pem('ca.pem'),
  ...over,
});

async function expectCtlError(p: Promise<unknown>, exitCode: number, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof CtlError, `a CtlError, got ${String(err)}`);
    assert.equal(err.exitCode, exitCode, err.message);
    assert.match(err.message, pattern);
    return true;
  });
}

async function withClient<T>(conn: Connection, fn: (c: GrpcDebugClient) => Promise<T>): Promise<T> {
  const c = new GrpcDebugClient(conn, 5_000);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

test('unix socket: unary calls, health per service, and the event stream', async () => {
  await withClient(unix, async (c) => {
    const info = await c.serverInfo();
    assert.equal(info.version, '9.9.9');
    assert.deepEqual(info.pools[0], { network: 'n', rangeSet: '10.227.0.0/24', used: '1', size: '253', free: '252' });
    assert.equal((await c.listLeases('net-x')).leases[0]?.network, 'net-x');
    assert.equal(await c.health(''), 'SERVING');
    assert.equal(await c.health('podwire.v1.Debug'), 'NOT_SERVING');
    assert.equal(await c.health('no.such.Service'), 'SERVICE_UNKNOWN');
    const seen: string[] = [];
    let subscribed = 0;
    const watch = c.watchEvents(
      (e) => {
        seen.push(e.requestId);
        if (seen.length === 3) watch.cancel();
      },
      () => subscribed++,
    );
    await watch.done;
    assert.deepEqual(seen, ['r0', 'r1', 'r2']);
    assert.equal(subscribed, 1, 'told once that the server subscribed the stream');
  });
});

test('unix socket: server errors become exit codes with the server message', async () => {
  await withClient(unix, async (c) => {
    await expectCtlError(c.getAttachment({ containerId: 'abc' }), EXIT.NOT_FOUND, /^no attachment for container abc$/);
    await expectCtlError(c.listAttachments({}), EXIT.FAILED, /ListAttachments on podwired at unix:.* failed: INTERNAL: store on fire/);
    await expectCtlError(c.listPeers(), EXIT.FAILED, /does not serve ListPeers/);
  });
});

test('a socket nobody serves: UNREACHABLE naming the socket, for calls and for the stream', async () => {
  const gone = path.join(dir, 'nobody.sock');
  await withClient({ kind: 'unix', socket: gone }, async (c) => {
    await expectCtlError(
      c.health(''),
      EXIT.UNREACHABLE,
      new RegExp(`^cannot reach podwired at unix:${gone}: connect ENOENT ${gone} \\(is podwired running\\?\\)$`),
    );
    await expectCtlError(c.watchEvents(() => undefined).done, EXIT.UNREACHABLE, /cannot reach podwired/);
  });
});

test('mutual TLS: the right certificates work', async () => {
  await withClient(remote(), async (c) => {
    assert.equal((await c.serverInfo()).nodeName, 'node-t');
    assert.equal(await c.health(''), 'SERVING');
  });
  await withClient(remote({ serverName: 'podwired.test' }), async (c) => assert.equal(await c.health(''), 'SERVING'));
});

test('mutual TLS: an untrusted server certificate (wrong --ca) is a TLS error', async () => {
  await withClient(remote({ caFile: pem('other-ca.pem') }), (c) =>
    expectCtlError(c.serverInfo(), EXIT.TLS, /^TLS with podwired at 127\.0\.0\.1:\d+ \(mutual TLS\) failed: self-signed certificate in certificate chain$/),
  );
});

test('mutual TLS: a client certificate the server does not trust is a TLS error', async () => {
  await withClient(remote({ certFile: pem('stranger.pem'), keyFile: pem('stranger.key') }), (c) =>
    expectCtlError(c.serverInfo(), EXIT.TLS, /refused this client's certificate/),
  );
});

test('mutual TLS: a server name the certificate does not carry is a TLS error', async () => {
  await withClient(remote({ serverName: 'elsewhere.test' }), (c) => expectCtlError(c.serverInfo(), EXIT.TLS, /elsewhere\.test/));
});

test('mutual TLS: unreadable files and nothing listening', async () => {
  assert.throws(
    () => new GrpcDebugClient(remote({ keyFile: pem('missing.key') }), 1000),
    (err: unknown) => err instanceof CtlError && err.exitCode === EXIT.TLS && /cannot read --key .*missing\.key/.test(err.message),
  );
  // A port from the same listener that was closed again: nothing answers there.
  const probe = new grpc.Server();
  const port = await new Promise<number>((resolve, reject) =>
    probe.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  probe.forceShutdown();
  await withClient(remote({ address: `127.0.0.1:${port}` }), (c) => expectCtlError(c.serverInfo(), EXIT.UNREACHABLE, /ECONNREFUSED/));
});
