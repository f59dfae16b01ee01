import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { newRequestId } from './request-id';
import type { Logger } from 'pino';
import { callLines, createServerLogger } from './server-logger';

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
  const log = createServerLogger('info', { destination: stream });
  log.debug('not shown');
  log.info({ reqId: 'aaaaaaaaaaaaaaaa', outcome: 'ok' }, 'CNI ADD');
  assert.deepEqual(
    lines.map((l) => [l.msg, l.service, l.pid, l.reqId]),
    [['CNI ADD', 'podwired', process.pid, 'aaaaaaaaaaaaaaaa']],
  );
});

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A logger writing to a file of its own (as podwired writes to stdout), and what the file holds. */
function fileLogger(flushMs: number): { log: ReturnType<typeof createServerLogger>; written: () => string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-log-'));
  dirs.push(dir);
  const file = path.join(dir, 'out.log');
  // Left open: the logger's flush timer or its exit handler may still write to it after the test.
  const fd = fs.openSync(file, 'a');
  const log = createServerLogger('info', { fd, flushMs });
  return { log, written: () => (fs.readFileSync(file, 'utf8').match(/"msg":"[^"]*"/g) ?? []).map((m) => m.slice(7, -1)) };
}

async function until(what: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!what()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

test("a call's line waits in the buffer and is written within flushMs", async () => {
  const { log, written } = fileLogger(150);
  const calls = callLines(log);
  calls.info({ reqId: 'a' }, 'CNI ADD');
  calls.info({ reqId: 'b' }, 'CNI DEL');
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(written(), [], 'buffered');
  assert.ok(await until(() => written().length === 2, 2_000), 'written by the periodic flush');
  assert.deepEqual(written(), ['CNI ADD', 'CNI DEL']);
});

// Written at once (long before the 60 s flush), with the buffered call line before it.
for (const [what, logIt, msg] of [
  ['any other line', (log: Logger) => log.info('podwired serving'), 'podwired serving'],
  ["a call's warning", (log: Logger) => callLines(log).warn({ reqId: 'b', outcome: 'error' }, 'CNI DEL failed'), 'CNI DEL failed'],
] as const) {
  test(`${what} is written at once (not at the next periodic flush), after the call lines before it`, async () => {
    const { log, written } = fileLogger(60_000);
    callLines(log).info({ reqId: 'a' }, 'CNI ADD');
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(written(), [], 'buffered');
    logIt(log);
    assert.ok(await until(() => written().length === 2, 2_000), 'written long before the 60 s flush');
    assert.deepEqual(written(), ['CNI ADD', msg]);
  });
}

test('a warning logged while a write is in flight is written once it ends, not left for the next line', async () => {
  const { log, written } = fileLogger(60_000);
  const calls = callLines(log);
  // More than the buffer's 8 KB of call lines: a write starts, and is in flight below.
  for (let i = 0; i < 60; i++) calls.info({ reqId: String(i), pad: 'x'.repeat(150) }, 'CNI ADD');
  calls.warn({ reqId: 'w' }, 'CNI DEL failed');
  assert.ok(await until(() => written().includes('CNI DEL failed'), 2_000), 'the warning was written');
  assert.equal(written().length, 61, 'every line before it too');
});

test('call lines still in the buffer are written when the process exits', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-log-exit-'));
  const file = path.join(dir, 'out.log');
  const code = `
    const fs = require('node:fs');
    const { createServerLogger, callLines } = require(${JSON.stringify(path.join(__dirname, 'server-logger.js'))});
    const log = createServerLogger('info', { fd: fs.openSync(${JSON.stringify(file)}, 'a'), flushMs: 60000 });
    callLines(log).info({ reqId: 'a' }, 'CNI ADD');
    if (fs.readFileSync(${JSON.stringify(file)}, 'utf8') !== '') process.exit(3);
    process.exit(0);`;
  const child = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
  assert.equal(child.status, 0, `the line was buffered until the exit: ${child.stderr}`);
  assert.match(fs.readFileSync(file, 'utf8'), /"msg":"CNI ADD"/);
  fs.rmSync(dir, { recursive: true, force: true });
});
