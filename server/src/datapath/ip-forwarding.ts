import * as fs from 'node:fs';

/**
 * Routed pods need the host to forward between veths. Sets net.ipv4.ip_forward=1 in the
 * server's network namespace unless it already is; returns whether it changed anything.
 */
export function enableIpv4Forwarding(procSys = '/proc/sys'): boolean {
  const file = `${procSys}/net/ipv4/ip_forward`;
  if (fs.readFileSync(file, 'utf8').trim() === '1') return false;
  fs.writeFileSync(file, '1\n');
  return true;
}
