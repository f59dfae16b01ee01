/**
 * How podwire names and marks the links it creates, so that it finds them again and never
 * takes anyone else's: the host end's derived name, the provisional name it has until ADD
 * names it, the name a DEL gives it, the owner tag in its alias, and the pod end's MAC.
 */
import { createHash, randomFillSync } from 'node:crypto';

/**
 * Random bytes drawn in bulk (one randomFillSync per 1,536 bytes): every ADD takes 12 (a
 * provisional name, a MAC), and randomBytes() per call was a measurable share of the
 * datapath thread's time in its CPU profile.
 */
const pool = Buffer.alloc(6 * 256);
let used = pool.length;

function random6(): Buffer {
  if (used + 6 > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const b = pool.subarray(used, used + 6);
  used += 6;
  return b;
}

function hex(b: Uint8Array, sep: string): string {
  let out = '';
  for (let i = 0; i < b.length; i++) out += (i === 0 ? '' : sep) + (b[i] ?? 0).toString(16).padStart(2, '0');
  return out;
}

/** Prefix of every host-side veth name an ADD derives (reconcile and GC look for it). */
export const HOST_VETH_PREFIX = 'pw';

/**
 * The host end's name: "pw" + 12 hex digits of sha256(network, container id, ifname),
 * 14 characters (the kernel allows 15). Deterministic, so DEL and GC find the link from the
 * attachment key alone, even when the store lost track of it.
 */
export function hostVethName(network: string, containerId: string, ifname: string): string {
  const digest = createHash('sha256').update(`${network}\0${containerId}\0${ifname}`).digest('hex');
  return HOST_VETH_PREFIX + digest.slice(0, 12);
}

/**
 * The name a host end has from its creation until ADD's second write gives it the derived
 * one: random (48 bits), so the owner tag, written by name in the creating write, can only
 * land on the link that write made; and never a name an ADD derives ("pw…") or a detach
 * gives ("pz…").
 */
export function provisionalName(): string {
  return `py${hex(random6(), '')}`;
}

/** The name a detached host end gets: unique (by index), and not a name any ADD derives ("pw…"). */
export function detachedName(index: number): string {
  return `pz${index.toString(16)}`;
}

/** A name a DEL or GC gave a host end (detachedName()). */
export function isDetachedName(name: string): boolean {
  return /^pz[0-9a-f]+$/.test(name);
}

/** The alias marking a host end as created by the server with this owner tag (reconcile removes only its own). */
export function ownerAlias(ownerTag: string): string {
  return `podwire:${ownerTag}`;
}

/**
 * A random locally administered unicast MAC ("x2:…", "x6:…", "xa:…", "xe:…"), as the kernel's
 * eth_random_addr makes one: podwire chooses the pod end's MAC itself, so the result needs no
 * lookup after the veth is created.
 */
export function randomMac(): string {
  const b = Uint8Array.from(random6());
  b[0] = ((b[0] ?? 0) & 0xfe) | 0x02; // unicast, locally administered
  return hex(b, ':');
}
