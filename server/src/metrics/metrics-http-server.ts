import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { ListenAddress } from '../config/listen-address';
import type { MetricsExposition } from './podwire-metrics';

export interface MetricsHttpServer {
  /** The address actually bound (the real port when the configuration said 0). */
  readonly host: string;
  readonly port: number;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/**
 * Serves GET (and HEAD) /metrics on `listen`: the Prometheus text format with its content
 * type. Every other path is 404, other methods on /metrics 405. A scrape that fails (the store
 * is closed, a gauge throws) is answered 500 with the reason and logged.
 */
export async function startMetricsHttpServer(listen: ListenAddress, expose: () => Promise<MetricsExposition>, log: Logger): Promise<MetricsHttpServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: podwired serves only /metrics here\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain; charset=utf-8', allow: 'GET, HEAD' }).end(`method ${req.method} not allowed on /metrics\n`);
      return;
    }
    expose().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        const reason = err instanceof Error ? err.message : String(err);
        log.error({ err, remote: req.socket.remoteAddress }, 'metrics scrape failed');
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`cannot collect metrics: ${reason}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: listen.host, port: listen.port }, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    throw new Error(`cannot listen for metrics on ${listen.text}: ${err instanceof Error ? err.message : String(err)}`);
  });
  server.on('error', (err) => log.error({ err }, 'metrics server error'));
  const bound = server.address() as AddressInfo;
  const metricsAddress = bound.family === 'IPv6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`;
  log.info({ metricsAddress, metricsPort: bound.port }, `metrics on http://${metricsAddress}/metrics`);
  return {
    host: bound.address,
    port: bound.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
