import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { newRequestId } from './request-id';
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

test('lines are JSON with service and pid, at the level asked for', () => {
  const { lines, stream } = capture();
  const log = createServerLogger('info', stream);
  log.debug('not shown');
  log.info({ reqId: 'aaaaaaaaaaaaaaaa', outcome: 'ok' }, 'CNI ADD');
  assert.deepEqual(
    lines.map((l) => [l.msg, l.service, l.pid, l.reqId]),
    [['CNI ADD', 'podwired', process.pid, 'aaaaaaaaaaaaaaaa']],
  );
});
