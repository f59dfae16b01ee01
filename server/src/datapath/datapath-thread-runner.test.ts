/**
 * serveDatapathCalls' messages, over a MessageChannel (the runner needs no thread): each call
 * is answered by one message carrying the notes since the last message; notes no reply
 * carried go alone on the interval, only while no call waits for its reply.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { BatchNote, ThreadCounters, ThreadMessage } from './datapath-thread-protocol';
import { serveDatapathCalls } from './datapath-thread-runner';
import { FakeDatapath } from './fake-datapath';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A runner on one end of a channel, with counters and batches the test sets; the messages it sends. */
async function serve() {
  const { port1, port2 } = new MessageChannel();
  const state = { counters: { pendingDestructions: 0, netnsSockets: 0 } as ThreadCounters, batches: [] as BatchNote[], readHostMs: 0 };
  const fake = new FakeDatapath();
  serveDatapathCalls(port1 as MessagePort, {
    datapath: fake,
    counters: () => ({ ...state.counters }),
    takeBatches: () => state.batches.splice(0),
    calls: {
      readHost: async () => {
        await sleep(state.readHostMs);
        return { links: [], addresses: [], routes: [], interrupted: false };
      },
      // A call that changes the counters and sends a batch, as a setUp or DEL does.
      applyRouteChanges: async (changes) => {
        state.counters = { pendingDestructions: 2, netnsSockets: 1 };
        state.batches.push({ batch: 'route', size: changes.length });
        return changes.map(() => ({}));
      },
      close: async () => undefined,
    },
    undoLate: {},
  });
  const messages: ThreadMessage[] = [];
  port2.on('message', (m: ThreadMessage) => messages.push(m));
  const until = async (n: number): Promise<void> => {
    for (let i = 0; i < 250 && messages.length < n; i++) await sleep(20);
    assert.ok(messages.length >= n, `${n} messages within 5 s (got ${messages.length})`);
  };
  await until(1);
  assert.equal(messages.shift()?.kind, 'ready');
  const end = async (): Promise<void> => {
    port2.postMessage({ id: 99, call: 'close', args: [], deadline: Date.now() + 5_000 });
    await sleep(50);
    port2.close();
  };
  return { port2, state, messages, until, end };
}

test('a call that changed the counters and sent a batch is answered by one message carrying both', async () => {
  const s = await serve();
  try {
    const change = { op: 'delete' as const, podRoute: { address: '10.9.0.2', family: 4 as const, oif: 7 } };
    s.port2.postMessage({ id: 1, call: 'applyRouteChanges', args: [[change, change]], deadline: Date.now() + 5_000 });
    await s.until(1);
    await sleep(150); // past the notes' interval: nothing else is sent
    assert.deepEqual(s.messages, [
      { kind: 'reply', id: 1, value: [{}, {}], notes: { counters: { pendingDestructions: 2, netnsSockets: 1 }, batches: [{ batch: 'route', size: 2 }] } },
    ]);
    // Nothing changed since: the next reply carries no notes.
    s.port2.postMessage({ id: 2, call: 'readHost', args: [], deadline: Date.now() + 5_000 });
    await s.until(2);
    assert.deepEqual(s.messages[1], { kind: 'reply', id: 2, value: { links: [], addresses: [], routes: [], interrupted: false } });
  } finally {
    await s.end();
  }
});

test('notes no reply carried (batches and counters changed between calls) go alone on the interval, once', async () => {
  const s = await serve();
  try {
    s.state.batches.push({ batch: 'link-delete', size: 3 });
    s.state.counters = { pendingDestructions: 0, netnsSockets: 4 };
    await s.until(1);
    await sleep(150);
    assert.deepEqual(s.messages, [
      { kind: 'notes', notes: { counters: { pendingDestructions: 0, netnsSockets: 4 }, batches: [{ batch: 'link-delete', size: 3 }] } },
    ]);
  } finally {
    await s.end();
  }
});

test('while a call is running, notes wait for its reply (a counter that changes and back within it is not sent)', async () => {
  const s = await serve();
  try {
    s.state.readHostMs = 300;
    s.port2.postMessage({ id: 1, call: 'readHost', args: [], deadline: Date.now() + 5_000 });
    await sleep(20);
    s.state.batches.push({ batch: 'link-delete', size: 1 });
    s.state.counters = { pendingDestructions: 0, netnsSockets: 1 };
    await sleep(150); // intervals pass while the call runs: nothing is sent alone
    assert.deepEqual(s.messages, []);
    s.state.counters = { pendingDestructions: 0, netnsSockets: 0 };
    await s.until(1);
    assert.deepEqual(s.messages, [
      { kind: 'reply', id: 1, value: { links: [], addresses: [], routes: [], interrupted: false }, notes: { batches: [{ batch: 'link-delete', size: 1 }] } },
    ]);
  } finally {
    await s.end();
  }
});
