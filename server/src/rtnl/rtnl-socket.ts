import * as os from 'node:os';
import { MessageType, type NetlinkMessage, Protocol, RawNetlinkSocket, parseError, parseMessages } from './netlink-parts';
import { frameRequests } from './request-frames';
import { type RtnlChannel, isRtnlChannel, openRtnlChannel } from './rtnl-channel';
import { GONE_ERRNO_NUMBERS, InterruptedDump, RtnlError } from './rtnl-error';

export type { NetlinkMessage, RawNetlinkSocket };

/** Every request carries a deadline: npm netlink itself waits forever. */
export const RTNL_TIMEOUT_MS = 5000;

/**
 * Requests per sendmsg(2). The kernel acknowledges each message of a multi-message send
 * separately; capping a send keeps those acknowledgements well inside the socket's receive
 * buffer (an overflow would lose them).
 */
export const MESSAGES_PER_SEND = 64;

/** One rtnetlink request, ready to be framed. */
export interface RtnlRequest {
  /** RTM_* message type. */
  type: number;
  /** NLM_F_* flags beyond REQUEST (and ACK, which `expect: 'ack'` adds). */
  flags: number;
  /** The message payload (header + attributes). */
  payload: Uint8Array[];
  /**
   * What answers it: the kernel's acknowledgement (changes), one message (a get by key), or
   * a multi-part dump ending in DONE.
   */
  expect: 'ack' | 'answer' | 'dump';
  /** What is asked, for errors ("RTM_NEWLINK pw1a2b3c"). */
  what: string;
  /**
   * A delete for which "already gone" (GONE_ERRNOS) is success: such an answer settles it as
   * done, and no RtnlError is made (a DEL's route delete usually finds the route gone: the
   * kernel flushed it when the link went down).
   */
  goneIsDone?: boolean;
}

/** A request's outcome: the messages it got back (undecoded: decode.ts reads them), or why it failed. Never both. */
export type RtnlOutcome = { messages: NetlinkMessage[]; error?: undefined } | { error: RtnlError; messages?: undefined };

interface Waiter {
  request: RtnlRequest;
  parts: NetlinkMessage[];
  settle: (outcome: RtnlOutcome) => void;
  /** A dump's deadline (armed once the send returned; re-armed by every part); other requests share their send's. */
  timer?: NodeJS.Timeout;
  /** A part of the dump carried NLM_F_DUMP_INTR: the tables changed while it ran. */
  interrupted: boolean;
  /**
   * Sent without NLM_F_ACK (a change followed by another request in the same send): the
   * kernel answers it only if it fails, and handles one send's messages in order, queueing
   * their replies in that order; so any reply to a later message of its send means it
   * succeeded (settleSilentBefore()).
   */
  silent: boolean;
  /** The sequence numbers of its send, in order. */
  send: readonly number[];
}

/** NLM_F_DUMP_INTR: the dump was interrupted by a change and may be inconsistent. */
const NLM_F_DUMP_INTR = 0x10;
/** The socket's receive buffer: room for many concurrent callers' acknowledgements and dump parts. */
const RECV_BUFFER_BYTES = 4 * 1024 * 1024;
/**
 * How often a dump interrupted by a concurrent change is tried (a host where other pods are
 * wired all the time interrupts a full dump often; each retry waits longer, doubling from
 * DUMP_RETRY_BASE_MS up to DUMP_RETRY_MAX_MS, with jitter, so it lands in a quieter moment):
 * about 3 s in all before the dump fails EINTR. Eight tries within ~0.1 s gave up on a host
 * where other runtimes created and deleted links all the time (three test files at once).
 */
const DUMP_TRIES = 20;
const DUMP_RETRY_BASE_MS = 2;
const DUMP_RETRY_MAX_MS = 200;

const ETIMEDOUT = os.constants.errno.ETIMEDOUT;
const ECANCELED = os.constants.errno.ECANCELED;
const EIO = os.constants.errno.EIO;

