/**
 * How podwire names and marks the links it creates, so that it finds them again and never
 * takes anyone else's: the host end's derived name, the name a DEL gives it, the owner tag
 * (its interface group from creation on, its alias from ADD's second write on), and the pod
 * end's MAC.
 */
import { createHash, randomFillSync } from 'node:crypto';

/**
 * Random bytes drawn in bulk (one randomFillSync per 1,536 bytes): every ADD takes 6 (a
 * MAC), and randomBytes() per call was a measurable share of the
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
 * Interface groups that mark a host end from the very request creating it (the kernel takes
 * IFLA_GROUP in RTM_NEWLINK, but not IFLA_IFALIAS): 0x60000000 plus 28 bits of
 * sha256(owner tag). Apart from the default group 0 and from the range the batched deletes
 * move links into (DELETE_GROUP_BASE below).
 */
const OWNER_GROUP_BASE = 0x60000000;

/** The interface group a host end of the server with this owner tag is created in. */
export function ownerGroup(ownerTag: string): number {
  const digest = createHash('sha256').update(ownerTag).digest();
  return OWNER_GROUP_BASE + (digest.readUInt32BE(0) >>> 4);
}

/** How a server marks the host ends it creates: its alias, and the group they are created in. */
export interface LinkOwner {
  alias: string;
  group: number;
}

export function linkOwner(ownerTag: string): LinkOwner {
  return { alias: ownerAlias(ownerTag), group: ownerGroup(ownerTag) };
}

/**
 * The interface groups batched deletes move links into before deleting the whole group with
 * one request (batching-host-programmer.ts): 0x50000000 plus a random 24 bits per batch, a
 * range no distribution or CNI assigns.
 */
export const DELETE_GROUP_BASE = 0x50000000;
export const DELETE_GROUP_SPAN = 0x01000000;

/** True for a group of the batched deletes' range. */
export function isDeleteGroup(group: number): boolean {
  return group >= DELETE_GROUP_BASE && group < DELETE_GROUP_BASE + DELETE_GROUP_SPAN;
}

/**
 * True for a link `owner` created: it carries the owner's alias, or it has no alias yet and is
 * in the owner's group (a crash between the creating write and the one setting the alias left
 * it so), or it has no alias and sits in a delete group (a crash between a batched delete's
 * move and its group delete left a host end that never got its alias: whoever moved it there
 * was deleting it, so removing it does what its owner asked; left alone, it would hold its
 * attachment's derived name for good). A link with any other alias is never the owner's,
 * whatever its group.
 */
export function ownedBy(link: { alias: string; group: number }, owner: LinkOwner): boolean {
  return link.alias === owner.alias || (link.alias === '' && (link.group === owner.group || isDeleteGroup(link.group)));
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
