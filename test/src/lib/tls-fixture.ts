import * as fs from 'node:fs';
import * as path from 'node:path';
import { mustRun } from './run-command';

/** PEM files of one test PKI, as paths and contents. */
export interface TlsFiles {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate from another CA, which the server must refuse. */
  strangerCert: string;
  strangerKey: string;
}

async function newKeyAndCsr(dir: string, name: string, cn: string): Promise<void> {
  await mustRun('openssl', [
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    path.join(dir, `${name}.key`),
    '-out',
    path.join(dir, `${name}.csr`),
    '-subj',
    `/CN=${cn}`,
  ]);
}

async function newCa(dir: string, name: string, cn: string): Promise<void> {
  await mustRun('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '2',
    '-keyout',
    path.join(dir, `${name}.key`),
    '-out',
    path.join(dir, `${name}.crt`),
    '-subj',
    `/CN=${cn}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

async function sign(dir: string, name: string, ca: string, extensions: string): Promise<void> {
  const ext = path.join(dir, `${name}.ext`);
  fs.writeFileSync(ext, extensions);
  await mustRun('openssl', [
    'x509',
    '-req',
    '-days',
    '2',
    '-in',
    path.join(dir, `${name}.csr`),
    '-CA',
    path.join(dir, `${ca}.crt`),
    '-CAkey',
    path.join(dir, `${ca}.key`),
    '-set_serial',
    String(Date.now()),
    '-out',
    path.join(dir, `${name}.crt`),
    '-extfile',
    ext,
  ]);
}

/**
 * A throwaway PKI made with `openssl` in `dir`: a CA, a server certificate for 127.0.0.1 (SAN
 * IP), a client certificate from the same CA, and a client certificate from a second CA.
 */
export async function makeTlsFixture(dir: string): Promise<TlsFiles> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  await newCa(dir, 'ca', 'podwire test CA');
  await newCa(dir, 'other-ca', 'another CA');
  await newKeyAndCsr(dir, 'server', 'podwired');
  await sign(dir, 'server', 'ca', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n');
  await newKeyAndCsr(dir, 'client', 'operator');
  await sign(dir, 'client', 'ca', 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n');
  await newKeyAndCsr(dir, 'stranger', 'stranger');
  await sign(dir, 'stranger', 'other-ca', 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n');
  const p = (f: string) => path.join(dir, f);
  return {
    caCert: p('ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    strangerCert: p('stranger.crt'),
    strangerKey: p('stranger.key'),
  };
}
