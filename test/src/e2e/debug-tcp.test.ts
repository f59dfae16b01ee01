/**
 * podwired's TCP listener on 127.0.0.1: mutual TLS only, Debug + health + reflection and
 * never Cni. Certificates come from a throwaway PKI made with openssl.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { GrpcReflection } from 'grpc-js-reflection-client';
import { E2eHarness } from '../lib/e2e-harness';
import type { PodwiredProcess } from '../lib/podwired-process';
import { SERVER_MAIN } from '../lib/paths';
import { runCommand } from '../lib/run-command';
import { type TlsFiles, makeTlsFixture } from '../lib/tls-fixture';

type Obj = Record<string, unknown>;

let h: E2eHarness;
let tls: TlsFiles;
let pkiDir: string;
let target: string;
const clients: grpc.Client[] = [];

function unary<T = Obj>(client: grpc.Client, method: string, req: Obj): Promise<T> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, (r: Obj, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, res: T) => void) => void>)[method];
    if (!fn) return reject(new Error(`no method ${method}`));
    fn.call(client, req, { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

async function rejectsWithCode(p: Promise<unknown>, code: grpc.status): Promise<void> {
  await assert.rejects(p, (e: grpc.ServiceError) => {
    assert.equal(e.code, code, `${grpc.status[e.code]}: ${e.details}`);
    return true;
  });
}

function credentials(cert?: string, key?: string): grpc.ChannelCredentials {
  const ca = fs.readFileSync(tls.caCert);
  return cert && key ? grpc.credentials.createSsl(ca, fs.readFileSync(key), fs.readFileSync(cert)) : grpc.credentials.createSsl(ca);
}

/** A client for `service` at `address`, its descriptor from `reflection`. */
async function clientFor(reflection: GrpcReflection, service: string, address: string, creds: grpc.ChannelCredentials): Promise<grpc.Client> {
  const pkg = (await reflection.getDescriptorBySymbol(service)).getPackageObject({ longs: String, enums: String, defaults: true, oneofs: true });
  let node: unknown = pkg;
  for (const part of service.split('.')) node = (node as Record<string, unknown>)[part];
  const client = new (node as grpc.ServiceClientConstructor)(address, creds);
  clients.push(client);
  return client;
}

/** The port podwired logged for its TCP listener (it listens on port 0: the kernel picks). */
async function loggedTcpPort(server: PodwiredProcess): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const line = server.logRecords().find((l) => typeof l.tcpPort === 'number');
    if (line) return line.tcpPort as number;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`podwired logged no tcpPort:\n${server.logs.join('\n')}`);
}

before(async () => {
  pkiDir = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-dbg-pki-'));
  tls = await makeTlsFixture(pkiDir);
  h = await E2eHarness.start('dbgtcp', {
    server: {
      config: {
        node: { name: 'dbg-tcp-node', podCIDRs: ['10.209.2.0/24'] },
        tcp: { listen: '127.0.0.1:0', certFile: tls.serverCert, keyFile: tls.serverKey, clientCaFile: tls.caCert },
      },
    },
  });
  target = `127.0.0.1:${await loggedTcpPort(h.server)}`;
});
after(async () => {
  for (const c of clients) c.close();
  await h.cleanup();
  fs.rmSync(pkiDir, { recursive: true, force: true });
});

test('with a client certificate from the CA: reflection lists Debug and health (not Cni); both answer', async () => {
  const creds = credentials(tls.clientCert, tls.clientKey);
  const reflection = new GrpcReflection(target, creds);
  const services = await reflection.listServices();
  assert.ok(services.includes('podwire.v1.Debug'), services.join(', '));
  assert.ok(services.includes('grpc.health.v1.Health'), services.join(', '));
  assert.ok(!services.includes('podwire.v1.Cni'), `Cni must not be discoverable over TCP: ${services.join(', ')}`);

  const debug = await clientFor(reflection, 'podwire.v1.Debug', target, creds);
  const info = await unary<Obj & { store: Obj; configJson: string }>(debug, 'ServerInfo', {});
  assert.equal(info.nodeName, 'dbg-tcp-node');
  assert.equal(info.ready, true);
  assert.equal(info.store.ok, true);
  const config = JSON.parse(info.configJson) as { tcp: Obj };
  assert.deepEqual(config.tcp, { listen: '127.0.0.1:0', certFile: tls.serverCert, keyFile: tls.serverKey, clientCaFile: tls.caCert });
  assert.ok(!info.configJson.includes('PRIVATE KEY'), 'no key material in ServerInfo');

  const peers = await unary<Obj & { podCidrs: string[]; peers: unknown[] }>(debug, 'ListPeers', {});
  assert.deepEqual(
    { source: peers.source, nodeName: peers.nodeName, podCidrs: peers.podCidrs, peers: peers.peers },
    {
      source: 'PEER_SOURCE_KIND_NONE',
      nodeName: 'dbg-tcp-node',
      podCidrs: ['10.209.2.0/24'],
      peers: [],
    },
  );

  const health = await clientFor(reflection, 'grpc.health.v1.Health', target, creds);
  for (const service of ['', 'podwire.v1.Debug']) {
    assert.equal((await unary<{ status: string }>(health, 'Check', { service })).status, 'SERVING', `health of "${service}"`);
  }
  await rejectsWithCode(unary(health, 'Check', { service: 'podwire.v1.Cni' }), grpc.status.NOT_FOUND);
});

