/**
 * WorkerLinkDeleter when its worker dies, with real workers (the real link-delete-worker.js,
 * wrapped so the test can make it exit) deleting real veth pairs inside a network namespace
 * of the test's own: the death is noticed (logged) and the worker restarted, the deletes it
 * had in hand are done by the new one, and a worker that keeps dying is given up on.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { MAX_RESTARTS, WorkerLinkDeleter } from './link-deleter';
import { RtnlSockets } from './rtnl-sockets';

const NS = `pwt-ldw-${process.pid}`;
const sockets = new RtnlSockets();
let nsFd: number;
let nsId: string;

before(() => {
  execFileSync('ip', ['netns', 'add', NS]);
  nsFd = fs.openSync(`/var/run/netns/${NS}`, 'r');
  nsId = `net:[${fs.fstatSync(nsFd).ino}]`;
});
after(() => {
  sockets.closeAll();
  fs.closeSync(nsFd);
  execFileSync('ip', ['netns', 'del', NS]);
});

/** How a wrapped worker dies: never, after some ms, or on its first delete (before doing it). */
type Fate = { exitAfterMs?: number; exitOnDelete?: boolean };

/**
 * The real worker, made inside the test's netns (a thread starts in its creator's), behind a
 * guard: it exits before opening its socket if it is anywhere else, so it can never delete
 * a link of the real host.
 */
function spawnIn(fates: Fate[], made: Worker[]): () => Worker {
  const code = `
    const fs = require('node:fs');
    const { parentPort, workerData } = require('node:worker_threads');
    if (fs.readlinkSync('/proc/thread-self/ns/net') !== workerData.nsId) process.exit(42);
    if (workerData.fate.exitAfterMs !== undefined) setTimeout(() => process.exit(9), workerData.fate.exitAfterMs);
    parentPort.on('message', (m) => { if (workerData.fate.exitOnDelete && m && m.indexes) process.exit(9); });
    require(workerData.file);`;
  return () => {
    const fate = fates.shift() ?? {};
    const w = sockets.enter(nsFd, () => new Worker(code, { eval: true, workerData: { nsId, fate, file: path.join(__dirname, 'link-delete-worker.js') } }));
    made.push(w);
    return w;
  };
}

function veth(name: string): number {
  execFileSync('ip', ['-n', NS, 'link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`]);
  return (JSON.parse(execFileSync('ip', ['-n', NS, '-j', 'link', 'show', 'dev', name], { encoding: 'utf8' })) as Array<{ ifindex: number }>)[0]?.ifindex ?? 0;
}
const links = (): string[] =>
  (JSON.parse(execFileSync('ip', ['-n', NS, '-j', 'link', 'show'], { encoding: 'utf8' })) as Array<{ ifname: string }>).map((l) => l.ifname);

async function eventually(what: string, ok: () => boolean, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('a worker that dies is noticed: logged and restarted, and later deletes are done', { timeout: 15_000 }, async () => {
  const notices: string[] = [];
  const made: Worker[] = [];
  const deleter = new WorkerLinkDeleter({ spawn: spawnIn([{ exitAfterMs: 100 }], made), onNotice: (m, f) => notices.push(`${m} ${JSON.stringify(f)}`) });
  try {
    await eventually('a notice of the restart', () => notices.some((n) => /died; restarted.*exited with code 9/.test(n)));
    assert.equal(made.length, 2);
    const index = veth('pwtd1');
    assert.deepEqual(await deleter.deleteLinks(0x50000001, [index]), [{ index }]);
    assert.ok(!links().includes('pwtd1'), 'deleted in the kernel');
  } finally {
    await deleter.close();
  }
});

test('the deletes a dying worker had in hand are done by its successor', { timeout: 15_000 }, async () => {
  const notices: string[] = [];
  const made: Worker[] = [];
  const deleter = new WorkerLinkDeleter({ spawn: spawnIn([{ exitOnDelete: true }], made), onNotice: (m, f) => notices.push(`${m} ${JSON.stringify(f)}`) });
  try {
    const a = veth('pwtd2');
    const b = veth('pwtd3');
    assert.deepEqual(await deleter.deleteLinks(0x50000002, [a, b]), [{ index: a }, { index: b }]);
    assert.ok(!links().some((l) => l === 'pwtd2' || l === 'pwtd3'), 'both deleted in the kernel');
    assert.equal(made.length, 2);
    assert.ok(
      notices.some((n) => /"deletesResent":1/.test(n)),
      notices.join('\n'),
    );
  } finally {
    await deleter.close();
  }
});

test('a worker that keeps dying is given up on: the owner is told, deletes fail at once', { timeout: 15_000 }, async () => {
  const gaveUp: string[] = [];
  const made: Worker[] = [];
  const fates = Array.from({ length: MAX_RESTARTS + 1 }, () => ({ exitAfterMs: 50 }));
  const deleter = new WorkerLinkDeleter({ spawn: spawnIn(fates, made), onGiveUp: (r) => gaveUp.push(r) });
  await eventually('onGiveUp', () => gaveUp.length > 0);
  assert.equal(made.length, MAX_RESTARTS + 1, 'restarted up to the limit, then no more');
  assert.match(gaveUp[0] ?? '', /not restarted/);
  await assert.rejects(deleter.deleteLinks(0x50000003, [1]), /not restarted/);
  await deleter.close();
});

test('spawnAfterMs: no worker until the first delete (which spawns it) or the delay, whichever comes first', { timeout: 15_000 }, async () => {
  const made: Worker[] = [];
  const byDelete = new WorkerLinkDeleter({ spawn: spawnIn([{}], made), spawnAfterMs: 60_000 });
  try {
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(made.length, 0, 'not spawned at construction');
    const index = veth('pwtd4');
    assert.deepEqual(await byDelete.deleteLinks(0x50000004, [index]), [{ index }]);
    assert.equal(made.length, 1, 'spawned by the delete');
    assert.ok(!links().includes('pwtd4'), 'deleted in the kernel');
  } finally {
    await byDelete.close();
  }
  const byDelay = new WorkerLinkDeleter({ spawn: spawnIn([{}], made), spawnAfterMs: 50 });
  await eventually('spawned after the delay', () => made.length === 2);
  await byDelay.close();
  const neverSpawned = new WorkerLinkDeleter({ spawn: spawnIn([{}], made), spawnAfterMs: 60_000 });
  await neverSpawned.close();
  await assert.rejects(neverSpawned.deleteLinks(0x50000005, [1]), /closed/);
  assert.equal(made.length, 2, 'closing before the spawn spawns nothing');
});
