/**
 * Helpers shared by the *.test.ts files (not exported from the package).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { RangeSet } from './ip-range';
import type { IpamStore, Lease, NewAttachment, AllocateOptions } from './ipam-store';

/** A fresh temporary directory; remove it with removeTempDir in `after`. */
export function makeTempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-ipam-'));
}

export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

let seq = 0;
/** A unique database path inside `dir`. */
export function dbPathIn(dir: string): string {
  seq += 1;
  return path.join(dir, `store-${process.pid}-${seq}`, 'ipam.db');
}

export function attachment(containerId: string, network = 'net1', ifname = 'eth0'): NewAttachment {
  return {
    network,
    containerId,
    ifname,
    netns: `/var/run/netns/${containerId}`,
    hostIfname: `pw${containerId.slice(0, 8)}`,
  };
}

/** A separate, plain better-sqlite3 connection to inspect the rows. */
export function rawConnection(dbPath: string): Database.Database {
  const db = new Database(dbPath);
  db.pragma('foreign_keys = ON');
  return db;
}

/** Single integer value of a query on a raw connection. */
export function scalar(db: Database.Database, sql: string, ...params: unknown[]): number {
  const v: unknown = db
    .prepare(sql)
    .pluck()
    .get(...params);
  if (typeof v !== 'number') throw new Error(`expected a number from ${sql}, got ${String(v)}`);
  return v;
}

/** An attachment as podwired's ADD records it: allocate(), then commit(); its leases. */
export function addCommitted(store: IpamStore, att: NewAttachment, sets: readonly RangeSet[], opts: AllocateOptions = {}, resultJson = '{}'): Lease[] {
  const allocation = store.allocate(att, sets, opts);
  allocation.commit(resultJson);
  return [...allocation.leases];
}
