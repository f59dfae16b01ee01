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
