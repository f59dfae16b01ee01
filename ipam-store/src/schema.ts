/**
 * Schema migrations, versioned with PRAGMA user_version.
 *
 * MIGRATIONS is ordered; migration N takes the database from version N-1 to N.
 * Never edit a released migration: append a new one.
 */
import type { Database } from 'better-sqlite3';
import { IpamError } from './ipam-error';

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'attachments, leases, round-robin cursors',
    sql: `
      CREATE TABLE attachments (
        network            TEXT    NOT NULL,
        container_id       TEXT    NOT NULL,
        ifname             TEXT    NOT NULL,
        netns              TEXT    NOT NULL,
        host_ifname        TEXT    NOT NULL,
        state              TEXT    NOT NULL CHECK (state IN ('pending', 'ready')),
        result             TEXT,
        pod_namespace      TEXT,
        pod_name           TEXT,
        pod_uid            TEXT,
        infra_container_id TEXT,
        created_at         INTEGER NOT NULL,
        PRIMARY KEY (network, container_id, ifname)
      ) STRICT;

      CREATE INDEX attachments_by_state ON attachments (state, network);

      -- addr_key is the fixed-width sortable form of the address ("4:" + 8 hex
      -- digits or "6:" + 32); it maps 1:1 to the canonical text in address, so
      -- UNIQUE (network, addr_key) is UNIQUE (network, address). (Version 1
      -- allocation walked this index; since version 2 it walks leases_by_addr.)
      CREATE TABLE leases (
        network       TEXT    NOT NULL,
        container_id  TEXT    NOT NULL,
        ifname        TEXT    NOT NULL,
        set_index     INTEGER NOT NULL CHECK (set_index >= 0),
        family        INTEGER NOT NULL CHECK (family IN (4, 6)),
        addr_key      TEXT    NOT NULL,
        address       TEXT    NOT NULL,
        prefix_length INTEGER NOT NULL,
        gateway       TEXT,
        CHECK ((family = 4 AND length(addr_key) = 10 AND substr(addr_key, 1, 2) = '4:')
            OR (family = 6 AND length(addr_key) = 34 AND substr(addr_key, 1, 2) = '6:')),
        UNIQUE (network, addr_key),
        UNIQUE (network, container_id, ifname, set_index),
        FOREIGN KEY (network, container_id, ifname)
          REFERENCES attachments (network, container_id, ifname) ON DELETE CASCADE
      ) STRICT;

      -- Last address handed out per (network, range set identity).
      CREATE TABLE cursors (
        network  TEXT NOT NULL,
        set_id   TEXT NOT NULL,
        addr_key TEXT NOT NULL,
        PRIMARY KEY (network, set_id)
      ) STRICT;
    `,
  },
  {
    version: 2,
    description: 'addresses unique per node, across networks: an index on addr_key alone',
    // One address, one attachment on the node, whatever its network: podwire gives every
    // pod address a host route in the node's main table. Allocation, the requested-address
    // check and the commit's conflict check look an address up by addr_key alone; this is
    // their index. It is not UNIQUE on purpose: a database written by version 1 may already
    // hold one address in two networks (the bug this version fixes), and a migration that
    // failed on it would keep podwired from starting. The checks run inside the store's
    // IMMEDIATE write transactions instead (sqlite-ipam-store.ts), so no new duplicate is
    // written, and an old one goes when one of its attachments is deleted.
    sql: `
      CREATE INDEX leases_by_addr ON leases (addr_key);
    `,
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION: number = MIGRATIONS.reduce((v, m) => Math.max(v, m.version), 0);

export function readSchemaVersion(db: Database): number {
  const v = db.pragma('user_version', { simple: true });
  return typeof v === 'number' ? v : Number(v);
}

function assertNotTooNew(found: number, path: string): void {
  if (found > SCHEMA_VERSION) {
    throw new IpamError(
      'schema-too-new',
      `database ${path} has schema version ${found}, newer than version ${SCHEMA_VERSION} known to this podwire; upgrade podwire or remove the database`,
    );
  }
}

/**
 * Bring the database to SCHEMA_VERSION. Each pending migration and its
 * user_version bump run in one IMMEDIATE transaction, so concurrent openers
 * serialise and a failed migration leaves the previous version intact.
 */
export function migrate(db: Database, path: string): void {
  assertNotTooNew(readSchemaVersion(db), path);
  for (const m of MIGRATIONS) {
    const step = db.transaction(() => {
      const current = readSchemaVersion(db);
      assertNotTooNew(current, path);
      if (current >= m.version) return;
      db.exec(m.sql);
      db.pragma(`user_version = ${Math.trunc(m.version)}`);
    });
    step.immediate();
  }
}
