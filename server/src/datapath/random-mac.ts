import { randomBytes } from 'node:crypto';

/**
 * A random locally administered unicast MAC ("x2:…", "x6:…", "xa:…", "xe:…"), as the kernel's
 * eth_random_addr makes one: podwire chooses the pod end's MAC itself, so the result needs no
 * lookup after the veth is created.
 */
export function randomMac(): string {
  const b = randomBytes(6);
  b[0] = ((b[0] ?? 0) & 0xfe) | 0x02; // unicast, locally administered
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}
