import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * How long a CNI call's line may wait in podwired's log buffer before it is written. pino's
 * default destination writes each line with an asynchronous fs.write, a hand-off to a libuv
 * pool thread and a completion back to the event loop, each waking a sleeping thread: 0.25–0.47
 * ms of the event loop's CPU per call on a machine of the kind podwired is measured on, twenty
 * times the line's JSON (README "Measured"). Buffered, one write carries many lines.
 */
export const CALL_LINE_FLUSH_MS = 100;
/** Buffered call lines are written at once when they reach this size. */
const CALL_LINE_BUFFER_BYTES = 8192;
/** pino levels: warn and above are never buffered. */
const WARN = 40;

/** Marks a logger from callLines(): its lines below warn may wait in the buffer. */
const BUFFERED = Symbol('podwire.bufferedCallLines');

export interface ServerLogOptions {
  /** Where lines go instead (tests): every line is handed over at once, nothing is buffered. */
  destination?: DestinationStream;
  /** The file descriptor written to (default 1, stdout). */
  fd?: number;
  /** How long call lines may wait (default CALL_LINE_FLUSH_MS). */
  flushMs?: number;
}

/**
 * podwired's pino logger: JSON lines with `service` and `pid` (a CNI call's lines carry its
 * `reqId`, set by the Cni service) on stdout. Lines gather in a buffer written with one
 * asynchronous write (on libuv's pool, so a log reader that stops reading never blocks the
 * event loop): the lines of a callLines() child below warn (one per CNI call) wait for
 * `flushMs` or CALL_LINE_BUFFER_BYTES; any other line (a warning or an error, anything not a
 * call's line) starts the write at once, with the call lines before it (the log keeps its
 * order). What is buffered is written synchronously when the process exits. So a SIGKILL
 * loses at most the call lines of the last `flushMs`.
 */
export function createServerLogger(level: string, opts: ServerLogOptions = {}): Logger {
  const options = { level, base: { service: 'podwired', pid: process.pid } };
  if (opts.destination) return pino(options, opts.destination);
  const flushMs = opts.flushMs ?? CALL_LINE_FLUSH_MS;
  const out = pino.destination({ fd: opts.fd ?? 1, sync: false, minLength: CALL_LINE_BUFFER_BYTES });
  // A timer only while call lines wait (sonic-boom's periodicFlush would also write nothing,
  // through the pool, every flushMs of an idle podwired).
  let waiting = false;
  let timer: NodeJS.Timeout | undefined;
  // out.flush() does nothing while a write is in flight, and what was buffered meanwhile
  // would wait for the next line: a flush asked for is made again once the writes drain.
  let asked = false;
  out.on('drain', () => {
    if (!asked) return;
    asked = false;
    out.flush();
  });
  const flush = (): void => {
    waiting = false;
    asked = true;
    out.flush();
  };
  // (pino also writes an asynchronous destination's buffer at exit; this one does not depend on it.)
  process.on('exit', () => {
    try {
      out.flushSync();
    } catch {
      // stdout gone: nothing to write to
    }
  });
  return pino(
    {
      ...options,
      hooks: {
        logMethod(this: Logger, args: Parameters<Logger['info']>, method: (...a: Parameters<Logger['info']>) => void, lineLevel: number) {
          method.apply(this, args);
          if (lineLevel >= WARN || !(this as Logger & { [BUFFERED]?: true })[BUFFERED]) {
            flush();
            return;
          }
          waiting = true;
          if (timer === undefined) {
            timer = setTimeout(() => {
              timer = undefined;
              if (waiting) flush();
            }, flushMs).unref();
          }
        },
      },
    },
    out,
  );
}

/** A child of `log` for the one line each CNI call ends with: below warn, it may wait in the buffer. */
export function callLines(log: Logger): Logger {
  const child = log.child({}) as Logger & { [BUFFERED]?: true };
  child[BUFFERED] = true;
  return child;
}
