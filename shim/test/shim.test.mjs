// End-to-end tests of the podwire shim: the C unit tests (make check), the build
// facts (static, small), and the real binary driven like a CNI runtime drives it
// against a real @grpc/grpc-js server on a unix socket.
//
// Run from the repository root: node --test shim/test/shim.test.mjs
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const shimDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoDir = path.dirname(shimDir);
const binary = path.join(shimDir, 'build', 'podwire');
const protoFile = path.join(repoDir, 'proto', 'podwire', 'v1', 'cni.proto');

const RPCS = ['Add', 'Del', 'Check', 'Status', 'Gc', 'Get'];
const VERBS = { ADD: 'Add', DEL: 'Del', CHECK: 'Check', STATUS: 'Status', GC: 'Gc', GET: 'Get' };
/** The RPCs whose response carries a result; the others' success prints nothing. */
const WITH_RESULT = new Set(['Add', 'Get']);

const cniService = (() => {
  const def = protoLoader.loadSync(protoFile, { defaults: true, oneofs: true });
  return grpc.loadPackageDefinition(def).podwire.v1.Cni.service;
})();

let tmpRoot;
let dirCount = 0;
const servers = new Set();
const children = new Set();

/** A fresh directory under /tmp and the socket path inside it. */
function freshSocket() {
  const dir = path.join(tmpRoot, String(dirCount++));
  mkdirSync(dir);
  return path.join(dir, 's.sock');
}

/**
 * Starts a grpc-js server for podwire.v1.Cni on sock. Every call is recorded in
 * the returned `calls` array and answered by handler(rpc, request, callback).
 */
