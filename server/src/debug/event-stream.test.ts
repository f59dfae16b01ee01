import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { CniCallEvent, CniEventBus } from '../events/cni-events';
import { eventMessage, streamEvents } from './event-stream';

const event = (n: number): CniCallEvent => ({
  requestId: n.toString(16).padStart(16, '0'),
  time: new Date(0),
  verb: 'ADD',
  containerId: `c${n}`,
  ifname: 'eth0',
  network: 'net',
  podNamespace: 'ns',
  podName: 'p',
  durationMs: 1.5,
  outcome: 'ok',
  errorCode: 0,
  errorMsg: '',
});

/** A stand-in for grpc-js's server stream: an object-mode Writable whose client never reads (or reads at once). */
function fakeCall(reads: boolean) {
  const written: unknown[] = [];
  const call = new Writable({
    objectMode: true,
    highWaterMark: 4,
    write(chunk, _enc, done) {
      written.push(chunk);
      if (reads) done();
      // A stalled client: never acknowledge, so writes pile up in the buffer.
    },
  });
  const status: Array<{ code?: number; details?: string }> = [];
  const metadata: grpc.Metadata[] = [];
  Object.assign(call, {
    getPeer: () => 'test-peer',
    sendMetadata: (m: grpc.Metadata) => metadata.push(m),
  });
  call.on('error', (e: { code?: number; details?: string }) => status.push(e));
  return { call: call as unknown as grpc.ServerWritableStream<object, object> & Writable, written, status, metadata };
}

const quiet = pino({ level: 'silent' });

test('events are written as they come, headers are sent once subscribed, cancel unsubscribes', () => {
  const bus = new CniEventBus();
  const f = fakeCall(true);
  streamEvents(f.call, bus, quiet);
  assert.equal(bus.listenerCount, 1);
  assert.equal(f.metadata.length, 1);
  bus.publish(event(1));
  bus.publish(event(2));
  assert.deepEqual(f.written, [eventMessage(event(1)), eventMessage(event(2))]);
  assert.equal((f.written[0] as { time: string }).time, '1970-01-01T00:00:00.000Z');
  f.call.emit('cancelled');
  assert.equal(bus.listenerCount, 0);
});

test('a client that stops reading is cut off with RESOURCE_EXHAUSTED; publishing never blocks', () => {
  const bus = new CniEventBus();
  const f = fakeCall(false);
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'warn' }, new Writable({ write(c: Buffer, _e, d) { lines.push(JSON.parse(c.toString()) as Record<string, unknown>); d(); } }));
  streamEvents(f.call, bus, log, { maxBuffered: 10 });
  for (let i = 0; i < 50; i++) assert.deepEqual(bus.publish(event(i)), []);
  assert.equal(bus.listenerCount, 0);
  assert.equal(f.status[0]?.code, grpc.status.RESOURCE_EXHAUSTED);
  assert.ok(f.call.writableLength <= 10);
  assert.equal(lines.filter((l) => l.msg === 'WatchEvents client is too slow; ending its stream').length, 1);
});

test('shutdown ends open streams', async () => {
  const bus = new CniEventBus();
  const f = fakeCall(true);
  let stopNow: () => void = () => undefined;
  const stopping = new Promise<void>((r) => (stopNow = r));
  streamEvents(f.call, bus, quiet, { stopping });
  stopNow();
  await stopping;
  await new Promise((r) => setImmediate(r));
  assert.equal(bus.listenerCount, 0);
  assert.equal(f.call.writableEnded, true);
});
