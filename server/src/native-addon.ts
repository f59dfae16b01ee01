import * as path from 'node:path';

export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

interface PodwireNative {
  /** Moves the calling thread into the network namespace `fd` refers to. Throws on failure. */
  setns(fd: number): void;
  /** SO_PEERCRED of a connected unix socket. Throws on failure. */
  peerCred(fd: number): PeerCred;
  /** flock(fd, LOCK_EX | LOCK_NB): true when taken, false when another open file holds it. Throws on other failures. */
  flockExclusive(fd: number): boolean;
}

// Built by server/build.sh into server/native/build/Release; this file runs from server/dist.
const addonPath = path.join(__dirname, '..', 'native', 'build', 'Release', 'podwire_native.node');

export const nativeAddon: PodwireNative = require(addonPath) as PodwireNative;
