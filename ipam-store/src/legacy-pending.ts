/**
 * Writes rows as an older podwired left them and today's store never writes, for tests of
 * the code that still handles them.
 *
 * - `pending` attachments: that podwired recorded an ADD twice, reserve() committed the
 *   attachment as `pending` with its leases before wiring the pod, markReady() turned it
 *   `ready` after; a crash in between left the `pending` row (podwired's start-up reconcile
 *   rolls such rows back). The store's only write path is now allocate() then commit().
 * - an address leased in two networks: before schema version 2 leases were unique per
 *   network only, so two networks over the same ranges could hold the same address.
 *
 * Planted with SQL on a connection of their own. Not exported from the package index;
 * tests import them from `@podwire/ipam-store/dist/legacy-pending`.
 */
import Database from 'better-sqlite3';
import { addressKey, parseIp } from './ip-address';
import type { RangeSet } from './ip-range';
import type { AllocateOptions, Lease, NewAttachment } from './ipam-store';
import { SqliteIpamStore } from './sqlite-ipam-store';

/**
 * Plant `att` as a `pending` attachment with one lease per range set, the addresses
 * allocate() would choose now on a fresh connection (requested ones honoured), no cursor
 * moved. The database is migrated first if it is new. Returns the leases in set order.
 */
export function plantPendingAttachment(dbPath: string, att: NewAttachment, sets: readonly RangeSet[], opts: AllocateOptions = {}): Lease[] {
  const store = new SqliteIpamStore(dbPath);
  let leases: readonly Lease[];
  try {
    const allocation = store.allocate(att, sets, opts);
    leases = allocation.leases;
    allocation.release();
  } finally {
    store.close();
  }
  plantRows(dbPath, att, 'pending', null, leases);
  return [...leases];
}

/**
 * Plant `att` as a `ready` attachment (result `resultJson`) holding exactly `addresses`
 * (one per set, in set order; prefix length /32 or /128), whether or not another attachment holds
 * them: what a version-1 database may contain. The database must exist (open a store on
 * it first). Returns the leases.
 */
export function plantReadyAttachmentAt(dbPath: string, att: NewAttachment, addresses: readonly string[], resultJson = '{}'): Lease[] {
  const leases = addresses.map((address, setIndex): Lease => {
    const ip = parseIp(address);
    if (ip === undefined) throw new Error(`not an IP address: ${address}`);
    return {
      network: att.network,
      containerId: att.containerId,
      ifname: att.ifname,
      address,
      family: ip.family,
      prefixLength: ip.family === 6 ? 128 : 32,
      setIndex,
    };
  });
  plantRows(dbPath, att, 'ready', resultJson, leases);
  return leases;
}

function plantRows(dbPath: string, att: NewAttachment, state: 'pending' | 'ready', result: string | null, leases: readonly Lease[]): void {
  const db = new Database(dbPath, { timeout: 5000 });
  try {
    db.pragma('foreign_keys = ON');
    db.transaction(() => {
      db.prepare(
        `INSERT INTO attachments (network, container_id, ifname, netns, host_ifname, state, result,
                                  pod_namespace, pod_name, pod_uid, infra_container_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        att.network,
        att.containerId,
        att.ifname,
        att.netns,
        att.hostIfname,
        state,
        result,
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
        insertLease.run(
          l.network,
          l.containerId,
          l.ifname,
          l.setIndex,
          l.family,
          addressKey(ip.family, ip.value),
          l.address,
          l.prefixLength,
          l.gateway ?? null,
        );
      }
    }).immediate();
  } finally {
    db.close();
  }
}