async function startServer(sock, handler, options = {}) {
  const server = new grpc.Server(options);
  const calls = [];
  const impl = {};
  for (const rpc of RPCS) {
    impl[rpc] = (call, callback) => {
      calls.push({
        rpc,
        request: call.request,
        metadata: call.metadata.getMap(),
        deadline: call.getDeadline(),
        receivedAt: Date.now(),
      });
      handler(rpc, call.request, callback);
    };
  }
  server.addService(cniService, impl);
  await new Promise((resolve, reject) => server.bindAsync(`unix://${sock}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  servers.add(server);
  return { server, calls };
}

function stopServer(server) {
  server.forceShutdown();
  servers.delete(server);
}

/** Environment exactly as a CNI runtime sets it (nothing inherited). */
function cniEnv(command, extra = {}) {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'ctr-0123456789abcdef',
    CNI_NETNS: '/var/run/netns/cni-1234',
    CNI_IFNAME: 'eth0',
    CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0',
    CNI_PATH: '/opt/cni/bin:/usr/libexec/cni',
    ...extra,
  };
}

/** Runs the real binary with env and stdin; resolves with what it did. */
function runShim(env, input = '') {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(binary, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    const out = [];
    const err = [];
    const killer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    child.stdin.on('error', () => {}); // the shim may exit before reading everything
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      children.delete(child);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString(),
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      });
    });
    child.stdin.end(input);
  });
}

/** Parses stdout as exactly one CNI error document and checks its shape. */
function cniError(res, code) {
  assert.equal(res.code, 1, `exit status (stderr: ${res.stderr})`);
  const doc = JSON.parse(res.stdout.toString());
  assert.deepEqual(Object.keys(doc), ['cniVersion', 'code', 'msg', 'details']);
  assert.equal(doc.code, code, `error code in ${res.stdout}`);
  return doc;
}

const emptyResult = (rpc, _req, cb) => cb(null, WITH_RESULT.has(rpc) ? { result: Buffer.alloc(0), cniVersion: '1.1.0' } : { cniVersion: '1.1.0' });

before(() => {
  const build = spawnSync('make', ['-s', '-C', shimDir], { encoding: 'utf8' });
  assert.equal(build.status, 0, `make -C shim failed:\n${build.stdout}${build.stderr}`);
  tmpRoot = mkdtempSync('/tmp/podwire-shim-');
});

after(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const server of servers) server.forceShutdown();
  if (tmpRoot) rmSync(tmpRoot, { recursive: true, force: true });
});

test('make -C shim check passes', () => {
  const res = spawnSync('make', ['-s', '-C', shimDir, 'check'], { encoding: 'utf8' });
  assert.equal(res.status, 0, `make check failed:\n${res.stdout}${res.stderr}`);
  assert.match(res.stdout, /all C unit tests passed/);
});

test('the binary is statically linked, stripped and under 1 MB', () => {
  const file = spawnSync('file', [binary], { encoding: 'utf8' });
  assert.equal(file.status, 0);
  assert.match(file.stdout, /statically linked/);
  assert.match(file.stdout, /, stripped/);
  assert.ok(statSync(binary).size < 1_000_000, `size ${statSync(binary).size}`);
});

test('VERSION is answered without a server', async () => {
  const sock = freshSocket(); // nothing listens here
  const res = await runShim({ CNI_COMMAND: 'VERSION', PODWIRE_SOCKET: sock }, '{"cniVersion":"0.4.0","name":"x"}');
  assert.equal(res.code, 0);
  assert.equal(res.stderr, '');
  // The list itself is the server's SUPPORTED_CNI_VERSIONS, generated into the shim at build
  // time; test/src/e2e/versions-agree.test.ts checks the two agree.
  const doc = JSON.parse(res.stdout.toString());
  assert.deepEqual(Object.keys(doc), ['cniVersion', 'supportedVersions']);
  assert.equal(doc.cniVersion, '0.4.0');
  assert.ok(doc.supportedVersions.length > 0 && doc.supportedVersions.every((v) => /^\d+\.\d+\.\d+$/.test(v)));
  assert.ok(doc.supportedVersions.includes('0.4.0'));

  const bare = await runShim({ CNI_COMMAND: 'VERSION' }, '');
  assert.equal(bare.code, 0);
  assert.deepEqual(JSON.parse(bare.stdout.toString()).supportedVersions, doc.supportedVersions);
  assert.equal(JSON.parse(bare.stdout.toString()).cniVersion, doc.supportedVersions.at(-1), 'no cniVersion: the newest');
});

test('the supported-versions generator reads cni-versions.ts strictly and fails loudly otherwise', () => {
  const generator = path.join(shimDir, 'src', 'gen_cni_versions.awk');
  const gen = (text) => {
    const file = path.join(tmpRoot, `versions-${dirCount++}.ts`);
    writeFileSync(file, text);
    return spawnSync('awk', ['-f', generator, file], { encoding: 'utf8' });
  };
  const real = spawnSync('awk', ['-f', generator, path.join(repoDir, 'server', 'src', 'cni', 'cni-versions.ts')], { encoding: 'utf8' });
  assert.equal(real.status, 0, real.stderr);
  assert.equal(real.stdout, readFileSync(path.join(shimDir, 'gen', 'supported_cni_versions.h'), 'utf8'), 'the build used it');

  const ok = gen(
    "export const SUPPORTED_CNI_VERSIONS: readonly string[] = [\n  '0.4.0', // old\r\n  /* '9.9.9', */ \"1.0.0\",\n] as const;\n" +
      "export const LATEST_CNI_VERSION: CniVersion = '1.0.0';\n",
  );
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^#define CNI_SUPPORTED_VERSIONS_JSON "\[\\"0\.4\.0\\",\\"1\.0\.0\\"\]"$/m);
  assert.match(ok.stdout, /^#define CNI_LATEST_VERSION "1\.0\.0"$/m);

  const latest = "export const LATEST_CNI_VERSION = '1.0.0';\n";
  for (const [text, why] of [
    ['', /one definition of SUPPORTED_CNI_VERSIONS, found 0/],
    [`export const SUPPORTED_CNI_VERSIONS = [...OLD, '1.0.0'];\n${latest}`, /\.\.\.OLD is not a quoted version/],
    [`export const SUPPORTED_CNI_VERSIONS = [];\n${latest}`, /is empty/],
    [`export const SUPPORTED_CNI_VERSIONS = ['1.0.0', '1.0.0'];\n${latest}`, /lists 1\.0\.0 twice/],
    [`export const SUPPORTED_CNI_VERSIONS = ['1.0'];\n${latest}`, /'1\.0' is not a quoted version/],
    [`export const SUPPORTED_CNI_VERSIONS = versions();\n${latest}`, /not an array literal/],
    [`export const SUPPORTED_CNI_VERSIONS = ['1.0.0'];\nconst SUPPORTED_CNI_VERSIONS = ['1.1.0'];\n${latest}`, /found 2/],
    ["export const SUPPORTED_CNI_VERSIONS = ['1.0.0'];\nexport const LATEST_CNI_VERSION = '1.1.0';\n", /1\.1\.0 is not in SUPPORTED_CNI_VERSIONS/],
    ["export const SUPPORTED_CNI_VERSIONS = ['1.0.0'];\nexport const LATEST_CNI_VERSION = SUPPORTED_CNI_VERSIONS[0];\n", /not a string literal/],
    [`/* open\nexport const SUPPORTED_CNI_VERSIONS = ['1.0.0'];\n${latest}`, /unterminated/],
  ]) {
    const res = gen(text);
    assert.notEqual(res.status, 0, `accepted: ${JSON.stringify(text)}`);
    assert.equal(res.stdout, '', 'nothing written on failure');
    assert.match(res.stderr, why);
    assert.match(res.stderr, /versions-\d+\.ts/, 'names the file');
  }
});

test('a missing or unknown CNI_COMMAND is error 4', async () => {
  const unknown = await runShim(cniEnv('FROB'), '{"cniVersion":"1.0.0"}');
  const doc = cniError(unknown, 4);
  assert.equal(doc.cniVersion, '1.0.0');
  assert.match(doc.details, /FROB/);

  const env = cniEnv('x');
  delete env.CNI_COMMAND;
  assert.match(cniError(await runShim(env, '{}'), 4).details, /CNI_COMMAND/);
});

test('each verb calls its RPC with every request field unchanged', async () => {
  const sock = freshSocket();
  const { server, calls } = await startServer(sock, emptyResult);
  try {
    const config = Buffer.from('{"cniVersion":"1.1.0","name":"pods-é-漢字-😀","type":"podwire"}\n');
    for (const [verb, rpc] of Object.entries(VERBS)) {
      const res = await runShim(cniEnv(verb, { PODWIRE_SOCKET: sock }), config);
      assert.equal(res.code, 0, `${verb}: ${res.stderr}`);
      assert.equal(res.stdout.length, 0, 'an empty result prints nothing');
      assert.equal(res.stderr, '', 'stderr stays quiet on success');
      const call = calls.at(-1);
      assert.equal(call.rpc, rpc);
      // The RPC is the verb; its request (AddRequest, DelRequest, ...) is the invocation alone.
      assert.deepEqual(Object.keys(call.request), ['invocation']);
      const inv = call.request.invocation;
      assert.equal(inv.command, undefined, 'CNI_COMMAND is not sent (its field is reserved)');
      assert.equal(inv.containerId, 'ctr-0123456789abcdef');
      assert.equal(inv.netns, '/var/run/netns/cni-1234');
      assert.equal(inv.ifname, 'eth0');
      assert.equal(inv.args, 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0');
      assert.equal(inv.path, '/opt/cni/bin:/usr/libexec/cni');
      assert.ok(Buffer.isBuffer(inv.config));
      assert.ok(inv.config.equals(config), 'config bytes unchanged');
      assert.match(call.metadata['user-agent'] ?? '', /podwire-shim/);
    }
    assert.equal(calls.length, 6);

    // Unset variables travel as "" (the server validates them), stdin may be empty.
    const res = await runShim({ CNI_COMMAND: 'DEL', PODWIRE_SOCKET: sock }, '');
    assert.equal(res.code, 0);
    const req = calls.at(-1).request.invocation;
    assert.deepEqual([req.containerId, req.netns, req.ifname, req.args, req.path, req.config.length], ['', '', '', '', '', 0]);
  } finally {
    stopServer(server);
  }
});

test('a 1 MiB config with arbitrary bytes arrives byte-exact', async () => {
  const sock = freshSocket();
  const { server, calls } = await startServer(sock, emptyResult);
  try {
    const head = Buffer.from('{"cniVersion":"1.1.0","name":"big","pad":"');
    const tail = Buffer.from('"}');
    const pad = Buffer.alloc(1024 * 1024 - head.length - tail.length);
    for (let i = 0; i < pad.length; i++) pad[i] = 0x20 + ((i * 7) % 0x5e); // printable
    pad.write('\u00e9\u6f22\u{1F600}', 100); // multi-byte UTF-8 in the middle
    pad[pad.length - 1] = 0xff; // and an invalid byte: bytes are bytes
    const config = Buffer.concat([head, pad, tail]);
    assert.equal(config.length, 1024 * 1024);
    const res = await runShim(cniEnv('ADD', { PODWIRE_SOCKET: sock }), config);
    assert.equal(res.code, 0, res.stderr);
    assert.ok(calls.at(-1).request.invocation.config.equals(config));
  } finally {
    stopServer(server);
  }
});

test('the 16 MiB config cap: exactly 16 MiB is forwarded, one byte more is error 6', async () => {
  const sock = freshSocket();
  // podwired must raise grpc-js's 4 MiB default receive limit to take 16 MiB configs.
  const { server, calls } = await startServer(sock, emptyResult, {
    'grpc.max_receive_message_length': 17 * 1024 * 1024,
  });
  try {
    const head = Buffer.from('{"cniVersion":"1.1.0","pad":"');
    const tail = Buffer.from('"}');
    const limit = 16 * 1024 * 1024;
    const config = Buffer.concat([head, Buffer.alloc(limit - head.length - tail.length, 'p'), tail]);
    const res = await runShim(cniEnv('ADD', { PODWIRE_SOCKET: sock }), config);
    assert.equal(res.code, 0, res.stderr);
    assert.ok(calls.at(-1).request.invocation.config.equals(config));

    const over = await runShim(cniEnv('ADD', { PODWIRE_SOCKET: sock }), Buffer.concat([config, Buffer.from(' ')]));
    assert.equal(cniError(over, 6).msg, 'network configuration larger than 16 MiB');
    assert.equal(calls.length, 1, 'nothing sent');
  } finally {
    stopServer(server);
  }
});

test('a result reply is printed byte-exact with exit 0', async (t) => {
  const sock = freshSocket();
  const result = Buffer.from(
    '{"cniVersion":"1.1.0","interfaces":[{"name":"eth0","sandbox":"/var/run/netns/x"}],' +
      '"ips":[{"address":"10.1.2.3/24","gateway":"10.1.2.1","interface":0}],"x":"é\\u0000"}\n',
  );
  const big = Buffer.alloc(3 * 1024 * 1024, 'r'); // larger than any HTTP/2 window default
  let reply = result;
  const { server } = await startServer(sock, (_rpc, _req, cb) => cb(null, { result: reply, cniVersion: '1.1.0' }));
  try {
    const res = await runShim(cniEnv('ADD', { PODWIRE_SOCKET: sock }), '{"cniVersion":"1.1.0"}');
    assert.equal(res.code, 0, res.stderr);
    assert.ok(res.stdout.equals(result), `stdout: ${res.stdout}`);
    assert.equal(res.stderr, '');

    reply = big;
    const large = await runShim(cniEnv('GET', { PODWIRE_SOCKET: sock }), '{}');
    assert.equal(large.code, 0, large.stderr);
    assert.ok(large.stdout.equals(big));

    // One round trip, for the record.
    reply = result;
    const times = [];
    for (let i = 0; i < 20; i++) {
      const r = await runShim(cniEnv('ADD', { PODWIRE_SOCKET: sock }), '{}');
      assert.equal(r.code, 0);
      times.push(r.ms);
    }
    times.sort((a, b) => a - b);
    t.diagnostic(`ADD round trip incl. process spawn: median ${times[10].toFixed(2)} ms, min ${times[0].toFixed(2)} ms`);
  } finally {
    stopServer(server);
  }
});

test('an error reply prints one CNI error JSON with exit 1', async () => {
  const sock = freshSocket();
  let version = '1.0.0';
  const { server } = await startServer(sock, (_rpc, _req, cb) =>
    cb(null, {
      error: { code: 7, msg: 'invalid "network" config', details: 'field "ipam":\n\tmissing \\ é' },
      cniVersion: version,
    }),
  );
  try {
    const res = await runShim(cniEnv('ADD', { PODWIRE_SOCKET: sock }), '{"cniVersion":"0.4.0"}');
    assert.deepEqual(cniError(res, 7), {
      cniVersion: '1.0.0',
      code: 7,
      msg: 'invalid "network" config',
      details: 'field "ipam":\n\tmissing \\ é',
    });
    // Without a version in the reply, the config's is used.
    version = '';
    const res2 = await runShim(cniEnv('CHECK', { PODWIRE_SOCKET: sock }), '{"cniVersion":"0.4.0"}');
    assert.equal(cniError(res2, 7).cniVersion, '0.4.0');
  } finally {
    stopServer(server);
  }
});

test('a gRPC status other than OK is error 5, or 11 for UNAVAILABLE', async () => {
  const sock = freshSocket();
  let status = grpc.status.INTERNAL;
  const { server } = await startServer(sock, (_rpc, _req, cb) => cb({ code: status, details: 'kaboom: état "bad" 100%' }));
  try {
    const res = await runShim(cniEnv('ADD', { PODWIRE_SOCKET: sock }), '{}');
    const doc = cniError(res, 5);
    assert.match(doc.details, /grpc-status 13 \(INTERNAL\)/);
    assert.ok(doc.details.includes('kaboom: état "bad" 100%'), doc.details);

    status = grpc.status.UNAVAILABLE;
    cniError(await runShim(cniEnv('DEL', { PODWIRE_SOCKET: sock }), '{}'), 11);
  } finally {
    stopServer(server);
  }
});

test('a server that never answers is cut off by PODWIRE_CALL_TIMEOUT_MS', async () => {
  const sock = freshSocket();
  const { server, calls } = await startServer(sock, () => {}); // never calls back
  try {
    const res = await runShim(cniEnv('ADD', { PODWIRE_SOCKET: sock, PODWIRE_CALL_TIMEOUT_MS: '300' }), '{"cniVersion":"1.0.0"}');
    const doc = cniError(res, 11);
    assert.match(doc.msg, /timed out after 300 ms/);
    assert.ok(res.ms >= 290 && res.ms < 3000, `took ${res.ms} ms`);
    assert.equal(calls.length, 1, 'a call that reached the server is not retried');
    // The deadline travelled as grpc-timeout.
    const left = Number(calls[0].deadline) - calls[0].receivedAt;
    assert.ok(left > 0 && left <= 300, `server-side deadline ${left} ms away`);
  } finally {
    stopServer(server);
  }
});

test('the call deadline is enforced by the shim itself (a peer that says nothing)', async () => {
  const sock = freshSocket();
  const sockets = new Set();
  const silent = net.createServer((s) => sockets.add(s)); // accepts, never speaks HTTP/2
  await new Promise((resolve) => silent.listen(sock, resolve));
  try {
    const res = await runShim(cniEnv('ADD', { PODWIRE_SOCKET: sock, PODWIRE_CALL_TIMEOUT_MS: '250' }), '{}');
    assert.match(cniError(res, 11).msg, /timed out after 250 ms/);
    assert.ok(res.ms >= 240 && res.ms < 3000, `took ${res.ms} ms`);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
});

test('a peer that hangs up mid-call is an I/O failure, not retried', async () => {
  const sock = freshSocket();
  let accepted = 0;
  const rude = net.createServer((s) => {
    accepted++;
    s.once('data', () => s.destroy());
  });
  await new Promise((resolve) => rude.listen(sock, resolve));
  try {
    const res = await runShim(cniEnv('ADD', { PODWIRE_SOCKET: sock }), '{}');
    cniError(res, 5);
    assert.equal(accepted, 1);
  } finally {
    await new Promise((resolve) => rude.close(resolve));
  }
});

test('no server: error 11 within PODWIRE_RETRY_TIMEOUT_MS naming the socket', async () => {
  const sock = freshSocket();
  const res = await runShim(cniEnv('ADD', { PODWIRE_SOCKET: sock, PODWIRE_RETRY_TIMEOUT_MS: '400' }), '{}');
  const doc = cniError(res, 11);
  assert.equal(doc.msg, 'podwired is not reachable, try again later');
  assert.ok(doc.details.includes(sock), doc.details);
  assert.match(doc.details, /No such file or directory/);
  assert.ok(res.ms >= 390 && res.ms < 3000, `took ${res.ms} ms`);
});

test('a server started while the shim is retrying gets the call', async () => {
  const sock = freshSocket();
  const pending = runShim(cniEnv('ADD', { PODWIRE_SOCKET: sock, PODWIRE_RETRY_TIMEOUT_MS: '5000' }), '{}');
  await new Promise((resolve) => setTimeout(resolve, 400));
  const { server, calls } = await startServer(sock, (_rpc, _req, cb) => cb(null, { result: Buffer.from('{"late":true}'), cniVersion: '1.1.0' }));
  try {
    const res = await pending;
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.toString(), '{"late":true}');
    assert.equal(calls.length, 1);
    assert.ok(res.ms >= 400 && res.ms < 5000, `took ${res.ms} ms`);
  } finally {
    stopServer(server);
  }
});

test('the socket comes from PODWIRE_SOCKET, else the config "socket" member', async () => {
  const sock = freshSocket();
  const { server, calls } = await startServer(sock, emptyResult);
  try {
    const config = JSON.stringify({ cniVersion: '1.1.0', socket: sock, plugins: [{ socket: '/nope' }] });
    const res = await runShim(cniEnv('ADD', { PODWIRE_RETRY_TIMEOUT_MS: '0' }), config);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(calls.length, 1);

    // The environment wins over the config.
    const other = freshSocket();
    const res2 = await runShim(cniEnv('ADD', { PODWIRE_SOCKET: other, PODWIRE_RETRY_TIMEOUT_MS: '0' }), config);
    assert.ok(cniError(res2, 11).details.includes(other));
    assert.equal(calls.length, 1);
  } finally {
    stopServer(server);
  }
});
