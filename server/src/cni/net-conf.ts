import { IpamError, type RangeSet, parseRangeSets } from '@podwire/ipam-store';
import { CniCode, CniError } from './cni-error';
import { type CniVersion, requireSupportedVersion } from './cni-versions';
import { validateNetworkName } from './cni-invocation';
import { type RuntimeConfig, parseRuntimeConfig } from './runtime-config';
import { type IpamRoute, parseIpamRoutes } from './ipam-routes';

export interface DnsConfig {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A podwire network configuration (one plugin entry of a conflist, as the runtime sends it). */
export interface NetConf {
  cniVersion: CniVersion;
  name: string;
  type: string;
  /** One entry per range set: ADD takes one address from each. Empty when the config has no ipam ranges (the node's pod CIDRs are used). */
  rangeSets: RangeSet[];
  /**
   * `ipam.routes` (host-local syntax): when present the pod interface gets exactly these routes
   * and no default route; undefined when absent (a default route per family, as always).
   */
  routes?: IpamRoute[];
  mtu: number;
  /** True when the document gave `mtu` (otherwise `mtu` is the default, which the encapsulation may lower). */
  mtuGiven?: boolean;
  dns?: DnsConfig;
  runtimeConfig: RuntimeConfig;
  /** The whole parsed document, for verb-specific keys (runtimeConfig, prevResult, cni.dev/...). */
  raw: Record<string, unknown>;
}

export const DEFAULT_MTU = 1500;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(v: unknown, field: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new CniError(CniCode.InvalidNetworkConfig, `"${field}" must be a list of strings`, `got ${JSON.stringify(v)}`);
  }
  return v as string[];
}

function parseDns(v: unknown): DnsConfig | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) throw new CniError(CniCode.InvalidNetworkConfig, '"dns" must be an object', `got ${JSON.stringify(v)}`);
  if (v.domain !== undefined && typeof v.domain !== 'string') {
    throw new CniError(CniCode.InvalidNetworkConfig, '"dns.domain" must be a string', `got ${JSON.stringify(v.domain)}`);
  }
  const dns: DnsConfig = {};
  const nameservers = stringList(v.nameservers, 'dns.nameservers');
  const search = stringList(v.search, 'dns.search');
  const options = stringList(v.options, 'dns.options');
  if (nameservers) dns.nameservers = nameservers;
  if (typeof v.domain === 'string') dns.domain = v.domain;
  if (search) dns.search = search;
  if (options) dns.options = options;
  return dns;
}

/** `ipam` keys podwire reads. */
const IPAM_KEYS = ['type', 'ranges', 'routes'] as const;
/**
 * `ipam` keys a bridge/ptp + host-local config carries that make no difference to podwire
 * (its lease store replaces host-local's data directory; the result's DNS comes from the
 * network config's "dns"): accepted and ignored.
 */
export const IGNORED_IPAM_KEYS = ['dataDir', 'resolvConf', 'name'] as const;
/** host-local's legacy single-range keys: they would set the range, so they are refused rather than ignored. */
const LEGACY_RANGE_KEYS = ['subnet', 'rangeStart', 'rangeEnd', 'gateway'] as const;

function checkIpamKeys(v: Record<string, unknown>): void {
  const legacy = LEGACY_RANGE_KEYS.filter((k) => v[k] !== undefined);
  if (legacy.length > 0) {
    throw new CniError(
      CniCode.InvalidNetworkConfig,
      `unsupported ipam key ${legacy.map((k) => `"${k}"`).join(', ')}`,
      'host-local\'s legacy single-range form is not supported: write it as "ranges": [[{"subnet": ..., "rangeStart": ..., "rangeEnd": ..., "gateway": ...}]]',
    );
  }
  const known: readonly string[] = [...IPAM_KEYS, ...IGNORED_IPAM_KEYS];
  const unknown = Object.keys(v).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new CniError(
      CniCode.InvalidNetworkConfig,
      `unsupported ipam key ${unknown.map((k) => `"${k}"`).join(', ')}`,
      `podwire reads "ipam" keys ${IPAM_KEYS.map((k) => `"${k}"`).join(', ')} and ignores ${IGNORED_IPAM_KEYS.map((k) => `"${k}"`).join(', ')}`,
    );
  }
}