/**
 * One rtnetlink socket and its own request/reply matching: replies are matched to requests
 * by sequence number and multi-part replies are collected per sequence number, so replies of
 * concurrent requests never mix. Every request has a deadline (RTNL_TIMEOUT_MS), a refusal
 * is an RtnlError carrying the kernel's errno, and dumps on one socket run one at a time
 * (the kernel runs one dump per socket; a second would get EBUSY).
 *
 * Sockets are made by RtnlSockets (rtnl-sockets.ts), which closes whatever is still open.
 *
 * Over an npm netlink socket, replies come through the event loop. Over a synchronous
 * channel (rtnl-channel.ts) an exchange writes and reads its replies in one call: every
 * request is settled when the call returns (a reply the kernel has not queued by then, which
 * rtnetlink never does, is waited for by blocking, up to the deadline).
 */
export class RtnlSocket {
  private readonly waiting = new Map<number, Waiter>();
  private seq = Math.floor(Math.random() * 0x7fffffff) + 1;
  private dumpTail: Promise<unknown> = Promise.resolve();
  private closed = false;
  private sends = 0;
  /** The socket's netlink port (bound once, at creation): read once, not by getsockname(2) per send. */
  private port: number | undefined;
  /** The synchronous channel, when the socket is one (then `raw` is never used). */
  private readonly channel: RtnlChannel | undefined;
  private readonly raw: RawNetlinkSocket | undefined;

  constructor(
    raw: RawNetlinkSocket | RtnlChannel,
    /** Where this socket lives, for errors ("host", "netns /var/run/netns/x"). */
    readonly where: string,
    private readonly onClose: (sock: RtnlSocket) => void = () => undefined,
    private readonly timeoutMs = RTNL_TIMEOUT_MS,
  ) {
    if (isRtnlChannel(raw)) {
      this.channel = raw;
      this.port = raw.port;
      this.raw = undefined;
      return;
    }
    this.raw = raw;
    raw.on('message', (buf) => this.receive(buf));
    // A failed recvmsg (ENOBUFS: the receive buffer overflowed and replies were lost) must not
    // crash the process: which replies were lost is unknown, so everything waiting fails.
    raw.on('error', (err) => {
      const errno = typeof err.errno === 'number' ? Math.abs(err.errno) : EIO;
      for (const seq of [...this.waiting.keys()]) this.fail(seq, errno, `receive failed: ${err.message}`);
    });
    try {
      raw.setRecvBufferSize(RECV_BUFFER_BYTES);
    } catch {
      // capped by net.core.rmem_max; the default still works
    }
    raw.unref();
  }

  /** A new rtnetlink socket in the calling thread's current network namespace. */
  static open(where: string, onClose?: (sock: RtnlSocket) => void, timeoutMs?: number): RtnlSocket {
    return new RtnlSocket(new RawNetlinkSocket(Protocol.ROUTE), where, onClose, timeoutMs);
  }

