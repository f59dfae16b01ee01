import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { type CniCallEvent, CniEventBus } from '../events/cni-events';
import { EventStreams, eventMessage, streamEvents } from './event-stream';

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
  assert.deepEqual([(f.written[0] as { verb: string }).verb, (f.written[0] as { outcome: string }).outcome], ['CNI_VERB_ADD', 'CNI_EVENT_OUTCOME_OK']);
  f.call.emit('cancelled');
  assert.equal(bus.listenerCount, 0);
});

test('a client that stops reading is cut off with RESOURCE_EXHAUSTED; publishing never blocks', () => {
  const bus = new CniEventBus();
  const f = fakeCall(false);
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(
    { level: 'warn' },
    new Writable({
      write(c: Buffer, _e, d) {
        lines.push(JSON.parse(c.toString()) as Record<string, unknown>);
        d();
      },
    }),
  );
  streamEvents(f.call, bus, log, { maxBuffered: 10 });
  for (let i = 0; i < 50; i++) assert.deepEqual(bus.publish(event(i)), []);
  assert.equal(bus.listenerCount, 0);
  assert.equal(f.status[0]?.code, grpc.status.RESOURCE_EXHAUSTED);
  assert.ok(f.call.writableLength <= 10);
  assert.equal(lines.filter((l) => l.msg === 'WatchEvents client is too slow; ending its stream').length, 1);
});

test('shutdown ends open streams, and a stream opened after that ends at once', async () => {
  const bus = new CniEventBus();
  let stopNow: () => void = () => undefined;
  const stopping = new Promise<void>((r) => (stopNow = r));
  const streams = new EventStreams(stopping);
  const open = [fakeCall(true), fakeCall(true)];
  for (const f of open) streamEvents(f.call, bus, quiet, { streams });
  assert.equal(streams.size, 2);
  stopNow();
  await stopping;
  await new Promise((r) => setImmediate(r));
  assert.equal(bus.listenerCount, 0);
  assert.equal(streams.size, 0);
  for (const f of open) assert.equal(f.call.writableEnded, true);
  const late = fakeCall(true);
  streamEvents(late.call, bus, quiet, { streams });
  assert.equal(late.call.writableEnded, true);
  assert.equal(bus.listenerCount, 0);
  assert.equal(streams.size, 0);
});

test('a stream leaves the registry when it ends for any reason', async () => {
  const bus = new CniEventBus();
  const streams = new EventStreams(new Promise<void>(() => undefined));
  const ends: Array<[string, (f: ReturnType<typeof fakeCall>) => void]> = [
    ['client cancelled', (f) => f.call.emit('cancelled')],
    ['stream ended', (f) => f.call.end()],
    ['stream failed', (f) => f.call.emit('error', { code: grpc.status.UNAVAILABLE })],
    ['stream destroyed', (f) => f.call.destroy()],
  ];
  for (const [why, end] of ends) {
    const f = fakeCall(true);
    streamEvents(f.call, bus, quiet, { streams });
    assert.equal(streams.size, 1, why);
    end(f);
    await new Promise((r) => setImmediate(r)); // 'finish' and 'close' come on a later tick
    assert.equal(streams.size, 0, why);
    assert.equal(bus.listenerCount, 0, why);
  }
  // The slow-client cut-off leaves too.
  const slow = fakeCall(false);
  streamEvents(slow.call, bus, quiet, { streams, maxBuffered: 2 });
  for (let i = 0; i < 5; i++) bus.publish(event(i));
  assert.equal(streams.size, 0);
});

test('a finished stream is garbage: nothing waiting for shutdown keeps it alive', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const bus = new CniEventBus();
  let stopNow: () => void = () => undefined;
  const stopping = new Promise<void>((r) => (stopNow = r));
  const streams = new EventStreams(stopping);
  const finished = ((): WeakRef<object> => {
    const f = fakeCall(true);
    streamEvents(f.call, bus, quiet, { streams });
    f.call.end();
    return new WeakRef(f.call);
  })();
  // WeakRef targets stay alive until the current job ends; let the stream's close run too.
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  gc();
  assert.equal(finished.deref(), undefined, 'the finished stream is still referenced');
  stopNow(); // keeps `stopping` (and so any reaction on it) alive until here
});
