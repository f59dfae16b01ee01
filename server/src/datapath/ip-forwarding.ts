import * as fs from 'node:fs';

const SYSCTL = { 4: 'net/ipv4/ip_forward', 6: 'net/ipv6/conf/all/forwarding' } as const;

/**
 * Routed pods need the host to forward between veths. Sets the family's forwarding sysctl to
 * 1 in the server's network namespace unless it already is; returns whether it changed
 * anything. IPv6 forwarding is only switched on when the first IPv6 pod is wired (with
 * forwarding on, the kernel ignores router advertisements on interfaces with accept_ra=1).
 */
export function enableForwarding(family: 4 | 6, procSys = '/proc/sys'): boolean {
  const file = `${procSys}/${SYSCTL[family]}`;
  if (fs.readFileSync(file, 'utf8').trim() === '1') return false;
  fs.writeFileSync(file, '1\n');
  return true;
}
