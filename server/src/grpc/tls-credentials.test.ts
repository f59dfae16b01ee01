import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { TlsConfigError, loadTcpTls } from './tls-credentials';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-tls-'));
const f = (name: string) => path.join(dir, name);
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function selfSigned(name: string): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.crt`),
    ],
    { stdio: 'ignore' },
  );
}

before(() => {
  selfSigned('server');
  selfSigned('other');
  fs.writeFileSync(f('garbage.pem'), 'hello\n');
  fs.writeFileSync(f('broken.crt'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
});

const read = (p: string) => fs.readFileSync(p);
const ok = { certFile: f('server.crt'), keyFile: f('server.key'), clientCaFile: f('other.crt') };

function failsNaming(config: typeof ok, file: string, reason: RegExp): void {
  assert.throws(
    () => loadTcpTls(config, read),
    (e: Error) => {
      assert.ok(e instanceof TlsConfigError);
      assert.ok(e.message.includes(file), e.message);
      assert.match(e.message, reason);
      assert.ok(!e.message.includes('PRIVATE KEY'));
      return true;
    },
  );
}

test('a matching certificate and key and a CA load', () => {
  const tls = loadTcpTls(ok, read);
  assert.ok(tls.cert.length > 0 && tls.key.length > 0 && tls.clientCa.length > 0);
});

test('each unusable file is refused by name and reason', () => {
  failsNaming({ ...ok, certFile: f('missing.crt') }, f('missing.crt'), /cannot be read: ENOENT/);
  failsNaming({ ...ok, certFile: f('garbage.pem') }, f('garbage.pem'), /tcp\.certFile .* is not a PEM certificate/);
  failsNaming({ ...ok, certFile: f('broken.crt') }, f('broken.crt'), /is not a valid certificate/);
  failsNaming({ ...ok, clientCaFile: f('garbage.pem') }, f('garbage.pem'), /tcp\.clientCaFile/);
  failsNaming({ ...ok, keyFile: f('garbage.pem') }, f('garbage.pem'), /tcp\.keyFile .* not a readable unencrypted PEM private key/);
  failsNaming({ ...ok, keyFile: f('other.key') }, f('other.key'), /does not belong to the certificate/);
});
