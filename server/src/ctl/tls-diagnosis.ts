import * as tls from 'node:tls';

export interface TlsMaterial {
  ca: Buffer;
  key: Buffer;
  cert: Buffer;
  serverName?: string;
}

/**
 * grpc-js reports a failed TLS connection only as UNAVAILABLE with little detail (a server
 * refusing our certificate under TLS 1.3 shows as "Failed to connect"). After such a failure,
 * this repeats the handshake with node:tls and the same material, and says what went wrong:
 * the server's certificate is untrusted or names another host, or the server hung up right
 * after the handshake without a word of HTTP/2 (how a server refuses a client certificate
 * under TLS 1.3). Resolves undefined when TLS itself looks fine or the host is unreachable.
 */
export function diagnoseTls(host: string, port: number, m: TlsMaterial, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const sock = tls.connect({
      host,
      port,
      ca: m.ca,
      key: m.key,
      cert: m.cert,
      ALPNProtocols: ['h2'],
      ...(m.serverName !== undefined ? { servername: m.serverName, checkServerIdentity: (_h, cert) => tls.checkServerIdentity(m.serverName!, cert) } : {}),
    });
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    let handshaken = false;
    sock.once('secureConnect', () => {
      handshaken = true;
    });
    sock.once('data', () => finish(undefined));
    sock.once('error', (err: NodeJS.ErrnoException) => {
      if (!handshaken && /^E(CONNREFUSED|HOSTUNREACH|NETUNREACH|TIMEDOUT|NOTFOUND|AI_AGAIN)/.test(err.code ?? '')) return finish(undefined);
      finish(handshaken ? `the server closed the connection after the handshake (${err.message}): it refused this client's certificate` : err.message);
    });
    sock.once('close', () =>
      finish(
        handshaken
          ? "the server closed the connection right after the TLS handshake: it refused this client's certificate (--cert/--key not signed by a CA it trusts?)"
          : undefined,
      ),
    );
  });
}
