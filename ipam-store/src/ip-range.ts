/**
 * Parsing and validation of host-local style IPAM ranges:
 *
 *   "ipam": { "ranges": [ [ {subnet, rangeStart?, rangeEnd?, gateway?}, ... ], [ ... ] ] }
 *
 * Each outer entry is a range set; an ADD gets one address from each set.
 * The legacy host-local single-range form ("ipam": {"subnet": ..., "rangeStart": ...})
 * is accepted too and becomes the first set, as host-local does.
 */
import { IpamError } from './ipam-error';
import { type IpFamily, type IpValue, familyBits, formatIp, parseIp, prefixMask } from './ip-address';

/** One validated range. Addresses are canonical text; the BigInt fields drive allocation. */
export interface IpRange {
  readonly family: IpFamily;
  /** Canonical CIDR, e.g. "10.22.0.0/16". */
  readonly subnet: string;
  readonly prefixLength: number;
  readonly rangeStart: string;
  readonly rangeEnd: string;
  readonly gateway?: string;
  /** Numeric rangeStart / rangeEnd (inclusive). */
  readonly first: bigint;
  readonly last: bigint;
  /**
   * Addresses inside [first, last] that are never allocated, ascending:
   * the subnet's network address, the IPv4 broadcast address, and the gateway
   * of every range in the configuration.
   */
  readonly reserved: readonly bigint[];
  /** Number of allocatable addresses: last - first + 1 - reserved.length. */
  readonly size: bigint;
}

export interface RangeSet {
  /** Position of the set in the configuration (Lease.setIndex). */
  readonly index: number;
  readonly family: IpFamily;
  /**
   * Canonical identity of the set, e.g. "10.22.0.0/16:10.22.1.10-10.22.1.200,...".
   * Keys the round-robin cursor; gateways are not part of it.
   */
  readonly id: string;
  /** Ranges in configuration order (the order allocation tries them in). */
  readonly ranges: readonly IpRange[];
  /** Allocatable addresses in the whole set. */
  readonly size: bigint;
}

interface ParsedCidr {
  readonly family: IpFamily;
  readonly network: bigint;
  readonly prefixLength: number;
}

/** Range with everything but `reserved`/`size`, which need the whole configuration. */
type DraftRange = Omit<IpRange, 'reserved' | 'size'> & { readonly network: bigint; readonly path: string };

function invalid(message: string): IpamError {
  return new IpamError('invalid-range', message);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(JSON.stringify(v) ?? v);
}

function parseCidr(text: string, path: string): ParsedCidr {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? '' : text.slice(slash + 1);
  const addr = parseIp(addrText);
  if (addr === undefined || !/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) {
    throw invalid(`${path}.subnet ${show(text)} is not a CIDR (expected e.g. "10.22.0.0/16")`);
  }
  const prefixLength = Number(prefixText);
  if (prefixLength > familyBits(addr.family)) {
    throw invalid(`${path}.subnet ${show(text)} has prefix length ${prefixLength}, more than ${familyBits(addr.family)}`);
  }
  const network = addr.value & prefixMask(addr.family, prefixLength);
  if (network !== addr.value) {
    throw invalid(`${path}.subnet ${text} has host bits set (did you mean ${formatIp(addr.family, network)}/${prefixLength}?)`);
  }
  return { family: addr.family, network, prefixLength };
}

function parseAddressField(
  entry: Record<string, unknown>,
  field: 'rangeStart' | 'rangeEnd' | 'gateway',
  path: string,
  cidr: ParsedCidr,
  subnetText: string,
): bigint | undefined {
  const raw = entry[field];
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (typeof raw !== 'string') throw invalid(`${path}.${field} ${show(raw)} is not a string`);
  const ip = parseIp(raw);
  if (ip === undefined) throw invalid(`${path}.${field} ${show(raw)} is not an IP address`);
  if (ip.family !== cidr.family) {
    throw invalid(`${path}.${field} ${raw} is IPv${ip.family} but subnet ${subnetText} is IPv${cidr.family}`);
  }
  if ((ip.value & prefixMask(cidr.family, cidr.prefixLength)) !== cidr.network) {
    throw invalid(`${path}.${field} ${raw} is not inside subnet ${subnetText}`);
  }
  return ip.value;
}

function parseRange(raw: unknown, path: string): DraftRange {
  if (!isRecord(raw)) throw invalid(`${path} must be an object with a "subnet", got ${show(raw)}`);
  const subnetRaw = raw.subnet;
  if (typeof subnetRaw !== 'string' || subnetRaw === '') {
    throw invalid(`${path}.subnet is required and must be a CIDR string, got ${show(subnetRaw)}`);
  }
  const cidr = parseCidr(subnetRaw, path);
  const { family, network, prefixLength } = cidr;
  const subnet = `${formatIp(family, network)}/${prefixLength}`;
  const hostBits = BigInt(familyBits(family) - prefixLength);
  const lastInSubnet = network | ((1n << hostBits) - 1n);
  // Usable = everything but the network address, and for IPv4 the broadcast too.
  const lastUsable = family === 4 ? lastInSubnet - 1n : lastInSubnet;
  if (lastUsable < network + 1n) {
    throw invalid(`${path}.subnet ${subnet} has no usable address`);
  }

  const start = parseAddressField(raw, 'rangeStart', path, cidr, subnet) ?? network + 1n;
  const end = parseAddressField(raw, 'rangeEnd', path, cidr, subnet) ?? lastUsable;
  const gateway = parseAddressField(raw, 'gateway', path, cidr, subnet);
  if (start > end) {
    throw invalid(`${path}.rangeStart ${formatIp(family, start)} is after rangeEnd ${formatIp(family, end)}`);
  }
  if (gateway !== undefined && (gateway === network || (family === 4 && gateway === lastInSubnet))) {
    throw invalid(`${path}.gateway ${formatIp(family, gateway)} is the ${gateway === network ? 'network' : 'broadcast'} address of ${subnet}`);
  }
  const draft: DraftRange = {
    family,
    subnet,
    prefixLength,
    rangeStart: formatIp(family, start),
    rangeEnd: formatIp(family, end),
    first: start,
    last: end,
    network,
    path,
  };
  return gateway === undefined ? draft : { ...draft, gateway: formatIp(family, gateway) };
}

