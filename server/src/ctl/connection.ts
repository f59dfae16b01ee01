/** Where podwirectl connects: podwired's local unix socket, or its TCP listener with mutual TLS. */

export const DEFAULT_CTL_SOCKET = '/run/podwire/podwire.sock';

export type Connection =
  | { kind: 'unix'; socket: string }
  | {
      kind: 'remote';
      /** "host:port" or "[v6]:port" as given. */
      address: string;
      certFile: string;
      keyFile: string;
      caFile: string;
      /** Name to check the server certificate against instead of the address's host. */
      serverName?: string;
    };

/** The grpc-js target string. */
export function grpcTarget(c: Connection): string {
  return c.kind === 'unix' ? `unix:${c.socket}` : c.address;
}

/** How error messages name the server. */
export function describeConnection(c: Connection): string {
  return c.kind === 'unix' ? `podwired at unix:${c.socket}` : `podwired at ${c.address} (mutual TLS)`;
}

/** Checks "host:port" / "[v6]:port"; returns an error message or undefined. */
export function remoteAddressProblem(text: string): string | undefined {
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d+)$/.exec(text) ?? /^([A-Za-z0-9.-]+):(\d+)$/.exec(text);
  if (!m) return `--remote must be host:port or [ipv6]:port, got ${JSON.stringify(text)}`;
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `--remote: port ${m[2]} is out of range (1-65535)`;
  return undefined;
}
