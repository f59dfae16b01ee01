import * as fs from 'node:fs';
import { nativeAddon } from '../native-addon';
import { RtnlSocket, RTNL_TIMEOUT_MS } from './rtnl-socket';

/**
 * Where podwired's rtnetlink sockets are made and closed: in its own (host) network
 * namespace, or inside another one by entering it (setns(2) through the N-API addon: enter,
 * create the socket, which stays bound to that netns for its whole life, return). Entering
 * is synchronous on the calling thread, so no other JavaScript runs while the thread is
 * inside a pod. closeAll() closes every socket still open. `synchronous` sockets (the
 * datapath thread's) exchange with the kernel in one call each (rtnl-channel.ts) instead of
 * receiving through the event loop.
 */
export class RtnlSockets {
  private readonly open = new Set<RtnlSocket>();
  private homeFd: number;
  /** Writes of the sockets already closed. */
  private closedWrites = 0;

  constructor(
    homePath = '/proc/self/ns/net',
    private readonly timeoutMs = RTNL_TIMEOUT_MS,
    private readonly synchronous = false,
  ) {
    this.homeFd = fs.openSync(homePath, 'r');
  }

  /** Sockets open now (metrics, tests). */
  get size(): number {
    return this.open.size;
  }

  /** sendmsg(2) calls of every socket made here, closed ones included (tests count round trips with it). */
  get writes(): number {
    let n = this.closedWrites;
    for (const sock of this.open) n += sock.writes;
    return n;
  }

  /**
   * A socket in podwired's own network namespace. `eventLoop`: its replies come through the
   * event loop even when this RtnlSockets makes synchronous sockets (a dump of a host with
   * thousands of links is then read part by part between other calls, not in one call).
   */
  openHost(purpose: string, opts: { eventLoop?: boolean } = {}): RtnlSocket {
    if (this.homeFd < 0) throw new Error('netlink sockets are closed: podwired is stopping');
    return this.track(this.make(`host ${purpose}`, opts.eventLoop === true));
  }

  /** A socket inside the network namespace `nsFd` refers to. */
  openIn(nsFd: number, where: string): RtnlSocket {
    return this.enter(nsFd, () => this.track(this.make(where)));
  }

  /**
   * Runs `fn` with the calling thread inside the namespace `nsFd`, then returns home. Throws
   * (without running `fn`) when `nsFd` is no network namespace.
   */
  enter<T>(nsFd: number, fn: () => T): T {
    // After closeAll() there is no way home: refuse rather than be stranded (and abort).
    if (this.homeFd < 0) throw new Error('netlink sockets are closed: podwired is stopping');
    nativeAddon.setns(nsFd);
    try {
      return fn();
    } finally {
      try {
        nativeAddon.setns(this.homeFd);
      } catch (err) {
        // The thread is stuck in another netns: every later host operation would hit the
        // wrong namespace. Nothing safe is left to do but die loudly and be restarted.
        process.stderr.write(`podwired: FATAL: cannot return to the host netns: ${String(err)}\n`);
        process.abort();
      }
    }
  }

  /** Closes every socket still open and the home netns fd. Idempotent. */
  closeAll(): void {
    for (const sock of [...this.open]) sock.close();
    if (this.homeFd >= 0) {
      try {
        fs.closeSync(this.homeFd);
      } catch {
        // already closed
      }
      this.homeFd = -1;
    }
  }

  private make(where: string, eventLoop = false): RtnlSocket {
    const onClose = (s: RtnlSocket): void => this.forget(s);
    return this.synchronous && !eventLoop ? RtnlSocket.openSync(where, onClose, this.timeoutMs) : RtnlSocket.open(where, onClose, this.timeoutMs);
  }

  private forget(sock: RtnlSocket): void {
    if (this.open.delete(sock)) this.closedWrites += sock.writes;
  }

  private track(sock: RtnlSocket): RtnlSocket {
    this.open.add(sock);
    return sock;
  }
}
