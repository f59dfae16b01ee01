import { Flags, FlagsNew, NetlinkMessage, RtNetlinkSocket, checkError, formatMessage } from 'netlink';
import { AF_INET, AF_INET6, RT_TABLE_MAIN, RTPROT_PODWIRE, EncodedRouteChange, HostRouteChange, addressBytes, encodeHostRouteChange } from './netlink-codec';
import { NL_OPTS } from './netlink-timeout';
import { isGone } from './netlink-errors';
import { PodAddress } from './datapath';
import { deleteLinksAsGroup } from './link-group-delete';

/**
 * Changes to the host's routing and links on behalf of pods, through the server's one warm
 * host rtnetlink socket. Kept behind this seam so a batching implementation can replace the
 * direct one without touching the datapath.
 */
export interface HostProgrammer {
  /** Route `address/32` (or /128) to the host end of the pod's veth. Replaces a stale route. */
  addPodRoute(addr: PodAddress, hostIndex: number): Promise<void>;
  /** Removes the pod route; fine when it is already gone. */
  delPodRoute(addr: PodAddress, hostIndex: number | undefined): Promise<void>;
  /** Deletes a link by index; fine when it is already gone. Index 0 is refused (it means "all"). */
  deleteLink(index: number): Promise<void>;
  /**
   * Route changes, all in one pass, sent in order; one outcome per change, in order. A change
   * that fails does not stop the others. Peer routes: create = add `dst via gateway` only when
   * the table has no route to `dst` (EEXIST otherwise: a route podwire does not own is never
   * replaced); delete = remove podwire's `dst via gateway`, fine when already gone. Pod
   * routes: replace = create or replace; delete, fine when already gone.
   */
  applyRouteChanges(changes: readonly HostRouteChange[]): Promise<RouteChangeOutcome[]>;
}

/** What became of one route change: `error` (the kernel's reason) when it failed. */
export interface RouteChangeOutcome {
  error?: string;
}

/**
 * Route changes per sendmsg(2). The kernel acknowledges each message of a multi-message
 * send separately; capping a send keeps those acknowledgements well inside the socket's
 * receive buffer (an overflow would lose them).
 */
export const ROUTE_MESSAGES_PER_SEND = 64;

/** The parts of npm netlink's socket a multi-message send needs (its reply matching is by sequence number). */
interface SeqSocket {
  socket: { send(msg: Uint8Array[], options: undefined, callback: (error?: Error) => void): void; address(): { port: number } };
  generateSeq(): number;
  makeRef(seq: number, callback: (err: Error | null, msg?: NetlinkMessage[]) => void): number;
  dropRef(seq: number): void;
}

/**
 * Sends the changes as consecutive netlink messages in one sendmsg(2) (the kernel processes
 * them in order and acknowledges each), and settles with each message's own outcome. Never
 * rejects: a change that cannot be encoded fails alone (it is not sent); a send that fails
 * (synchronously or in its callback) or a kernel that does not answer in time is the error of
 * every change sent; the reply refs and the timer are always released.
 */
async function sendRouteChanges(host: RtNetlinkSocket, changes: readonly HostRouteChange[], timeoutMs: number): Promise<RouteChangeOutcome[]> {
  const outcomes: Array<RouteChangeOutcome | undefined> = changes.map(() => undefined);
  const encoded: Array<{ at: number; change: HostRouteChange; message: EncodedRouteChange }> = [];
  changes.forEach((change, at) => {
    try {
      encoded.push({ at, change, message: encodeHostRouteChange(change) });
    } catch (err) {
      outcomes[at] = { error: `cannot encode the route change: ${err instanceof Error ? err.message : String(err)}` };
    }
  });
  if (encoded.length > 0) {
    const sent = await sendEncoded(host.socket as unknown as SeqSocket, encoded, timeoutMs);
    encoded.forEach(({ at }, i) => (outcomes[at] = sent[i]));
  }
  return outcomes.map((o) => o ?? { error: 'no outcome reported for this route change' });
}

