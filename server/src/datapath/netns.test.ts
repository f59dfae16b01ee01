/**
 * NetnsOpener.openPod against real files: network namespaces of the test's own are accepted;
 * the host's own netns, other namespace types and every other kind of file are refused with
 * CNI error 4, without blocking and without opening a FIFO or a device node.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { CniCode, CniError } from '../cni/cni-error';
import { NetnsOpener } from './netns';

const NETNS = `pwt-netns-${process.pid}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-netns-'));
const opener = new NetnsOpener();
let netnsMade = false;

after(() => {
  if (netnsMade) execFileSync('ip', ['netns', 'del', NETNS]);
  fs.rmSync(dir, { recursive: true, force: true });
});

const openFds = (): number => fs.readdirSync('/proc/self/fd').length;
/** This process's fds open on `file`. */
const fdsOn = (file: string): string[] =>
  fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false;
    }
  });

/** openPod(p) must throw CNI error 4 whose message or details match `what`. */
function assertRefused(p: string, what: RegExp): void {
  assert.throws(
    () => opener.openPod(p),
    (err: unknown) => {
      assert.ok(err instanceof CniError, String(err));
      assert.equal(err.code, CniCode.InvalidEnvironment);
      assert.match(`${err.message}: ${err.details}`, what);
      return true;
    },
  );
}

/**
 * Opens the write end of `fifo` after `ms`: if openPod blocks in open(2) on the FIFO (as it
 * once did), that lets the open return, so the test fails on time instead of hanging.
 */
function unblockFifoAfter(fifo: string, ms: number): Worker {
  return new Worker(
    `const fs = require('node:fs');
     const { workerData } = require('node:worker_threads');
     Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.ms);
     try { fs.closeSync(fs.openSync(workerData.fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK)); } catch {}`,
    { eval: true, workerData: { fifo, ms } },
  );
}

test('a network namespace is opened and pinned by its fd; close releases it', () => {
  execFileSync('ip', ['netns', 'add', NETNS]);
  netnsMade = true;
  const before = openFds();
  const ns = opener.openPod(`/var/run/netns/${NETNS}`);
  assert.equal(ns.inode, fs.statSync(`/var/run/netns/${NETNS}`).ino);
  assert.equal(fs.fstatSync(ns.fd).ino, ns.inode);
  // Only the pinning fd stays open (the one that named the path is closed).
  assert.equal(openFds(), before + 1);
  opener.close(ns);
  assert.equal(openFds(), before);
});

test('a FIFO as CNI_NETNS is refused at once, without blocking in open(2)', async () => {
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const rescue = unblockFifoAfter(fifo, 2_000);
  try {
    const t0 = performance.now();
    assertRefused(fifo, /FIFO/);
    const ms = performance.now() - t0;
    assert.ok(ms < 1_000, `openPod took ${Math.round(ms)} ms on a FIFO: it blocked in open(2)`);
    assert.deepEqual(fdsOn(fifo), [], 'no fd left open on the FIFO');
  } finally {
    await rescue.terminate();
  }
});

test('a device node as CNI_NETNS is refused before it is opened', () => {
  // A character device like /dev/null (1:3): harmless even if it were opened.
  const dev = path.join(dir, 'chardev');
  execFileSync('mknod', [dev, 'c', '1', '3']);
  assertRefused(dev, /character device/);
});

test('a socket, a directory, a regular file and a missing path are refused', async () => {
  const sockPath = path.join(dir, 'sock');
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(sockPath, resolve));
  try {
    assertRefused(sockPath, /socket/);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  assertRefused(dir, /directory/);
  const file = path.join(dir, 'file');
  fs.writeFileSync(file, '');
  assertRefused(file, /not a network namespace/);
  assertRefused(path.join(dir, 'missing'), /cannot be opened: ENOENT|ENOENT/);
});

test("the host's own netns and another namespace type are refused", () => {
  const before = openFds();
  assertRefused('/proc/self/ns/net', /host's own network namespace/);
  assertRefused('/proc/self/ns/mnt', /not a network namespace/);
  assert.equal(openFds(), before, 'no fd left open');
});
