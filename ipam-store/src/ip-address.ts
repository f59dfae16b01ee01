/**
 * IP address <-> BigInt conversions and the fixed-width sortable key the
 * store indexes leases by. Parsing is strict: IPv4 must be four-part decimal
 * without leading zeros, IPv6 must not carry a zone id.
 */
import ipaddr from 'ipaddr.js';

export type IpFamily = 4 | 6;

export interface IpValue {
  readonly family: IpFamily;
  readonly value: bigint;
}

/** Number of bits in an address of the family. */
export function familyBits(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

/** Parse a plain IP address ("10.22.1.7", "fd00::5"); undefined if it is not one. */
export function parseIp(text: string): IpValue | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    let value = 0n;
    for (const octet of ipaddr.IPv4.parse(text).octets) value = (value << 8n) | BigInt(octet);
    return { family: 4, value };
  }
  if (!text.includes('%') && !text.includes('/') && ipaddr.IPv6.isValid(text)) {
    let value = 0n;
    for (const part of ipaddr.IPv6.parse(text).parts) value = (value << 16n) | BigInt(part);
    return { family: 6, value };
  }
  return undefined;
}

/** Canonical text of an address: dotted quad for IPv4, RFC 5952 for IPv6. */
export function formatIp(family: IpFamily, value: bigint): string {
  if (family === 4) {
    const octets: number[] = [];
    for (let shift = 24n; shift >= 0n; shift -= 8n) octets.push(Number((value >> shift) & 0xffn));
    return octets.join('.');
  }
  const parts: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) parts.push(Number((value >> shift) & 0xffffn));
  return new ipaddr.IPv6(parts).toRFC5952String();
}

/**
 * Sortable, fixed-width key: "4:" + 8 lowercase hex digits, or "6:" + 32.
 * Keys of one family compare as strings in address order, and every IPv4 key
 * sorts before every IPv6 key, so a range scan never crosses families.
 */
export function addressKey(family: IpFamily, value: bigint): string {
  return `${family}:${value.toString(16).padStart(family === 4 ? 8 : 32, '0')}`;
}

/** Inverse of addressKey. */
export function parseAddressKey(key: string): IpValue {
  const family: IpFamily = key.startsWith('4:') ? 4 : 6;
  return { family, value: BigInt(`0x${key.slice(2)}`) };
}

/** The netmask of a prefix length as a BigInt. */
export function prefixMask(family: IpFamily, prefixLength: number): bigint {
  const bits = BigInt(familyBits(family));
  const hostBits = bits - BigInt(prefixLength);
  return ((1n << bits) - 1n) ^ ((1n << hostBits) - 1n);
}
