import { IpamError, RangeSet, parseRangeSets } from '@podwire/ipam-store';
import { CniCode, CniError } from './cni-error';
import { CniVersion, requireSupportedVersion } from './cni-versions';
import { validateNetworkName } from './cni-invocation';
import { RuntimeConfig, parseRuntimeConfig } from './runtime-config';

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
  mtu: number;
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

function parseIpam(v: unknown): RangeSet[] {
  if (v === undefined) return [];
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
  // No ranges at all: podwired allocates from the node's pod CIDRs (handlers/network-ranges.ts).
  if (v.ranges === undefined && v.subnet === undefined) return [];
  try {
    return parseRangeSets(v.ranges);
  } catch (err) {
    if (err instanceof IpamError) throw new CniError(CniCode.InvalidNetworkConfig, 'invalid ipam ranges', err.message);
    throw err;
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
  const conf: NetConf = {
    cniVersion,
    name,
    type: doc.type,
    rangeSets: parseIpam(doc.ipam),
    mtu,
    runtimeConfig: parseRuntimeConfig(doc.runtimeConfig),
    raw: doc,
  };
  const dns = parseDns(doc.dns);
  if (dns) conf.dns = dns;
  return conf;
}

/** ADD and CHECK need at least one range set. */
export function requireRanges(conf: NetConf): RangeSet[] {
  if (conf.rangeSets.length === 0) {
    throw new CniError(
      CniCode.InvalidNetworkConfig,
      'network configuration has no address ranges',
      'set "ipam": {"ranges": [[{"subnet": "10.22.0.0/16"}]]}',
    );
  }
  return conf.rangeSets;
}
