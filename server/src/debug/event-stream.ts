import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { CniCallEvent, CniEventBus } from '../events/cni-events';
import type { CniEvent } from '../generated/podwire/v1/CniEvent';
import type { WatchEventsRequest__Output } from '../generated/podwire/v1/WatchEventsRequest';
import { cniEventOutcomeEnum, cniVerbEnum } from './wire-enums';

/** Events a WatchEvents client may have outstanding (written, not yet taken by HTTP/2) before it is cut off. */
export const MAX_BUFFERED_EVENTS = 1024;

export function eventMessage(e: CniCallEvent): CniEvent {
  return {
    requestId: e.requestId,
    time: e.time.toISOString(),
    verb: cniVerbEnum(e.verb),
    containerId: e.containerId,
    ifname: e.ifname,
    network: e.network,
    podNamespace: e.podNamespace,
    podName: e.podName,
    durationMs: e.durationMs,
    outcome: cniEventOutcomeEnum(e.outcome),
    errorCode: e.errorCode,
    errorMsg: e.errorMsg,
  };
}

type EventCall = grpc.ServerWritableStream<WatchEventsRequest__Output, CniEvent>;

/** Any of these means the stream is over: it leaves the bus and the registry. */
const ENDING_EVENTS = ['cancelled', 'close', 'error', 'finish'] as const;

/**
 * The open WatchEvents streams of one Debug service. Each stream is registered while it is
 * open and removed as soon as it ends for any reason, so a finished stream is not kept alive;
 * when `stopping` resolves (shutdown starts) every open stream is ended at once (status OK)
 * instead of holding the server's drain open, and a stream opened after that ends at once.
 */
export class EventStreams {
  private readonly open = new Set<() => void>();
  private stopped = false;

  constructor(stopping?: Promise<void>) {
    // One reaction for the whole service, not one per stream.
    void stopping?.then(() => this.endAll());
  }

  /** How many streams are open now. */
  get size(): number {
    return this.open.size;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Registers a stream's `end`; returns the function that forgets it (idempotent). */
  register(end: () => void): () => void {
    this.open.add(end);
    return () => {
      this.open.delete(end);
    };
  }

  /** Ends every open stream and every later one. */
  endAll(): void {
    this.stopped = true;
    for (const end of [...this.open]) end();
    this.open.clear();
  }
}

/**
 * WatchEvents: subscribes at once (and then sends the response headers, so a client that
 * waits for them knows it will see every later call), writes each event without waiting,
 * and unsubscribes (and leaves `streams`) when the client cancels or the stream closes or
 * fails. The CNI path never waits for a client: a client too slow to take `maxBuffered`
 * events is cut off with RESOURCE_EXHAUSTED (and a logged warning) instead of buffering
 * without bound. Shutdown (`streams.endAll()`) ends the stream with status OK.
 */
export function streamEvents(call: EventCall, bus: CniEventBus, log: Logger, opts: { streams?: EventStreams; maxBuffered?: number } = {}): void {
  const maxBuffered = opts.maxBuffered ?? MAX_BUFFERED_EVENTS;
  const peer = call.getPeer();
  if (opts.streams?.isStopped) {
    log.debug({ peer }, 'WatchEvents stream opened while stopping; ending it');
    call.end();
    return;
  }
  let unsubscribe: (() => void) | undefined;
  let unregister: (() => void) | undefined;
  const stop = (): void => {
    unsubscribe?.();
    unsubscribe = undefined;
    unregister?.();
    unregister = undefined;
    for (const ev of ENDING_EVENTS) call.off(ev, stop);
  };
  unsubscribe = bus.subscribe((event) => {
    if (call.writableLength >= maxBuffered) {
      stop();
      log.warn({ peer, buffered: call.writableLength }, 'WatchEvents client is too slow; ending its stream');
      call.emit('error', {
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: `the client fell ${maxBuffered} events behind; reconnect to watch again`,
      });
      return;
    }
    call.write(eventMessage(event));
  });
  unregister = opts.streams?.register(() => {
    stop();
    call.end();
  });
  for (const ev of ENDING_EVENTS) call.once(ev, stop);
  log.debug({ peer }, 'WatchEvents stream opened');
  call.sendMetadata(new grpc.Metadata());
}
