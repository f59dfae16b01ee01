/**
 * Writes a `pending` attachment as an older podwired left one, for tests of the code that
 * still handles such rows (podwired's start-up reconcile rolls them back).
 *
 * That podwired recorded an ADD twice: reserve() committed the attachment as `pending` with
 * its leases before wiring the pod, markReady() turned it `ready` after. A crash in between
 * left the `pending` row. The store no longer writes one (its only write path is allocate()
 * then commit()), but a database from then may hold some, so they are planted here with SQL
 * on a connection of its own: `pending`, no result, its leases, no cursor moved.
 *
 * Not exported from the package index; tests import it from
 * `@podwire/ipam-store/dist/legacy-pending`.
 */
import Database from 'better-sqlite3';
import { addressKey, parseIp } from './ip-address';
import type { RangeSet } from './ip-range';
import type { AllocateOptions, Lease, NewAttachment } from './ipam-store';
import { SqliteIpamStore } from './sqlite-ipam-store';

/**
 * Plant `att` as a `pending` attachment with one lease per range set, the addresses
 * allocate() would choose now on a fresh connection (requested ones honoured). The
 * database is migrated first if it is new. Returns the leases in set order.
 */
export function plantPendingAttachment(
  dbPath: string,
  att: NewAttachment,
  sets: readonly RangeSet[],
  opts: AllocateOptions = {},
): Lease[] {
  const store = new SqliteIpamStore(dbPath);
  let leases: readonly Lease[];
  try {
    const allocation = store.allocate(att, sets, opts);
    leases = allocation.leases;
    allocation.release();
  } finally {
    store.close();
  }
  const db = new Database(dbPath, { timeout: 5000 });
  try {
    db.pragma('foreign_keys = ON');
    db.transaction(() => {
      db.prepare(
        `INSERT INTO attachments (network, container_id, ifname, netns, host_ifname, state, result,
                                  pod_namespace, pod_name, pod_uid, infra_container_id, created_at)
         VALUES (?, ?, ?, ?, ?, 'pending', NULL, ?, ?, ?, ?, ?)`,
      ).run(
        att.network,
        att.containerId,
        att.ifname,
        att.netns,
        att.hostIfname,
        att.podNamespace ?? null,
        att.podName ?? null,
        att.podUid ?? null,
        att.infraContainerId ?? null,
        att.createdAt ?? Date.now(),
      );
      const insertLease = db.prepare(
        `INSERT INTO leases (network, container_id, ifname, set_index, family, addr_key, address, prefix_length, gateway)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const l of leases) {
        const ip = parseIp(l.address);
        if (ip === undefined) throw new Error(`unreachable: the store chose ${l.address}`);
        insertLease.run(l.network, l.containerId, l.ifname, l.setIndex, l.family, addressKey(ip.family, ip.value), l.address, l.prefixLength, l.gateway ?? null);
      }
    }).immediate();
  } finally {
    db.close();
  }
  return [...leases];
}
