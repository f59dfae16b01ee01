import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { nativeAddon } from './native-addon';
import { LOCK_FILE, StateDirInUse, lockStateDir } from './state-dir-lock';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-statelock-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** Runs lockStateDir in a child process; returns its exit status and stderr. */
function lockInChild(stateDir: string, socket: string, holdMs: number): { status: number | null; stderr: string } {
  const script = `
    const { lockStateDir } = require(${JSON.stringify(path.join(__dirname, 'state-dir-lock.js'))});
    const { nativeAddon } = require(${JSON.stringify(path.join(__dirname, 'native-addon.js'))});
    try { lockStateDir(${JSON.stringify(stateDir)}, ${JSON.stringify(socket)}, nativeAddon.flockExclusive); }
    catch (err) { process.stderr.write(err.message); process.exit(3); }
    setTimeout(() => process.exit(0), ${holdMs});`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

test('a second holder of the same state dir is refused, naming the first (pid and socket)', () => {
  const dir = path.join(root, 'a');
  lockStateDir(dir, '/run/first.sock', nativeAddon.flockExclusive);
  const r = lockInChild(dir, '/run/second.sock', 0);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, new RegExp(`state directory ${dir} is in use by another podwired \\(pid ${process.pid}, socket /run/first.sock`));
  // The holder's record is not overwritten by the refused one.
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8')).socket, '/run/first.sock');
});

test('the lock dies with its process: a state dir whose holder exited is taken at once', () => {
  const dir = path.join(root, 'b');
  assert.equal(lockInChild(dir, '/run/one.sock', 0).status, 0);
  assert.equal(lockInChild(dir, '/run/two.sock', 0).status, 0);
});

test('a refusal without a readable holder record still names the state dir', () => {
  const dir = path.join(root, 'c');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, LOCK_FILE), 'not json');
  assert.throws(
    () => lockStateDir(dir, '/run/x.sock', () => false),
    (err: unknown) =>
      err instanceof StateDirInUse && err.holder === undefined && err.message.startsWith(`state directory ${dir} is in use by another podwired;`),
  );
});

test('a missing state dir is created 0700', () => {
  const dir = path.join(root, 'd', 'state');
  lockStateDir(dir, '/run/d.sock', () => true);
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
});