test('Cni over TCP is UNIMPLEMENTED, even for a client with a valid certificate', async () => {
  // The Cni descriptor from the unix socket's reflection (TCP does not hand it out).
  const unixReflection = new GrpcReflection(`unix://${h.server.socket}`, grpc.credentials.createInsecure());
  const cni = await clientFor(unixReflection, 'podwire.v1.Cni', target, credentials(tls.clientCert, tls.clientKey));
  const req = {
    invocation: {
      containerId: '',
      netns: '',
      ifname: '',
      args: '',
      path: '/opt/cni/bin',
      config: Buffer.from('{"cniVersion":"1.1.0","name":"x","type":"podwire"}'),
    },
  };
  for (const method of ['Status', 'Add', 'Del']) await rejectsWithCode(unary(cni, method, req), grpc.status.UNIMPLEMENTED);
  assert.ok(!h.server.logRecords().some((l) => typeof l.msg === 'string' && l.msg.startsWith('CNI ')), 'no CNI call ran');
});

test('TCP refuses plaintext clients, clients without a certificate, and certificates from another CA', async () => {
  const unixReflection = new GrpcReflection(`unix://${h.server.socket}`, grpc.credentials.createInsecure());
  const refused: Array<[string, grpc.ChannelCredentials]> = [
    ['plaintext', grpc.credentials.createInsecure()],
    ['TLS without a client certificate', credentials()],
    ['a client certificate from another CA', credentials(tls.strangerCert, tls.strangerKey)],
  ];
  for (const [what, creds] of refused) {
    const debug = await clientFor(unixReflection, 'podwire.v1.Debug', target, creds);
    await assert.rejects(unary(debug, 'ServerInfo', {}), (e: grpc.ServiceError) => {
      assert.equal(e.code, grpc.status.UNAVAILABLE, `${what}: ${grpc.status[e.code]} ${e.details}`);
      return true;
    });
  }
  // The listener is still there for a proper client.
  const ok = await clientFor(unixReflection, 'podwire.v1.Debug', target, credentials(tls.clientCert, tls.clientKey));
  assert.equal((await unary<Obj>(ok, 'ServerInfo', {})).nodeName, 'dbg-tcp-node');
});

test('unusable TLS files stop podwired at start with exit 1 and a message naming the file', async () => {
  const garbage = path.join(pkiDir, 'garbage.pem');
  fs.writeFileSync(garbage, 'not a certificate\n');
  const cases: Array<[string, Obj]> = [
    [garbage, { certFile: garbage, keyFile: tls.serverKey, clientCaFile: tls.caCert }],
    [path.join(pkiDir, 'missing.key'), { certFile: tls.serverCert, keyFile: path.join(pkiDir, 'missing.key'), clientCaFile: tls.caCert }],
    [tls.clientKey, { certFile: tls.serverCert, keyFile: tls.clientKey, clientCaFile: tls.caCert }],
    [garbage, { certFile: tls.serverCert, keyFile: tls.serverKey, clientCaFile: garbage }],
  ];
  for (const [file, files] of cases) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-dbg-badtls-'));
    try {
      const configFile = path.join(root, 'podwired.json');
      fs.writeFileSync(configFile, JSON.stringify({ tcp: { listen: '127.0.0.1:0', ...files } }));
      const socket = path.join(root, 'run', 'podwire.sock');
      const r = await runCommand(process.execPath, [SERVER_MAIN, '--socket', socket, '--state-dir', path.join(root, 'state'), '--config', configFile], {
        timeoutMs: 30_000,
      });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.ok(r.stderr.includes(file), `names ${file}: ${r.stderr}`);
      assert.ok(!r.stderr.includes('PRIVATE KEY') && !r.stderr.includes('BEGIN CERTIFICATE-----\n'), 'no PEM contents in the message');
      assert.ok(!fs.existsSync(socket), 'nothing was listening');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  }
});
