import { nativeAddon } from '../native-addon';

/**
 * A synchronous rtnetlink socket (the native addon's rtnlOpen/rtnlExchange): a write and the
 * replies the kernel queued for it in one call. rtnetlink handles a request inside the write
 * itself, so its acknowledgement, echo or answer is queued when the write returns, and a
 * dump's next part is made as the previous one is read: no poll, no event loop round, no
 * per-datagram callback. For the datapath thread, whose work is these exchanges.
 */
export interface RtnlChannel {
  /** The socket's netlink port (the kernel picked it at bind). */
  readonly port: number;
  /**
   * Writes `frames` (null: nothing) and returns every datagram then queued, concatenated;
   * waits up to `waitMs` for a first one when none is queued. Throws an Error carrying .errno.
   */
  exchange(frames: Uint8Array | null, waitMs: number): Buffer;
  close(): void;
}

/** The part of the addon a channel uses (injectable in tests). */
export type RtnlNative = Pick<typeof nativeAddon, 'rtnlOpen' | 'rtnlExchange' | 'rtnlClose'>;

/** A channel in the calling thread's current network namespace. */
export function openRtnlChannel(recvBufferBytes: number, native: RtnlNative = nativeAddon): RtnlChannel {
  const { fd, port } = native.rtnlOpen(recvBufferBytes);
  return {
    port,
    exchange: (frames, waitMs) => native.rtnlExchange(fd, frames, Math.max(0, Math.ceil(waitMs))),
    close: () => native.rtnlClose(fd),
  };
}

/** True for a channel (as opposed to an npm netlink socket). */
export function isRtnlChannel(x: unknown): x is RtnlChannel {
  return typeof (x as RtnlChannel).exchange === 'function';
}
