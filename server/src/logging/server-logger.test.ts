import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { newRequestId, runInRequest } from './request-context';
import { createServerLogger } from './server-logger';

function capture(): { lines: Array<Record<string, unknown>>; stream: Writable } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

test('request ids are 16 hex digits and differ', () => {
  const a = newRequestId();
  assert.match(a, /^[0-9a-f]{16}$/);
  assert.notEqual(a, newRequestId());
});

test('every line logged inside a request carries its reqId, across awaits and timers', async () => {
  const { lines, stream } = capture();
  const log = createServerLogger('debug', stream);
  log.info('outside');
  const deeper = async (): Promise<void> => {
    await new Promise((r) => setTimeout(r, 1));
    log.debug('after a timer');
  };
  await Promise.all([
    runInRequest({ reqId: 'aaaaaaaaaaaaaaaa' }, async () => {
      log.info('start a');
      await deeper();
      log.warn({ outcome: 'ok' }, 'end a');
    }),
    runInRequest({ reqId: 'bbbbbbbbbbbbbbbb' }, async () => {
      await deeper();
      log.info('end b');
    }),
  ]);
  log.info('outside again');
  const byMsg = (m: string) => lines.filter((l) => l.msg === m).map((l) => l.reqId);
  assert.deepEqual(byMsg('outside'), [undefined]);
  assert.deepEqual(byMsg('outside again'), [undefined]);
  assert.deepEqual(byMsg('start a'), ['aaaaaaaaaaaaaaaa']);
  assert.deepEqual(byMsg('end a'), ['aaaaaaaaaaaaaaaa']);
  assert.deepEqual(byMsg('end b'), ['bbbbbbbbbbbbbbbb']);
  assert.deepEqual(byMsg('after a timer').sort(), ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb']);
  assert.equal(lines.find((l) => l.msg === 'end a')?.service, 'podwired');
});
