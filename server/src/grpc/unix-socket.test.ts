import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { prepareSocketDir } from './unix-socket';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-sockdir-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

test('an existing directory keeps its mode: --socket /run/podwire.sock must not chmod /run', () => {
  const run = path.join(root, 'run');
  fs.mkdirSync(run, { mode: 0o755 });
  fs.chmodSync(run, 0o755);
  prepareSocketDir(path.join(run, 'podwire.sock'));
  assert.equal(fs.statSync(run).mode & 0o7777, 0o755);
});

test('directories podwired creates are 0700, every level of them', () => {
  const top = path.join(root, 'made');
  prepareSocketDir(path.join(top, 'deeper', 'podwire.sock'));
  assert.equal(fs.statSync(top).mode & 0o777, 0o700);
  assert.equal(fs.statSync(path.join(top, 'deeper')).mode & 0o777, 0o700);
});

test('a shared directory (world-writable or sticky) is refused and left as it is', () => {
  const shared = path.join(root, 'shared');
  fs.mkdirSync(shared);
  fs.chmodSync(shared, 0o1777);
  assert.throws(() => prepareSocketDir(path.join(shared, 'podwire.sock')), /is shared \(mode 1777\)/);
  assert.equal(fs.statSync(shared).mode & 0o7777, 0o1777);
});

test('a directory owned by another user is refused (it could replace the socket)', () => {
  const theirs = path.join(root, 'theirs');
  fs.mkdirSync(theirs, { mode: 0o755 });
  fs.chownSync(theirs, 65534, 65534);
  assert.throws(() => prepareSocketDir(path.join(theirs, 'podwire.sock')), /owned by uid 65534/);
});
