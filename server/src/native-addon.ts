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
  /**
   * A new libnftables context (JSON commands and output, buffered errors), its netlink socket
   * opened in the calling thread's network namespace. Use it only on the creating thread.
   */
  nftCreate(): NftNativeContext;
  /**
   * Runs `commands` (a JSON `{"nftables": [...]}` document) as one transaction: all or nothing.
   * Returns libnftables' output ("" when nothing is printed); throws an Error whose message
   * (and `.nftError`) is libnftables' error text, the kernel's reason included.
   */
  nftRun(ctx: NftNativeContext, commands: string): string;
  /** Frees the context now (idempotent); nftRun on it throws afterwards. */
  nftFree(ctx: NftNativeContext): void;
  /**
   * Sends an nfnetlink batch framed by the caller (nft/element-batch.ts) on the context's own
   * netlink socket and waits for the kernel's answer to its `count` messages numbered from
   * `firstSeq`: applied whole or not at all. Throws like nftRun when the kernel refuses it;
   * false (nothing sent) when the context has no socket of its own.
   */
  nftBatch(ctx: NftNativeContext, batch: Uint8Array, firstSeq: number, count: number): boolean;
  /**
   * A NETLINK_ROUTE socket in the calling thread's network namespace (close-on-exec, bound:
   * `port` is the one the kernel picked), its receive buffer asked to be `rcvbuf` bytes (best
   * effort). Closed with rtnlClose(fd).
   */
  rtnlOpen(rcvbuf: number): { fd: number; port: number };
  /** Closes a socket from rtnlOpen (fs.closeSync would warn, in a worker, about an fd Node did not open). */
  rtnlClose(fd: number): void;
  /**
   * Writes `frames` (whole netlink messages, one sendmsg(2); null: nothing) and returns every
   * datagram then queued on the socket, concatenated: rtnetlink answers a request inside the
   * write itself, and makes a dump's next part as its previous one is read. Waits up to
   * `waitMs` for a first datagram when none is queued (0: not at all; an empty Buffer then).
   * Throws an Error carrying .errno when the write or a read fails (ENOBUFS: replies lost).
   */
  rtnlExchange(fd: number, frames: Uint8Array | null, waitMs: number): Buffer;
  /** fstatfs(2)'s f_type for the file `fd` refers to (an O_PATH fd too). Throws on failure. */
  fstatfsType(fd: number): number;
}

/** An opaque libnftables context from nftCreate(). */
export type NftNativeContext = { readonly __nftContext: unique symbol };

/** The libnftables part of the addon (what server/src/nft needs, injectable in tests). */
export type NftNative = Pick<PodwireNative, 'nftCreate' | 'nftRun' | 'nftFree'> & Partial<Pick<PodwireNative, 'nftBatch'>>;

// Built by server/build.sh into server/native/build/Release; this file runs from server/dist.
const addonPath = path.join(__dirname, '..', 'native', 'build', 'Release', 'podwire_native.node');

export const nativeAddon: PodwireNative = require(addonPath) as PodwireNative;
