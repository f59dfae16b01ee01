import * as ipaddr from 'ipaddr.js';
import { ConfigError } from './config-errors';

export interface ListenAddress {
  host: string;
  port: number;
  /** "host:port", with brackets around an IPv6 host. */
  text: string;
}

/** Parses "host:port" or "[v6]:port"; the host must be an IP address (no name lookups). Port 0 picks a free port. */
export function parseListenAddress(text: string, field: string): ListenAddress {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  if (!m) throw new ConfigError(`"${field}" must be "ip:port" or "[ipv6]:port", got ${JSON.stringify(text)}`);
  const host = m[1]!;
  const port = Number(m[2]);
  if (!ipaddr.isValid(host)) throw new ConfigError(`"${field}": ${JSON.stringify(host)} is not an IP address`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`"${field}": port ${m[2]} is out of range`);
  const canonical = ipaddr.parse(host).toString();
  return { host: canonical, port, text: canonical.includes(':') ? `[${canonical}]:${port}` : `${canonical}:${port}` };
}