  /** A new synchronous rtnetlink socket (rtnl-channel.ts) in the calling thread's current network namespace. */
  static openSync(where: string, onClose?: (sock: RtnlSocket) => void, timeoutMs?: number): RtnlSocket {
    return new RtnlSocket(openRtnlChannel(RECV_BUFFER_BYTES), where, onClose, timeoutMs);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** sendmsg(2) calls made so far: each is one write, answered by one round of replies. */
  get writes(): number {
    return this.sends;
  }

  /** One request; rejects with an RtnlError when the kernel refuses it or does not answer in time. */
  async request(request: RtnlRequest): Promise<NetlinkMessage[]> {
    const [outcome] = await this.exchange([request]);
    if (!outcome) throw new RtnlError(request.what, EIO, 'EIO', 'no outcome');
    if (outcome.error) throw outcome.error;
    return outcome.messages;
  }

  /**
   * A dump, after any dump already running on this socket; tried again when a concurrent
   * change interrupted it. When every try was interrupted it fails EINTR, unless the caller
   * takes an inconsistent read (`interrupted: 'accept'`, see InterruptedDump): then the last
   * try's messages are the answer and `onInterrupted` is told.
   */
  dump(request: RtnlRequest, opts: { interrupted?: 'fail' | 'accept'; onInterrupted?: () => void } = {}): Promise<NetlinkMessage[]> {
    const once = async (): Promise<NetlinkMessage[]> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.request({ ...request, expect: 'dump' });
        } catch (err) {
          if (err instanceof InterruptedDump && attempt >= DUMP_TRIES && opts.interrupted === 'accept') {
            opts.onInterrupted?.();
            return err.parts as NetlinkMessage[];
          }
          if (!(err instanceof RtnlError && err.code === 'EINTR') || attempt >= DUMP_TRIES) throw err;
          await new Promise((r) => setTimeout(r, Math.min(DUMP_RETRY_MAX_MS, DUMP_RETRY_BASE_MS * 2 ** attempt) * (0.5 + Math.random())));
        }
      }
    };
    const run = this.dumpTail.then(once);
    this.dumpTail = run.catch(() => undefined);
    return run;
  }

  /**
   * Sends the requests as consecutive messages, MESSAGES_PER_SEND per sendmsg(2) (the kernel
   * handles them in order), and settles with each one's own outcome, in order. Only the last
   * message of a send asks for an acknowledgement: a change before it is answered only when
   * it fails (fewer replies for the kernel to build and for this thread to receive). A send goes
   * out once the previous one's replies are in, so the replies never overflow the socket's
   * receive buffer. Never rejects: a send that fails, or a kernel that does not answer within
   * the deadline, is the error of every request it concerns.
   */
  async exchange(requests: readonly RtnlRequest[]): Promise<RtnlOutcome[]> {
    const outcomes: RtnlOutcome[] = [];
    for (let i = 0; i < requests.length; i += MESSAGES_PER_SEND) outcomes.push(...(await this.sendChunk(requests.slice(i, i + MESSAGES_PER_SEND))));
    return outcomes;
  }

  private sendChunk(requests: readonly RtnlRequest[]): Promise<RtnlOutcome[]> {
    if (requests.length === 0) return Promise.resolve([]);
    if (this.closed)
      return Promise.resolve(requests.map((r) => ({ error: new RtnlError(r.what, ECANCELED, 'ECANCELED', `socket (${this.where}) is closed`) })));
    const seqs: number[] = [];
    const last = requests.length - 1;
    const settled = requests.map(
      (request, j) =>
        new Promise<RtnlOutcome>((settle) => {
          const seq = this.nextSeq();
          seqs.push(seq);
          this.waiting.set(seq, { request, parts: [], settle, interrupted: false, silent: request.expect === 'ack' && j < last, send: seqs });
        }),
    );
    if (this.channel) return this.exchangeNow(this.channel, requests, seqs, settled);
    const raw = this.raw as RawNetlinkSocket;
    try {
      raw.ref();
      this.port ??= raw.address().port;
      const frames = frameRequests(requests, seqs, this.port);
      this.sends++;
      raw.send([frames], undefined, (error) => {
        if (error) for (const seq of seqs) this.fail(seq, error.errno ? Math.abs(error.errno) : EIO, `send failed: ${error.message}`);
      });
    } catch (err) {
      for (const seq of seqs) this.fail(seq, EIO, `send failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    // Deadlines start once the send returned: the kernel does some requests' work inside
    // sendmsg(2) itself (a link delete's grace period), and that is not "no answer". One
    // timer for the send's requests; a dump has its own, re-armed by each of its parts.
    const deadline = setTimeout(() => {
      for (const seq of seqs) {
        const w = this.waiting.get(seq);
        if (w && w.send === seqs && w.timer === undefined) this.fail(seq, ETIMEDOUT, this.noAnswer());
      }
    }, this.timeoutMs);
    for (const seq of seqs) if (this.waiting.get(seq)?.request.expect === 'dump') this.arm(seq);
    return Promise.all(settled).finally(() => {
      clearTimeout(deadline);
      if (this.waiting.size === 0 && !this.closed) raw.unref();
    });
  }

  /**
   * A synchronous channel's send: the write and the replies queued for it in one call, then
   * (never, with rtnetlink) a blocking wait for any reply still missing, up to the deadline.
   */
  private exchangeNow(channel: RtnlChannel, requests: readonly RtnlRequest[], seqs: number[], settled: Array<Promise<RtnlOutcome>>): Promise<RtnlOutcome[]> {
    const mine = (): boolean => seqs.some((seq) => this.waiting.get(seq)?.send === seqs);
    try {
      const frames = frameRequests(requests, seqs, channel.port);
      this.sends++;
      this.receive(channel.exchange(frames, 0));
      const deadline = Date.now() + this.timeoutMs;
      while (mine()) {
        const left = deadline - Date.now();
        if (left <= 0) {
          for (const seq of seqs) this.fail(seq, ETIMEDOUT, this.noAnswer());
          break;
        }
        this.receive(channel.exchange(null, left));
      }
    } catch (err) {
      // A failed write, or a failed read (ENOBUFS: replies were lost): which replies are
      // missing is unknown, so every request of the send still waiting fails.
      const errno = typeof (err as { errno?: unknown }).errno === 'number' ? Math.abs((err as { errno: number }).errno) : EIO;
      for (const seq of seqs) this.fail(seq, errno, `exchange failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    return Promise.all(settled);
  }

  private arm(seq: number): void {
    const waiter = this.waiting.get(seq);
    if (!waiter) return;
    clearTimeout(waiter.timer);
    waiter.timer = setTimeout(() => this.fail(seq, ETIMEDOUT, this.noAnswer()), this.timeoutMs);
  }

  private noAnswer(): string {
    return `no answer from the kernel within ${this.timeoutMs} ms (${this.where})`;
  }

  /** Closes the socket; requests still waiting fail with ECANCELED. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const seq of [...this.waiting.keys()]) this.fail(seq, ECANCELED, `socket (${this.where}) closed`);
    try {
      if (this.channel) this.channel.close();
      else this.raw?.close();
    } finally {
      this.onClose(this);
    }
  }

  private nextSeq(): number {
    do {
      this.seq = (this.seq % 0x7fffffff) + 1;
    } while (this.waiting.has(this.seq));
    return this.seq;
  }

  private receive(buf: Buffer): void {
    let msgs: NetlinkMessage[];
    try {
      msgs = parseMessages(buf);
    } catch {
      return; // not ours to interpret; the waiting request times out
    }
    for (const msg of msgs) {
      const waiter = this.waiting.get(msg.seq);
      if (!waiter) continue; // a reply to a request that already timed out
      this.settleSilentBefore(waiter, msg.seq);
      if (msg.type === MessageType.ERROR) {
        const errno = Math.abs(parseError(msg.data, msg.flags).errno);
        if (errno === 0 || (waiter.request.goneIsDone === true && GONE_ERRNO_NUMBERS.has(errno))) this.succeed(msg.seq, waiter);
        else this.fail(msg.seq, errno);
      } else if (msg.type === MessageType.DONE) {
        // A dump that failed part-way says so in DONE's payload (a negative errno).
        const errno = msg.data.length >= 4 ? Math.abs(Math.min(0, msg.data.readInt32LE(0))) : 0;
        if (errno !== 0) this.fail(msg.seq, errno);
        else if (waiter.interrupted || (msg.flags & NLM_F_DUMP_INTR) !== 0) this.failWith(msg.seq, new InterruptedDump(waiter.request.what, waiter.parts));
        else this.succeed(msg.seq, waiter);
      } else {
        waiter.parts.push(msg);
        if ((msg.flags & NLM_F_DUMP_INTR) !== 0) waiter.interrupted = true;
        if (waiter.request.expect === 'answer') this.succeed(msg.seq, waiter);
        else if (waiter.request.expect === 'dump' && !this.channel) this.arm(msg.seq);
      }
    }
  }

  /** A reply to `seq` came: the silent requests sent before it in its send succeeded. */
  private settleSilentBefore(waiter: Waiter, seq: number): void {
    for (const earlier of waiter.send) {
      if (earlier === seq) return;
      const w = this.waiting.get(earlier);
      if (w?.silent && w.send === waiter.send) this.succeed(earlier, w);
    }
  }

  private succeed(seq: number, waiter: Waiter): void {
    clearTimeout(waiter.timer);
    this.waiting.delete(seq);
    waiter.settle({ messages: waiter.parts });
  }

  private fail(seq: number, errno: number, detail?: string): void {
    const waiter = this.waiting.get(seq);
    if (!waiter) return;
    clearTimeout(waiter.timer);
    this.waiting.delete(seq);
    waiter.settle({ error: new RtnlError(waiter.request.what, errno, undefined, detail) });
  }

  private failWith(seq: number, error: RtnlError): void {
    const waiter = this.waiting.get(seq);
    if (!waiter) return;
    clearTimeout(waiter.timer);
    this.waiting.delete(seq);
    waiter.settle({ error });
  }
}