async function sendEncoded(
  sock: SeqSocket,
  encoded: ReadonlyArray<{ change: HostRouteChange; message: EncodedRouteChange }>,
  timeoutMs: number,
): Promise<RouteChangeOutcome[]> {
  const frames: Uint8Array[] = [];
  const waits: Array<Promise<RouteChangeOutcome>> = [];
  const seqs: number[] = [];
  let timer: NodeJS.Timeout | undefined;
  let failSend: (err: Error) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => {
    failSend = reject;
  });
  // Whatever happens below, a late rejection of `failed` must never go unhandled.
  failed.catch(() => undefined);
  try {
    // Everything that can throw is inside the try, the send included: a synchronous failure
    // settles every change with its error, and the finally releases the refs and the timer.
    const port = sock.socket.address().port;
    for (const { change, message } of encoded) {
      const seq = sock.generateSeq();
      frames.push(...formatMessage({ type: message.type, flags: Flags.REQUEST | Flags.ACK | message.flags, seq, port, data: message.payload }));
      let resolve: (outcome: RouteChangeOutcome) => void = () => undefined;
      const wait = new Promise<RouteChangeOutcome>((r) => (resolve = r));
      sock.makeRef(seq, (err, msg) => {
        if (err) return resolve({ error: err.message });
        try {
          if (msg?.[0]) checkError(msg[0]);
          resolve({});
        } catch (e) {
          // Deleting a route that is already gone is what the caller wanted.
          if (change.op === 'delete' && isGone(e)) resolve({});
          else resolve({ error: e instanceof Error ? e.message : String(e) });
        }
      });
      // Only refs this send made are dropped (a seq makeRef refused may be another request's).
      seqs.push(seq);
      waits.push(wait);
    }
    timer = setTimeout(() => failSend(new Error(`no kernel reply to ${encoded.length} route changes within ${timeoutMs} ms`)), timeoutMs);
    sock.socket.send(frames, undefined, (error) => error && failSend(error));
    return await Promise.race([Promise.all(waits), failed]);
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    return encoded.map(() => ({ error }));
  } finally {
    clearTimeout(timer);
    for (const seq of seqs) {
      try {
        sock.dropRef(seq);
      } catch {
        // already dropped
      }
    }
  }
}

function podRoute(addr: PodAddress) {
  const family = addr.family === 6 ? AF_INET6 : AF_INET;
  return {
    family,
    dstLen: addr.family === 6 ? 128 : 32,
    table: RT_TABLE_MAIN,
    protocol: RTPROT_PODWIRE,
    // IPv6 routes have no scope; IPv4 host routes to a device are link-scoped.
    scope: addr.family === 6 ? ('UNIVERSE' as const) : ('LINK' as const),
    type: 'UNICAST' as const,
  };
}

export class DirectHostProgrammer implements HostProgrammer {
  constructor(private readonly host: RtNetlinkSocket) {}

  async addPodRoute(addr: PodAddress, hostIndex: number): Promise<void> {
    await this.host.newRoute(
      podRoute(addr),
      { dst: addressBytes(addr.address), oif: hostIndex },
      { ...NL_OPTS, flags: FlagsNew.CREATE | FlagsNew.REPLACE },
    );
  }

  async delPodRoute(addr: PodAddress, hostIndex: number | undefined): Promise<void> {
    try {
      await this.host.delRoute(podRoute(addr), {
        dst: addressBytes(addr.address),
        ...(hostIndex ? { oif: hostIndex } : {}),
      }, NL_OPTS);
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  }

  async applyRouteChanges(changes: readonly HostRouteChange[]): Promise<RouteChangeOutcome[]> {
    const outcomes: RouteChangeOutcome[] = [];
    for (let i = 0; i < changes.length; i += ROUTE_MESSAGES_PER_SEND) {
      outcomes.push(...(await sendRouteChanges(this.host, changes.slice(i, i + ROUTE_MESSAGES_PER_SEND), NL_OPTS.timeout)));
    }
    return outcomes;
  }

  async deleteLink(index: number): Promise<void> {
    // A batch of one: the same checks and "already gone is fine" as every batched delete.
    const [outcome] = await deleteLinksAsGroup(this.host, 0, [index]);
    if (outcome?.error !== undefined) throw new Error(outcome.error);
  }
}