function parseIpam(v: unknown): { rangeSets: RangeSet[]; routes?: IpamRoute[] } {
  if (v === undefined) return { rangeSets: [] };
  if (!isObject(v)) throw new CniError(CniCode.InvalidNetworkConfig, '"ipam" must be an object', `got ${JSON.stringify(v)}`);
  // podwire allocates addresses itself; the host-local syntax is accepted so a bridge+host-local
  // config can be switched over by changing "type" only.
  if (v.type !== undefined && v.type !== 'podwire' && v.type !== 'host-local') {
    throw new CniError(
      CniCode.UnsupportedField,
      `unsupported ipam type ${JSON.stringify(v.type)}`,
      'podwire allocates addresses itself: leave "ipam.type" out, or set it to "podwire" or "host-local"',
    );
  }
  checkIpamKeys(v);
  const routes = parseIpamRoutes(v.routes);
  // No ranges at all: podwired allocates from the node's pod CIDRs (handlers/network-ranges.ts).
  if (v.ranges === undefined) return routes ? { rangeSets: [], routes } : { rangeSets: [] };
  try {
    const rangeSets = parseRangeSets(v.ranges);
    return routes ? { rangeSets, routes } : { rangeSets };
  } catch (err) {
    if (err instanceof IpamError) throw new CniError(CniCode.InvalidNetworkConfig, 'invalid ipam ranges', err.message);
    throw err;
  }
}

/**
 * A route of a family the ranges give no address of could never be installed: refused before
 * anything is leased. (Without ranges the node's pod CIDRs decide; the datapath checks then.)
 */
function requireRouteFamiliesInRanges(routes: readonly IpamRoute[], rangeSets: readonly RangeSet[]): void {
  if (rangeSets.length === 0) return;
  const families = new Set<number>(rangeSets.map((r) => r.family));
  const n = routes.findIndex((r) => !families.has(r.family));
  const route = routes[n];
  if (route) {
    throw new CniError(
      CniCode.InvalidNetworkConfig,
      `ipam.routes[${n}] is an IPv${route.family} route but ipam.ranges give no IPv${route.family} address`,
      `route to ${route.dst}/${route.dstLen}`,
    );
  }
}

/** Parses and validates the stdin network configuration. */
export function parseNetConf(bytes: Buffer): NetConf {
  return netConfFromDocument(parseConfigDocument(bytes));
}

/** The stdin bytes as JSON (any JSON value); a CniError (code 6) when they are empty or not JSON. */
export function parseConfigDocument(bytes: Buffer): unknown {
  if (bytes.length === 0) {
    throw new CniError(CniCode.DecodeFailure, 'empty network configuration', 'the runtime must send the network configuration on stdin');
  }
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (err) {
    throw new CniError(CniCode.DecodeFailure, 'network configuration is not valid JSON', err instanceof Error ? err.message : String(err));
  }
}

/** Validates a parsed network configuration document. */
export function netConfFromDocument(doc: unknown): NetConf {
  if (!isObject(doc)) {
    throw new CniError(CniCode.DecodeFailure, 'network configuration must be a JSON object', `got ${JSON.stringify(doc).slice(0, 80)}`);
  }
  if (typeof doc.cniVersion !== 'string' || doc.cniVersion === '') {
    throw new CniError(CniCode.InvalidNetworkConfig, 'network configuration has no "cniVersion"', 'a string "cniVersion" is required');
  }
  const cniVersion = requireSupportedVersion(doc.cniVersion);
  const name = validateNetworkName(doc.name);
  if (typeof doc.type !== 'string' || doc.type === '') {
    throw new CniError(CniCode.InvalidNetworkConfig, 'network configuration has no "type"', 'a string "type" is required');
  }
  let mtu = DEFAULT_MTU;
  if (doc.mtu !== undefined) {
    if (typeof doc.mtu !== 'number' || !Number.isInteger(doc.mtu) || doc.mtu < 68 || doc.mtu > 65535) {
      throw new CniError(CniCode.InvalidNetworkConfig, `invalid "mtu" ${JSON.stringify(doc.mtu)}`, 'mtu must be an integer from 68 to 65535');
    }
    mtu = doc.mtu;
  }
  const ipam = parseIpam(doc.ipam);
  const conf: NetConf = {
    cniVersion,
    name,
    type: doc.type,
    rangeSets: ipam.rangeSets,
    mtu,
    ...(doc.mtu !== undefined ? { mtuGiven: true } : {}),
    runtimeConfig: parseRuntimeConfig(doc.runtimeConfig),
    raw: doc,
  };
  if (ipam.routes) {
    requireRouteFamiliesInRanges(ipam.routes, ipam.rangeSets);
    conf.routes = ipam.routes;
  }
  const dns = parseDns(doc.dns);
  if (dns) conf.dns = dns;
  return conf;
}

/** ADD and CHECK need at least one range set. */
export function requireRanges(conf: NetConf): RangeSet[] {
  if (conf.rangeSets.length === 0) {
    throw new CniError(CniCode.InvalidNetworkConfig, 'network configuration has no address ranges', 'set "ipam": {"ranges": [[{"subnet": "10.22.0.0/16"}]]}');
  }
  return conf.rangeSets;
}
