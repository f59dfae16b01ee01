import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { IpamError } from './ipam-error';
import { parseRangeSets } from './ip-range';
import { SCHEMA_VERSION } from './schema';
import { openIpamStore } from './sqlite-ipam-store';
import { addCommitted, attachment, dbPathIn, makeTempDir, rawConnection, removeTempDir, scalar } from './test-support';

let dir = '';
before(() => {
  dir = makeTempDir();
});
after(() => removeTempDir(dir));

const sets = parseRangeSets([[{ subnet: '10.0.0.0/24' }]]);

function mode(p: string): number {
  return fs.statSync(p).mode & 0o777;
}

test('creates the parent directory 0700 and the db, -wal, -shm files 0600', () => {
  const dbPath = path.join(dir, 'fresh', 'nested', 'ipam.db');
  const store = openIpamStore(dbPath);
  addCommitted(store, attachment('a'), sets);
  assert.equal(mode(path.dirname(dbPath)), 0o700);
  for (const p of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) {
    assert.ok(fs.existsSync(p), `${p} exists while open`);
    assert.equal(mode(p).toString(8), '600', p);
  }
  store.close();
});

test('tightens the mode of an existing database file', () => {
  const dbPath = dbPathIn(dir);
  fs.mkdirSync(path.dirname(dbPath), { recursive: true });
  fs.writeFileSync(dbPath, '');
  fs.chmodSync(dbPath, 0o644);
  const store = openIpamStore(dbPath);
  addCommitted(store, attachment('a'), sets);
  for (const p of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) assert.equal(mode(p).toString(8), '600', p);
  store.close();
});

test('sets user_version, WAL journal, and is idempotent on reopen', () => {
  const dbPath = dbPathIn(dir);
  openIpamStore(dbPath).close();
  openIpamStore(dbPath).close();
  const raw = rawConnection(dbPath);
  assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(scalar(raw, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('attachments', 'leases', 'cursors')"), 3);
  raw.close();
});

test('refuses a database with a newer schema, naming both versions', () => {
  const dbPath = dbPathIn(dir);
  openIpamStore(dbPath).close();
  const raw = new Database(dbPath);
  raw.pragma(`user_version = ${SCHEMA_VERSION + 41}`);
  raw.close();
  assert.throws(
    () => openIpamStore(dbPath),
    (err: unknown) => {
      assert.ok(err instanceof IpamError);
      assert.equal(err.kind, 'schema-too-new');
      assert.match(err.message, new RegExp(`schema version ${SCHEMA_VERSION + 41}, newer than version ${SCHEMA_VERSION}`));
      return true;
    },
  );
  // untouched
  const check = new Database(dbPath, { readonly: true });
  assert.equal(check.pragma('user_version', { simple: true }), SCHEMA_VERSION + 41);
  check.close();
});