function overlaps(a: DraftRange, b: DraftRange): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

function describe(r: DraftRange): string {
  return `${r.path} (${r.subnet} ${r.rangeStart}-${r.rangeEnd})`;
}

/** Canonical identity string of a set of ranges. */
export function rangeSetId(ranges: readonly Pick<IpRange, 'subnet' | 'rangeStart' | 'rangeEnd'>[]): string {
  return ranges.map((r) => `${r.subnet}:${r.rangeStart}-${r.rangeEnd}`).join(',');
}

function finish(draft: DraftRange, gateways: readonly IpValue[]): IpRange {
  const candidates = new Set<bigint>([draft.network]);
  if (draft.family === 4) {
    const hostBits = BigInt(32 - draft.prefixLength);
    candidates.add(draft.network | ((1n << hostBits) - 1n));
  }
  for (const g of gateways) if (g.family === draft.family) candidates.add(g.value);
  const reserved = [...candidates].filter((v) => v >= draft.first && v <= draft.last).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const size = draft.last - draft.first + 1n - BigInt(reserved.length);
  if (size <= 0n) {
    throw invalid(
      `${draft.path} (${draft.rangeStart}-${draft.rangeEnd} in ${draft.subnet}) has no usable address` +
        ' once the network, broadcast and gateway addresses are excluded',
    );
  }
  const { network: _network, path: _path, ...range } = draft;
  return { ...range, reserved, size };
}

/**
 * Validate an IPAM configuration and return its range sets.
 *
 * Accepts the `ipam` object (`{ "ranges": [[...], ...] }`, optionally with the
 * legacy top-level `subnet`/`rangeStart`/`rangeEnd`/`gateway`), or the
 * `ranges` array itself. Throws IpamError('invalid-range') naming the field and value.
 */
export function parseRangeSets(raw: unknown): RangeSet[] {
  let rawSets: unknown[];
  let legacy: Record<string, unknown> | undefined;
  if (Array.isArray(raw)) {
    rawSets = raw;
  } else if (isRecord(raw)) {
    const ranges = raw.ranges;
    if (ranges !== undefined && !Array.isArray(ranges)) {
      throw invalid(`ranges must be an array of range sets, got ${show(ranges)}`);
    }
    rawSets = ranges ?? [];
    if (raw.subnet !== undefined) legacy = raw;
  } else {
    throw invalid(`ipam configuration must be an object with "ranges", got ${show(raw)}`);
  }

  const drafts: DraftRange[][] = [];
  if (legacy !== undefined) drafts.push([parseRange(legacy, 'ipam')]);
  rawSets.forEach((rawSet, i) => {
    const path = `ranges[${i}]`;
    if (!Array.isArray(rawSet)) throw invalid(`${path} must be an array of ranges, got ${show(rawSet)}`);
    if (rawSet.length === 0) throw invalid(`${path} is empty; a range set needs at least one range`);
    drafts.push(rawSet.map((r, j) => parseRange(r, `${path}[${j}]`)));
  });
  if (drafts.length === 0) throw invalid('ranges must contain at least one range set');

  for (const set of drafts) {
    const first = set[0];
    for (const r of set) {
      if (first !== undefined && r.family !== first.family) {
        throw invalid(`${describe(r)} is IPv${r.family} but ${describe(first)} in the same set is IPv${first.family}`);
      }
    }
  }
  const all = drafts.flat();
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      const a = all[i];
      const b = all[j];
      if (a !== undefined && b !== undefined && overlaps(a, b)) {
        throw invalid(`${describe(a)} overlaps ${describe(b)}`);
      }
    }
  }

  const gateways: IpValue[] = [];
  for (const r of all) {
    if (r.gateway !== undefined) {
      const g = parseIp(r.gateway);
      if (g !== undefined) gateways.push(g);
    }
  }
  return drafts.map((set, index): RangeSet => {
    const ranges = set.map((d) => finish(d, gateways));
    return {
      index,
      family: ranges[0]?.family ?? 4,
      id: rangeSetId(ranges),
      ranges,
      size: ranges.reduce((n, r) => n + r.size, 0n),
    };
  });
}

/** The range of the set that contains the address, if any. */
export function findRange(set: RangeSet, family: IpFamily, value: bigint): IpRange | undefined {
  if (family !== set.family) return undefined;
  return set.ranges.find((r) => value >= r.first && value <= r.last);
}

/** Human-readable list of a set's ranges, for error messages. */
export function describeRangeSet(set: RangeSet): string {
  return set.ranges.map((r) => `${r.rangeStart}-${r.rangeEnd} (${r.subnet})`).join(', ');
}
