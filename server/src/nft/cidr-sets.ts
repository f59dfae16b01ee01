import * as ipaddr from 'ipaddr.js';
import { parseCidrText } from '../ip-text';
import type { NftExpr } from './nft-json';
import type { Family } from './table-layout';

/** CIDRs of one family in canonical text ("10.1.0.0/16"), none inside another, sorted. */
export type CidrList = string[];

/**
 * Splits CIDR texts by family and normalises each family's list for an interval set without
 * auto-merge: host bits cleared, duplicates and CIDRs inside another dropped (two CIDRs nest
 * or are disjoint, so what is left never overlaps; the kernel refuses overlapping elements).
 * A bare address is its /32 (/128). Throws RangeError for a text that is no CIDR or address.
 */
export function normaliseCidrs(texts: Iterable<string>): Record<Family, CidrList> {
  const parsed: Record<Family, Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>> = { 4: [], 6: [] };
  for (const text of texts) {
    let cidr: [ipaddr.IPv4 | ipaddr.IPv6, number];
    try {
      cidr = text.includes('/') ? parseCidrText(text) : bareAddress(text);
    } catch {
      throw new RangeError(`${JSON.stringify(text)} is not a CIDR`);
    }
    parsed[cidr[0].kind() === 'ipv4' ? 4 : 6].push(cidr);
  }
  return { 4: keepOutermost(parsed[4]), 6: keepOutermost(parsed[6]) };
}

function bareAddress(text: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  const addr = ipaddr.parse(text);
  return [addr, addr.kind() === 'ipv4' ? 32 : 128];
}

function keepOutermost(cidrs: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>): CidrList {
  // Widest first: each CIDR is kept unless one already kept contains it.
  const sorted = [...cidrs].sort((a, b) => a[1] - b[1]);
  const kept: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> = [];
  for (const [addr, len] of sorted) {
    if (kept.some(([k, klen]) => (addr as ipaddr.IPv4).match(k as ipaddr.IPv4, klen))) continue;
    kept.push([networkOf(addr, len), len]);
  }
  return kept.map(([a, len]) => `${a.toString()}/${len}`).sort();
}

function networkOf(addr: ipaddr.IPv4 | ipaddr.IPv6, len: number): ipaddr.IPv4 | ipaddr.IPv6 {
  return addr.kind() === 'ipv4'
    ? ipaddr.IPv4.networkAddressFromCIDR(`${addr.toString()}/${len}`)
    : ipaddr.IPv6.networkAddressFromCIDR(`${addr.toString()}/${len}`);
}

/** The interval set element of a normalised CIDR. */
export function cidrElement(cidr: string): NftExpr {
  const [addr, len] = cidr.split('/');
  return { prefix: { addr, len: Number(len) } };
}

/** What turns `from` into `to`: elements to delete and to add (both normalised lists). */
export function cidrDelta(from: CidrList, to: CidrList): { remove: CidrList; add: CidrList } {
  const f = new Set(from);
  const t = new Set(to);
  return { remove: from.filter((c) => !t.has(c)), add: to.filter((c) => !f.has(c)) };
}
