/**
 * `ipam.routes` in host-local's syntax: `[{"dst": CIDR, "gw"?: IP}]`. When a network config
 * carries it, the pod interface gets exactly these routes (through podwire's gateway unless
 * `gw` is given) and no default route; when it is absent, podwire installs a default route
 * per family as always. Parsing is strict: every bad entry is a code-7 error naming it.
 */
import * as ipaddr from 'ipaddr.js';
import { parseCidrText } from '../ip-text';
import { CniCode, CniError } from './cni-error';

/** One route the network config asks for. */
export interface IpamRoute {
  family: 4 | 6;
  /** Network part of the destination, canonical text ("10.0.0.0", "fd00::"). */
  dst: string;
  dstLen: number;
  /** The next hop when the config names one; podwire's gateway otherwise. */
  gw?: string;
}

/**
 * CNI 1.1 route keys (`mtu`, `advmss`, `priority`, `table`, `scope`) would change what is
 * installed; podwire does not support them, so they are refused rather than ignored.
 */
const UNSUPPORTED_ROUTE_KEYS = ['mtu', 'advmss', 'priority', 'table', 'scope'] as const;

function invalid(msg: string, details: string): CniError {
  return new CniError(CniCode.InvalidNetworkConfig, msg, details);
}

function familyOf(addr: ipaddr.IPv4 | ipaddr.IPv6): 4 | 6 {
  return addr.kind() === 'ipv4' ? 4 : 6;
}

/** Dotted-quad IPv4 only (ipaddr.js also takes "10.1" and hex forms, which Go's parser refuses). */
function isIpText(s: string): boolean {
  return s.includes(':') ? ipaddr.IPv6.isValid(s) : ipaddr.IPv4.isValidFourPartDecimal(s);
}

function isCidrText(s: string): boolean {
  return s.includes(':') ? ipaddr.IPv6.isValidCIDR(s) : ipaddr.IPv4.isValidCIDRFourPartDecimal(s);
}

function parseDst(v: unknown, where: string): Pick<IpamRoute, 'family' | 'dst' | 'dstLen'> {
  if (typeof v !== 'string' || !isCidrText(v)) throw invalid(`${where}.dst must be a CIDR`, `got ${JSON.stringify(v)}`);
  const [addr, len] = parseCidrText(v);
  const family = familyOf(addr);
  const network = family === 4 ? ipaddr.IPv4.networkAddressFromCIDR(v) : ipaddr.IPv6.networkAddressFromCIDR(v);
  if (network.toString() !== addr.toString()) {
    throw invalid(`${where}.dst ${v} has host bits set`, `did you mean ${network.toString()}/${len}?`);
  }
  return { family, dst: network.toString(), dstLen: len };
}

function parseRoute(v: unknown, n: number): IpamRoute {
  const where = `ipam.routes[${n}]`;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`${where} must be an object`, `got ${JSON.stringify(v)}`);
  const entry = v as Record<string, unknown>;
  const unsupported = UNSUPPORTED_ROUTE_KEYS.filter((k) => entry[k] !== undefined);
  if (unsupported.length > 0) {
    throw invalid(
      `${where} sets ${unsupported.map((k) => `"${k}"`).join(', ')}, which podwire does not support`,
      'a podwire route has only "dst" and optionally "gw"',
    );
  }
  const unknown = Object.keys(entry).filter((k) => k !== 'dst' && k !== 'gw' && !(UNSUPPORTED_ROUTE_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0)
    throw invalid(`${where} has unknown key ${unknown.map((k) => `"${k}"`).join(', ')}`, 'a podwire route has only "dst" and optionally "gw"');
  const route: IpamRoute = parseDst(entry.dst, where);
  if (entry.gw !== undefined) {
    if (typeof entry.gw !== 'string' || !isIpText(entry.gw)) throw invalid(`${where}.gw must be an IP address`, `got ${JSON.stringify(entry.gw)}`);
    const gw = ipaddr.parse(entry.gw);
    if (familyOf(gw) !== route.family)
      throw invalid(`${where}.gw ${entry.gw} is not of the family of dst ${String(entry.dst)}`, 'dst and gw must both be IPv4 or both IPv6');
    if (gw.range() === 'unspecified') throw invalid(`${where}.gw ${entry.gw} is the unspecified address`, 'leave "gw" out to route through podwire\'s gateway');
    route.gw = gw.toString();
  }
  return route;
}

/**
 * `ipam.routes`: undefined when absent (the default routes apply), else the parsed list
 * (possibly empty: then the interface gets no route beyond its own addresses).
 */
export function parseIpamRoutes(v: unknown): IpamRoute[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw invalid('"ipam.routes" must be a list', `got ${JSON.stringify(v)}`);
  const routes = v.map((r, n) => parseRoute(r, n));
  const seen = new Map<string, number>();
  routes.forEach((r, n) => {
    const key = `${r.dst}/${r.dstLen}`;
    const first = seen.get(key);
    if (first !== undefined) throw invalid(`ipam.routes[${n}] repeats the destination ${key} of ipam.routes[${first}]`, 'one route per destination');
    seen.set(key, n);
  });
  return routes;
}

/** A route's destination as CNI results spell it ("10.0.0.0/8"). */
export function routeDstText(r: Pick<IpamRoute, 'dst' | 'dstLen'>): string {
  return `${r.dst}/${r.dstLen}`;
}
