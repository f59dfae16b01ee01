import * as fs from 'node:fs';
import type { Logger } from 'pino';
import { IpamStore } from '@podwire/ipam-store';
import { Datapath } from './datapath/datapath';
import { podAddresses } from './handlers/add';

export interface ReconcileReport {
  /** `pending` attachments (an ADD cut short by a crash) rolled back: links, routes, leases. */
  rolledBack: number;
  /** `ready` attachments whose pod still exists and whose wiring checked out. */
  verified: number;
  /** `ready` attachments kept although their check failed or their netns is gone (DEL/GC will clear them). */
  degraded: number;
  /** Host veths of this server with no attachment, removed. */
  orphanLinks: number;
  /** podwire host routes to addresses no attachment holds, removed. */
  orphanRoutes: number;
}

/**
 * Brings the store and the kernel into agreement after a (re)start, before ADD/DEL/CHECK are
 * served: rolls back pending attachments, removes this server's host veths and routes that no
 * attachment accounts for, and verifies the ready attachments whose pod netns still exists.
 * Best effort per item: one failure is logged and the rest still reconciled.
 *
 * Pod routes only: the routes pruned here are proto 199 routes on this server's pod veths.
 * Peer routes (`peerPodCIDR via peerNodeIP`, proto 198, through the underlay) are never
 * touched here; the PeerRouter (peers/peer-router.ts) reconciles them against the peer set.
 */
export async function reconcile(store: IpamStore, datapath: Datapath, log: Logger): Promise<ReconcileReport> {
  const report: ReconcileReport = { rolledBack: 0, verified: 0, degraded: 0, orphanLinks: 0, orphanRoutes: 0 };

  for (const att of store.listAttachments({ state: 'pending' })) {
    const key = { network: att.network, containerId: att.containerId, ifname: att.ifname };
    try {
      await datapath.tearDown(att.hostIfname);
      store.remove(key);
      report.rolledBack++;
      log.warn({ ...key, hostIfname: att.hostIfname }, 'reconcile: rolled back an ADD that never completed');
    } catch (err) {
      log.error({ ...key, err }, 'reconcile: could not roll back a pending attachment');
    }
  }

  const ready = store.listAttachments({ state: 'ready' });
  const known = new Set(ready.map((a) => a.hostIfname));
  for (const link of await datapath.listOwnedHostLinks()) {
    if (known.has(link.name)) continue;
    try {
      await datapath.tearDown(link.name);
      report.orphanLinks++;
      log.warn({ hostIfname: link.name }, 'reconcile: removed a host veth no attachment accounts for');
    } catch (err) {
      log.error({ hostIfname: link.name, err }, 'reconcile: could not remove an orphan host veth');
    }
  }

  for (const att of ready) {
    const key = { network: att.network, containerId: att.containerId, ifname: att.ifname };
    const addresses = podAddresses(store.get(key)?.leases ?? []);
    try {
      const pruned = await datapath.pruneHostRoutes(att.hostIfname, addresses);
      report.orphanRoutes += pruned.length;
      if (pruned.length > 0) log.warn({ ...key, pruned }, 'reconcile: removed host routes to addresses not leased');
      if (!fs.existsSync(att.netns)) {
        report.degraded++;
        log.warn({ ...key, netns: att.netns }, 'reconcile: pod netns is gone; the lease is kept until DEL or GC');
        continue;
      }
      await datapath.check({ netnsPath: att.netns, podIfname: att.ifname, hostIfname: att.hostIfname, mtu: 0, addresses });
      report.verified++;
    } catch (err) {
      report.degraded++;
      log.warn({ ...key, err: err instanceof Error ? err.message : String(err), details: (err as { details?: string }).details }, 'reconcile: attachment is not as ADD left it; CHECK will report it');
    }
  }
  return report;
}
