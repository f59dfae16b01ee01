import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { CniCallEvent, CniEventBus } from '../events/cni-events';
import type { CniEvent } from '../generated/podwire/v1/CniEvent';
import type { WatchEventsRequest__Output } from '../generated/podwire/v1/WatchEventsRequest';

/** Events a WatchEvents client may have outstanding (written, not yet taken by HTTP/2) before it is cut off. */
export const MAX_BUFFERED_EVENTS = 1024;

export function eventMessage(e: CniCallEvent): CniEvent {
  return {
    requestId: e.requestId,
    time: e.time.toISOString(),
    verb: e.verb,
    containerId: e.containerId,
    ifname: e.ifname,
    network: e.network,
    podNamespace: e.podNamespace,
    podName: e.podName,
    durationMs: e.durationMs,
    outcome: e.outcome,
    errorCode: e.errorCode,
    errorMsg: e.errorMsg,
  };
}

type EventCall = grpc.ServerWritableStream<WatchEventsRequest__Output, CniEvent>;

/**
 * WatchEvents: subscribes at once (and then sends the response headers, so a client that
 * waits for them knows it will see every later call), writes each event without waiting,
 * and unsubscribes when the client cancels or the stream closes or fails. The CNI path never
 * waits for a client: a client too slow to take `maxBuffered` events is cut off with
 * RESOURCE_EXHAUSTED (and a logged warning) instead of buffering without bound.
 */
export function streamEvents(
  call: EventCall,
  bus: CniEventBus,
  log: Logger,
  opts: { stopping?: Promise<void>; maxBuffered?: number } = {},
): void {
  const maxBuffered = opts.maxBuffered ?? MAX_BUFFERED_EVENTS;
  const peer = call.getPeer();
  let unsubscribe: (() => void) | undefined;
  const stop = (): void => {
    unsubscribe?.();
    unsubscribe = undefined;
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
  for (const ev of ['cancelled', 'close', 'error', 'finish'] as const) call.once(ev, stop);
  // Shutdown ends the stream (status OK) instead of holding the server's drain open.
  void opts.stopping?.then(() => {
    if (!unsubscribe) return;
    stop();
    call.end();
  });
  log.debug({ peer }, 'WatchEvents stream opened');
  call.sendMetadata(new grpc.Metadata());
}
