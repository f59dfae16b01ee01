import * as crypto from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { TcpListenerConfig } from '../config/server-config';

/** A TLS file podwired cannot use; the message names the file and the reason. */
export class TlsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsConfigError';
  }
}

/** The PEM material of the TCP listener, read and checked once at start. */
export interface TcpTlsMaterial {
  cert: Buffer;
  key: Buffer;
  clientCa: Buffer;
}

type ReadFile = (path: string) => Buffer;

function readPem(readFile: ReadFile, file: string, field: string): Buffer {
  try {
    return readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TlsConfigError(`${field} ${file} cannot be read: ${code ?? (err instanceof Error ? err.message : String(err))}`);
  }
}

function parseCertificate(pem: Buffer, file: string, field: string): crypto.X509Certificate {
  if (!pem.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) {
    throw new TlsConfigError(`${field} ${file} is not a PEM certificate (no "BEGIN CERTIFICATE" block)`);
  }
  try {
    return new crypto.X509Certificate(pem);
  } catch (err) {
    throw new TlsConfigError(`${field} ${file} is not a valid certificate: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Reads the TCP listener's certificate, key and client CA and checks them before anything
 * listens: each must parse, and the key must belong to the certificate. Key material is never
 * put in an error message, only file names.
 */
export function loadTcpTls(config: Pick<TcpListenerConfig, 'certFile' | 'keyFile' | 'clientCaFile'>, readFile: ReadFile): TcpTlsMaterial {
  const cert = readPem(readFile, config.certFile, 'tcp.certFile');
  const key = readPem(readFile, config.keyFile, 'tcp.keyFile');
  const clientCa = readPem(readFile, config.clientCaFile, 'tcp.clientCaFile');
  const certificate = parseCertificate(cert, config.certFile, 'tcp.certFile');
  parseCertificate(clientCa, config.clientCaFile, 'tcp.clientCaFile');
  let privateKey: crypto.KeyObject;
  try {
    privateKey = crypto.createPrivateKey(key);
  } catch {
    throw new TlsConfigError(`tcp.keyFile ${config.keyFile} is not a readable unencrypted PEM private key`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new TlsConfigError(`tcp.keyFile ${config.keyFile} does not belong to the certificate in tcp.certFile ${config.certFile}`);
  }
  return { cert, key, clientCa };
}

/** Mutual TLS only: a client must present a certificate that chains to the client CA. */
export function mutualTlsCredentials(tls: TcpTlsMaterial): grpc.ServerCredentials {
  return grpc.ServerCredentials.createSsl(tls.clientCa, [{ cert_chain: tls.cert, private_key: tls.key }], true);
}
