import * as ipaddr from 'ipaddr.js';

/**
 * A CIDR's address and prefix length, like ipaddr.parseCIDR but with the family chosen from
 * the text (a colon: IPv6). ipaddr.parseCIDR tries IPv6 first and catches the error it
 * throws for every IPv4 text; building that error's stack made it the larger part of
 * reconcile's time per pod and a share of every ADD (README "Measured"). Throws for an invalid
 * text, as ipaddr.parseCIDR does.
 */
export function parseCidrText(text: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  return text.includes(':') ? ipaddr.IPv6.parseCIDR(text) : ipaddr.IPv4.parseCIDR(text);
}

/**
 * The canonical text of the network an address of a `prefixLength` subnet belongs to
 * ("10.22.1.7", 16 -> "10.22.0.0/16"), as ipaddr's networkAddressFromCIDR gives it. IPv4 by
 * integer arithmetic on the dotted quad (start-up does this for every lease: parsing each
 * with ipaddr cost ~10 µs a lease); IPv6 through ipaddr. Throws for an invalid address.
 */
export function networkCidrText(address: string, prefixLength: number): string {
  if (address.includes(':')) return `${ipaddr.IPv6.networkAddressFromCIDR(`${address}/${prefixLength}`).toString()}/${prefixLength}`;
  const parts = address.split('.');
  if (parts.length !== 4 || !Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
    return `${ipaddr.IPv4.networkAddressFromCIDR(`${address}/${prefixLength}`).toString()}/${prefixLength}`;
  }
  let value = 0;
  for (const p of parts) {
    const octet = Number(p);
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || octet > 255) return `${ipaddr.IPv4.networkAddressFromCIDR(`${address}/${prefixLength}`).toString()}/${prefixLength}`;
    value = value * 256 + octet;
  }
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  const net = (value & mask) >>> 0;
  return `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${prefixLength}`;
}
